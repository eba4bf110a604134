//! One SVG bar chart per workload, next to `report.json`: each contender's median over the
//! reference's median (raw sqlx, or raw redis-rs for the Redis workloads), grouped by size, with
//! dashed lines at 1.0 and at the workload's target.
//!
//! The SVG is written by hand: a handful of elements does not need a plotting library. Output is
//! deterministic (same summaries, same bytes) so committed charts change only when numbers do, and
//! it draws its own white background so it reads the same on light and dark pages.

use crate::Result;
use crate::stats::{REFERENCE, Summary};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Target ratios by workload name (a trailing `*` matches a prefix); the first match wins.
const TARGETS: &[(&str, f64)] = &[
    ("sqlite_*", 1.10),
    // A time ratio whose target is 10x raw sqlx's throughput (see the bench's README).
    ("counter_increment", 0.10),
];
const DEFAULT_TARGET: f64 = 1.05;

/// The contenders ratios can be taken against, in order of preference.
const REFERENCES: &[&str] = &[REFERENCE, "redis-rs"];

const WIDTH: f64 = 720.0;
const PLOT_LEFT: f64 = 64.0;
const PLOT_RIGHT: f64 = WIDTH - 24.0;
const PLOT_TOP: f64 = 64.0;
const PLOT_HEIGHT: f64 = 240.0;
const PLOT_BOTTOM: f64 = PLOT_TOP + PLOT_HEIGHT;
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const TEXT: &str = "#1f2937";
const MUTED: &str = "#4b5563";
const GRID: &str = "#e5e7eb";
const ONE_LINE: &str = "#374151";
const TARGET_LINE: &str = "#dc2626";

/// Writes `<dir>/<workload>.svg` for every workload in `summaries` with at least one ratio, and
/// returns the paths written, in the order the workloads ran.
pub fn write_all(dir: &Path, summaries: &[Summary]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for workload in workloads(summaries) {
        let rows: Vec<&Summary> = summaries.iter().filter(|s| s.workload == workload).collect();
        let Some(svg) = render(workload, &rows) else { continue };
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{workload}.svg"));
        std::fs::write(&path, svg)?;
        written.push(path);
    }
    Ok(written)
}

/// The workload names, each once, in order of first appearance.
fn workloads(summaries: &[Summary]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for s in summaries {
        if !names.contains(&s.workload) {
            names.push(s.workload);
        }
    }
    names
}

fn target_for(workload: &str) -> f64 {
    TARGETS
        .iter()
        .find(|(pattern, _)| match pattern.strip_suffix('*') {
            Some(prefix) => workload.starts_with(prefix),
            None => workload == *pattern,
        })
        .map_or(DEFAULT_TARGET, |&(_, target)| target)
}

/// The SVG of one workload's rows; none when no row has a ratio (a reference median of 0).
fn render(workload: &str, rows: &[&Summary]) -> Option<String> {
    let bars: Vec<&Summary> = rows.iter().copied().filter(|s| s.ratio_to_sqlx.is_some_and(f64::is_finite)).collect();
    if bars.is_empty() {
        return None;
    }
    let reference = REFERENCES.iter().copied().find(|r| rows.iter().any(|s| s.contender == *r)).unwrap_or(REFERENCE);
    let target = target_for(workload);
    let mut sizes: Vec<u64> = bars.iter().map(|s| s.size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut contenders: Vec<&str> = Vec::new();
    for s in &bars {
        if !contenders.contains(&s.contender) {
            contenders.push(s.contender);
        }
    }

    let highest = bars.iter().filter_map(|s| s.ratio_to_sqlx).fold(target.max(1.0), f64::max);
    let scale = Scale::new(highest * 1.15);
    let legend = Legend::layout(&contenders, reference, target);
    let height = legend.bottom + 16.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="{FONT}" fill="{TEXT}">"#
    );
    let _ = writeln!(svg, r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##);
    let _ =
        writeln!(svg, r#"<text x="{PLOT_LEFT}" y="28" font-size="17" font-weight="600">{}</text>"#, escape(workload));
    let _ = writeln!(
        svg,
        r#"<text x="{PLOT_LEFT}" y="48" font-size="12" fill="{MUTED}">median time ÷ {}'s median, per size (lower is faster)</text>"#,
        escape(reference)
    );
    axes(&mut svg, &scale, reference);

    let group_width = (PLOT_RIGHT - PLOT_LEFT) / sizes.len() as f64;
    let most = sizes.iter().map(|&size| bars.iter().filter(|s| s.size == size).count()).max().unwrap_or(1);
    let bar_width = (group_width * 0.84 / most as f64).min(56.0);
    // Values are drawn last, over the dashed lines they may cross.
    let mut values = String::new();
    for (i, &size) in sizes.iter().enumerate() {
        let center = PLOT_LEFT + group_width * (i as f64 + 0.5);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            center,
            PLOT_BOTTOM + 18.0,
            group_digits(size)
        );
        let group: Vec<&Summary> = contenders
            .iter()
            .filter_map(|c| bars.iter().copied().find(|s| s.size == size && s.contender == *c))
            .collect();
        let start = center - bar_width * group.len() as f64 / 2.0;
        for (j, s) in group.iter().enumerate() {
            let ratio = s.ratio_to_sqlx.unwrap_or_default();
            bar(
                &mut svg,
                &mut values,
                start + bar_width * j as f64,
                bar_width,
                scale.y(ratio),
                ratio,
                color(s.contender, reference, &contenders),
            );
        }
    }
    reference_lines(&mut svg, &scale, target);
    // A white outline keeps a value readable where it crosses a line.
    let _ = writeln!(
        svg,
        r##"<g font-size="10" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">"##
    );
    svg.push_str(&values);
    svg.push_str("</g>\n");
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" fill="{MUTED}" text-anchor="middle">size</text>"#,
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        PLOT_BOTTOM + 38.0
    );
    legend.draw(&mut svg, &contenders, reference, target);
    svg.push_str("</svg>\n");
    Some(svg)
}

/// The y axis: 0 at the bottom of the plot up to a round value above the highest bar.
struct Scale {
    max: f64,
    step: f64,
}

impl Scale {
    fn new(top: f64) -> Self {
        let raw = top / 5.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(raw);
        Scale { max: (top / step).ceil() * step, step }
    }

    fn y(&self, value: f64) -> f64 {
        PLOT_BOTTOM - value / self.max * PLOT_HEIGHT
    }

    fn ticks(&self) -> impl Iterator<Item = f64> + '_ {
        let n = (self.max / self.step).round() as usize;
        (0..=n).map(|i| i as f64 * self.step)
    }
}

fn axes(svg: &mut String, scale: &Scale, reference: &str) {
    for tick in scale.ticks() {
        let y = scale.y(tick);
        let _ = writeln!(
            svg,
            r#"<line x1="{PLOT_LEFT}" y1="{y:.1}" x2="{PLOT_RIGHT}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="{MUTED}" text-anchor="end">{tick:.2}</text>"#,
            PLOT_LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<line x1="{PLOT_LEFT}" y1="{PLOT_BOTTOM}" x2="{PLOT_RIGHT}" y2="{PLOT_BOTTOM}" stroke="{ONE_LINE}" stroke-width="1"/>"#
    );
    let middle = PLOT_TOP + PLOT_HEIGHT / 2.0;
    let _ = writeln!(
        svg,
        r#"<text transform="translate(18 {middle:.1}) rotate(-90)" font-size="12" fill="{MUTED}" text-anchor="middle">ratio to {}</text>"#,
        escape(reference)
    );
}

/// One bar and its value: above the bar, turned upright when the bar is too narrow for it.
fn bar(svg: &mut String, values: &mut String, x: f64, width: f64, top: f64, ratio: f64, fill: &str) {
    let drawn = width - 3.0;
    let _ = writeln!(
        svg,
        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
        x + 1.5,
        top,
        drawn,
        PLOT_BOTTOM - top
    );
    let center = x + width / 2.0;
    if drawn >= 28.0 {
        let _ =
            writeln!(values, r#"<text x="{center:.1}" y="{:.1}" text-anchor="middle">{ratio:.2}</text>"#, top - 4.0);
    } else {
        let _ = writeln!(
            values,
            r#"<text transform="translate({:.1} {:.1}) rotate(-90)">{ratio:.2}</text>"#,
            center + 3.5,
            top - 4.0
        );
    }
}

fn reference_lines(svg: &mut String, scale: &Scale, target: f64) {
    for (value, stroke, dash) in [(1.0, ONE_LINE, "6 4"), (target, TARGET_LINE, "3 3")] {
        let y = scale.y(value);
        let _ = writeln!(
            svg,
            r#"<line x1="{PLOT_LEFT}" y1="{y:.1}" x2="{PLOT_RIGHT}" y2="{y:.1}" stroke="{stroke}" stroke-width="1.5" stroke-dasharray="{dash}"/>"#
        );
    }
}

/// Legend entries in rows under the x axis: a swatch per contender, then the two lines.
struct Legend {
    /// Top-left corner of each entry: the contenders, then the 1.0 line, then the target line.
    places: Vec<(f64, f64)>,
    bottom: f64,
}

impl Legend {
    fn labels(contenders: &[&str], reference: &str, target: f64) -> Vec<String> {
        let mut labels: Vec<String> = contenders.iter().map(|c| (*c).to_owned()).collect();
        labels.push(format!("{reference} = 1.00"));
        labels.push(format!("target {target:.2}"));
        labels
    }

    fn layout(contenders: &[&str], reference: &str, target: f64) -> Self {
        let (mut x, mut y) = (PLOT_LEFT, PLOT_BOTTOM + 54.0);
        let mut places = Vec::new();
        for label in Self::labels(contenders, reference, target) {
            // About 6.6 px a character at 12 px: a little generous, so entries never overlap.
            let width = 30.0 + 6.6 * label.chars().count() as f64;
            if x + width > WIDTH - 16.0 && x > PLOT_LEFT {
                x = PLOT_LEFT;
                y += 20.0;
            }
            places.push((x, y));
            x += width;
        }
        Legend { places, bottom: y + 14.0 }
    }

    fn draw(&self, svg: &mut String, contenders: &[&str], reference: &str, target: f64) {
        let labels = Self::labels(contenders, reference, target);
        for (i, (label, &(x, y))) in labels.iter().zip(&self.places).enumerate() {
            match i.checked_sub(contenders.len()) {
                None => {
                    let fill = color(contenders[i], reference, contenders);
                    let _ = writeln!(svg, r#"<rect x="{x:.1}" y="{y:.1}" width="12" height="12" fill="{fill}"/>"#);
                }
                Some(line) => {
                    let (stroke, dash) = if line == 0 { (ONE_LINE, "6 4") } else { (TARGET_LINE, "3 3") };
                    let _ = writeln!(
                        svg,
                        r#"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{stroke}" stroke-width="1.5" stroke-dasharray="{dash}"/>"#,
                        y + 6.0,
                        x + 16.0,
                        y + 6.0
                    );
                }
            }
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
                x + 20.0,
                y + 11.0,
                escape(label)
            );
        }
    }
}

/// A fixed color per known contender, so a contender looks the same in every chart; the
/// reference is always gray.
fn color(contender: &str, reference: &str, contenders: &[&str]) -> &'static str {
    const OTHERS: &[&str] = &["#db2777", "#65a30d", "#7c3aed", "#0891b2", "#b45309"];
    if contender == reference {
        return "#9ca3af";
    }
    match contender {
        "storehaus" => "#2563eb",
        "storehaus+redis" => "#0ea5e9",
        "storehaus-2x" => "#1e3a8a",
        "tokio-postgres" => "#16a34a",
        "sea-orm" => "#d97706",
        "sqlx-same-sql" => "#9333ea",
        "copy-binary" => "#0d9488",
        _ => {
            let index = contenders.iter().position(|c| *c == contender).unwrap_or(0);
            OTHERS[index % OTHERS.len()]
        }
    }
}

/// `10000` → `10,000`, as the docs' tables write sizes.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(workload: &'static str, size: u64, contender: &'static str, ratio: Option<f64>) -> Summary {
        let median_us = 100.0 * ratio.unwrap_or(1.0);
        Summary { workload, size, contender, median_us, p99_us: median_us, samples: 30, ratio_to_sqlx: ratio }
    }

    fn sample() -> Vec<Summary> {
        let mut rows = Vec::new();
        for (size, shift) in [(1, 0.0), (100, 0.04), (10_000, 0.08)] {
            rows.push(row("trivial_query", size, "storehaus", Some(1.02 + shift)));
            rows.push(row("trivial_query", size, "sqlx", Some(1.0)));
            rows.push(row("trivial_query", size, "tokio-postgres", Some(0.93 - shift)));
            rows.push(row("trivial_query", size, "sea-orm", Some(1.2 + shift)));
        }
        rows
    }

    fn chart(rows: &[Summary]) -> String {
        let refs: Vec<&Summary> = rows.iter().collect();
        render(rows[0].workload, &refs).expect("a chart")
    }

    /// Checks that every tag is closed in order and that `&` only starts an entity: enough of
    /// XML's rules to catch a broken chart without an XML parser.
    fn assert_well_formed(svg: &str) {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("an unterminated tag") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name.trim()), "closing tag out of order");
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().expect("a tag name"));
            }
            assert!(!rest[..start].contains('>'), "a stray `>` in text");
            rest = &rest[end + 1..];
        }
        assert!(open.is_empty(), "unclosed tags: {open:?}");
        for (i, _) in svg.match_indices('&') {
            let entity = &svg[i..svg[i..].find(';').map_or(svg.len(), |e| i + e + 1)];
            assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity), "raw `&` at {i}");
        }
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
    }

    #[test]
    fn a_chart_is_well_formed_and_names_every_contender_and_size() {
        let svg = chart(&sample());
        assert_well_formed(&svg);
        for contender in ["storehaus", "sqlx", "tokio-postgres", "sea-orm"] {
            assert!(svg.contains(&format!(">{contender}</text>")), "legend lacks {contender}");
        }
        for size in ["1", "100", "10,000"] {
            assert!(svg.contains(&format!(">{size}</text>")), "axis lacks {size}");
        }
        assert!(svg.contains(">trivial_query</text>"));
        assert!(svg.contains(">1.10</text>"), "the bar value of storehaus at 10 000 rows");
        assert!(svg.contains(">target 1.05</text>"));
        assert!(svg.contains(r##"fill="#ffffff""##), "an opaque background");
        assert!(svg.contains(r#"width="720""#));
    }

    #[test]
    fn names_are_escaped() {
        let rows = vec![row("a<b&c", 1, "sqlx", Some(1.0)), row("a<b&c", 1, "x<y>&\"z'", Some(1.5))];
        let svg = chart(&rows);
        assert_well_formed(&svg);
        assert!(svg.contains(">a&lt;b&amp;c</text>"));
        assert!(svg.contains(">x&lt;y&gt;&amp;&quot;z&apos;</text>"));
        assert!(!svg.contains("a<b") && !svg.contains("b&c"));
    }

    #[test]
    fn the_same_summaries_give_the_same_bytes() {
        assert_eq!(chart(&sample()), chart(&sample()));
    }

    #[test]
    fn redis_workloads_are_drawn_against_redis_rs() {
        let rows =
            vec![row("shared_kv_get", 1, "storehaus", Some(1.01)), row("shared_kv_get", 1, "redis-rs", Some(1.0))];
        let svg = chart(&rows);
        assert!(svg.contains(">redis-rs = 1.00</text>"));
        assert!(svg.contains("÷ redis-rs's median"));
    }

    #[test]
    fn rows_without_a_ratio_are_left_out() {
        let rows = [row("signal_latency", 1, "storehaus", None), row("signal_latency", 1, "sqlx", None)];
        let refs: Vec<&Summary> = rows.iter().collect();
        assert_eq!(render("signal_latency", &refs), None);

        let mut rows = sample();
        rows.push(row("trivial_query", 1, "copy-binary", None));
        assert!(!chart(&rows).contains("copy-binary"));
    }

    #[test]
    fn targets_come_from_the_table() {
        assert_eq!(target_for("pk_lookup"), 1.05);
        assert_eq!(target_for("sqlite_pk_lookup"), 1.10);
        assert_eq!(target_for("counter_increment"), 0.10);
    }

    #[test]
    fn write_all_writes_one_file_per_workload() {
        let dir = std::env::temp_dir().join(format!("storehaus-bench-charts-{}", std::process::id()));
        let mut rows = sample();
        rows.push(row("pk_lookup", 1, "storehaus", Some(1.03)));
        rows.push(row("pk_lookup", 1, "sqlx", Some(1.0)));
        rows.push(row("signal_latency", 1, "sqlx", None));
        let written = write_all(&dir, &rows).expect("charts written");
        assert_eq!(written, vec![dir.join("trivial_query.svg"), dir.join("pk_lookup.svg")]);
        let svg = std::fs::read_to_string(&written[1]).expect("a chart file");
        assert_well_formed(&svg);
        assert!(svg.contains(">pk_lookup</text>"));
        std::fs::remove_dir_all(&dir).expect("temporary directory removed");
    }

    #[test]
    fn sizes_are_grouped_by_thousands() {
        assert_eq!(group_digits(1), "1");
        assert_eq!(group_digits(1_000), "1,000");
        assert_eq!(group_digits(100_000), "100,000");
    }
}

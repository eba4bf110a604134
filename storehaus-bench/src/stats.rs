//! Samples → median and p99, the printed table and `report.json`.

use crate::Result;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The contender every ratio is taken against.
pub const REFERENCE: &str = "sqlx";

/// One line of the report: a contender's samples of one workload at one size.
#[derive(Debug, Clone)]
pub struct Summary {
    pub workload: &'static str,
    pub size: u64,
    pub contender: &'static str,
    pub median_us: f64,
    pub p99_us: f64,
    pub samples: usize,
    /// Set after all contenders of the group ran: median over the reference's median.
    pub ratio_to_sqlx: Option<f64>,
}

impl Summary {
    pub fn new(workload: &'static str, size: u64, contender: &'static str, samples: &[Duration]) -> Self {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        Summary {
            workload,
            size,
            contender,
            median_us: median(&us),
            p99_us: percentile(&us, 0.99),
            samples: us.len(),
            ratio_to_sqlx: None,
        }
    }
}

/// The middle value (mean of the two middle ones for an even count); `sorted` is ascending.
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Nearest-rank percentile: with fewer than 100 samples p99 is simply the slowest one.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Fills `ratio_to_sqlx` of each summary of one (workload, size) group from its reference line;
/// none when the reference's median is 0 (the signal floor can be: its notification often
/// arrives before the commit returns).
pub fn set_ratios(group: &mut [Summary]) {
    let reference = group.iter().find(|s| s.contender == REFERENCE).map(|s| s.median_us).filter(|&r| r > 0.0);
    for summary in group {
        summary.ratio_to_sqlx = reference.map(|r| summary.median_us / r);
    }
}

pub fn print_header() {
    println!(
        "{:<27} {:>7}  {:<16} {:>12} {:>12} {:>9} {:>8}",
        "workload", "size", "contender", "median µs", "p99 µs", "vs raw", "samples"
    );
    println!("{}", "-".repeat(91));
}

pub fn print_group(group: &[Summary]) {
    for s in group {
        let ratio = s.ratio_to_sqlx.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"));
        println!(
            "{:<27} {:>7}  {:<16} {:>12.1} {:>12.1} {:>9} {:>8}",
            s.workload, s.size, s.contender, s.median_us, s.p99_us, ratio, s.samples
        );
    }
}

/// `$CARGO_TARGET_DIR/storehaus-bench/report.json`, else `<workspace>/target/storehaus-bench/…`.
pub fn report_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("..")).join("target"));
    target.join("storehaus-bench").join("report.json")
}

pub fn write_json(path: &Path, summaries: &[Summary]) -> Result<()> {
    let rows: Vec<serde_json::Value> = summaries
        .iter()
        .map(|s| {
            serde_json::json!({
                "workload": s.workload,
                "size": s.size,
                "contender": s.contender,
                "median_us": round(s.median_us),
                "p99_us": round(s.p99_us),
                "ratio_to_sqlx": s.ratio_to_sqlx.map(|r| (r * 1000.0).round() / 1000.0),
                "samples": s.samples,
            })
        })
        .collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&rows)? + "\n")?;
    Ok(())
}

/// One decimal is well below the noise of any measurement here.
fn round(us: f64) -> f64 {
    (us * 10.0).round() / 10.0
}

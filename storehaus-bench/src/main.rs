//! `storehaus-bench`: StoreHaus next to raw sqlx (the reference), tokio-postgres (the floor) and
//! SeaORM, in one process on one tokio runtime, on the same tables. See `storehaus-bench/README.md`.

mod chart;
mod parity;
mod runner;
mod schema;
mod setup;
mod sql;
mod stats;
mod workloads;

use runner::Mode;
use setup::Bench;
use stats::Summary;
use std::time::Instant;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T, E = Error> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo run --release -p storehaus-bench -- [--quick | --full] [--only WORKLOAD[,WORKLOAD…]] [--show-sql]

  --quick      fewer samples: about a minute after the build
  --full       many samples (the default): several minutes
  --only       run only these workloads (names, or any part of one)
  --show-sql   print the statements each pool-based contender prepared
  --list       print the workload names

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres; the bench
creates and drops the database `storehaus_bench` there), REDIS_URL (default redis://127.0.0.1:6379).";

#[derive(Debug)]
struct Args {
    mode: Mode,
    workloads: Vec<&'static str>,
    show_sql: bool,
}

/// `None` when the arguments only asked for help or the list.
fn parse_args() -> Result<Option<Args>> {
    let mut args = Args { mode: Mode::Full, workloads: workloads::ALL.to_vec(), show_sql: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => args.mode = Mode::Quick,
            "--full" => args.mode = Mode::Full,
            "--show-sql" => args.show_sql = true,
            "--only" => {
                let wanted = it.next().ok_or("--only needs a workload name")?;
                let parts: Vec<&str> = wanted.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
                args.workloads =
                    workloads::ALL.iter().copied().filter(|w| parts.iter().any(|p| w.contains(p))).collect();
                if args.workloads.is_empty() {
                    return Err(format!("no workload matches `{wanted}`; try --list").into());
                }
            }
            "--list" => {
                workloads::ALL.iter().for_each(|w| println!("{w}"));
                return Ok(None);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    Ok(Some(args))
}

fn main() {
    let result = parse_args().and_then(|args| match args {
        Some(args) => run_on_runtime(args),
        None => Ok(()),
    });
    if let Err(e) = result {
        eprintln!("storehaus-bench: {e}");
        std::process::exit(1);
    }
}

/// One multi-thread runtime with two workers for every contender. The bench itself runs as a
/// task on it, as a request handler would, not on the thread that blocks on the runtime.
fn run_on_runtime(args: Args) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async { tokio::spawn(run(args)).await? })
}

async fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let bench = Bench::start(args.mode).await?;
    let outcome = measure_all(&bench, &args).await;
    let notes = bench.notes();
    let finished = bench.finish().await;
    let summaries = outcome?;
    finished?;

    for note in notes {
        println!("note: {note}");
    }
    report_storehaus(&summaries);
    let path = stats::report_path();
    stats::write_json(&path, &summaries)?;
    println!("\nwrote {} ({} lines) in {:.0} s", path.display(), summaries.len(), started.elapsed().as_secs_f64());
    for chart in chart::write_all(path.parent().unwrap_or(std::path::Path::new(".")), &summaries)? {
        println!("wrote {}", chart.display());
    }
    Ok(())
}

async fn measure_all(bench: &Bench, args: &Args) -> Result<Vec<Summary>> {
    let server: String = sqlx::query_scalar("SHOW server_version").fetch_one(&bench.setup).await?;
    println!("storehaus-bench, {:?} mode; PostgreSQL {server}; medians and p99 of interleaved samples\n", args.mode);
    stats::print_header();
    let mut all = Vec::new();
    let mut prepared = parity::Prepared::default();
    for workload in &args.workloads {
        let summaries = workloads::run(bench, workload).await?;
        for group in summaries.chunk_by(|a, b| a.size == b.size) {
            stats::print_group(group);
        }
        all.extend(summaries);
        prepared.collect(bench).await?;
    }
    if args.show_sql {
        prepared.print();
    }
    prepared.check()?;
    Ok(all)
}

/// Where StoreHaus's median is more than 10% over raw sqlx's.
fn report_storehaus(summaries: &[Summary]) {
    let over: Vec<&Summary> =
        summaries.iter().filter(|s| s.contender == "storehaus" && s.ratio_to_sqlx.is_some_and(|r| r > 1.10)).collect();
    if over.is_empty() {
        println!("\nStoreHaus is within 1.10x of the raw client (sqlx, or redis-rs for Redis workloads) everywhere.");
        return;
    }
    println!("\nStoreHaus over 1.10x the raw client:");
    for s in over {
        let ratio = s.ratio_to_sqlx.unwrap_or_default();
        println!(
            "  {:<28} {:>7}  {ratio:.2}x ({:+.1} µs median)",
            s.workload,
            s.size,
            s.median_us - s.median_us / ratio
        );
    }
}

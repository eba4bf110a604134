//! Events per second through a durable consumer working off a backlog.
//!
//! Every sample writes a backlog of [`BACKLOG`] events in one transaction (untimed: one
//! `INSERT … SELECT` into the event log, the rows a store with signals writes), then times how
//! long the contender takes to handle all of them with a trivial callback (it counts):
//!
//! - `storehaus`: one durable consumer with [`PARTITIONS`] partitions, all held by one member.
//! - `storehaus-2x`: the same consumer run by two members, each holding two partitions. The two
//!   memberships are two `start`s in this process, each with its own connection and tasks, as
//!   two processes would have; separate processes would not fit the bench's single runtime.
//! - `sqlx` (the floor): one loop of `SELECT … FROM storehaus_events WHERE id > $1 ORDER BY id
//!   LIMIT 100`, decoding every event, with an `UPDATE` of its saved position after each batch,
//!   what the consumer does at its least: no partitions, no horizon, no partition locks.
//!
//! A StoreHaus sample starts its own signal manager and a consumer of a fresh name, waits until
//! the members hold their partitions, and only then writes the backlog, so neither the start nor
//! the split of the partitions is timed; afterwards it stops the members, removes the consumer
//! and shuts the manager down, so nothing reads the log during the other contenders' samples.
//! The log is truncated after every sample. A note gives events/s.

use crate::Result;
use crate::runner::{Contender, Mode, Plan, measure};
use crate::setup::Bench;
use crate::stats::Summary;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use storehaus::signals::{Consumer, SignalConfig, SignalManager, Subscription};
use tokio::sync::Notify;

pub const NAME: &str = "durable_consumer_throughput";

/// Events of one sample's backlog.
const BACKLOG: usize = 20_000;
const PARTITIONS: u32 = 4;
/// Events one read of the floor takes, as many as one read of the consumer.
const READ_BATCH: i64 = 100;
/// The `table_name` of the backlog's events.
const TABLE: &str = "bench_orders";
/// Far beyond any healthy sample; a sample that waits this long fails the run.
const WAIT: Duration = Duration::from_secs(60);

/// The backlog: `$1` events of the table `$2`, each with a small order as its payload.
const WRITE_BACKLOG: &str = "INSERT INTO \"storehaus_events\" (\"event_type\", \"table_name\", \"record_id\", \"payload\") \
     SELECT 'create', $2, g::text, jsonb_build_object('id', g, 'customer', 'customer ' || g, \
     'email', 'customer' || g || '@shop.example', 'total_cents', g * 7 % 10000, 'currency', 'EUR') \
     FROM generate_series(1, $1) g RETURNING \"id\"";

const READ: &str = "SELECT \"id\", \"event_type\", \"table_name\", \"record_id\", \"tags\", \"payload\", \"created_at\" \
     FROM \"storehaus_events\" WHERE \"id\" > $1 ORDER BY \"id\" LIMIT $2";

const POSITION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS \"bench_consumer_position\" (\"id\" INT PRIMARY KEY, \"position\" BIGINT NOT NULL)";
const SAVE_POSITION: &str = "INSERT INTO \"bench_consumer_position\" (\"id\", \"position\") VALUES (1, $1) \
     ON CONFLICT (\"id\") DO UPDATE SET \"position\" = EXCLUDED.\"position\"";

/// One event as the floor decodes it: every column the consumer's events carry.
type Row = (i64, String, String, String, Vec<String>, serde_json::Value, chrono::DateTime<chrono::Utc>);

/// Few long samples: each handles the whole backlog.
fn plan(mode: Mode) -> Plan {
    let budget = Duration::from_secs_f64;
    match mode {
        Mode::Quick => Plan { warmup: 1, min: 3, max: 20, budget: budget(4.0) },
        Mode::Full => Plan { warmup: 1, min: 10, max: 100, budget: budget(30.0) },
    }
}

/// Events handled so far in a sample, and a wake-up once all of them are.
#[derive(Debug, Default)]
struct Progress {
    handled: AtomicUsize,
    all_handled: Notify,
}

impl Progress {
    fn handle(&self) {
        if self.handled.fetch_add(1, Ordering::Relaxed) + 1 == BACKLOG {
            self.all_handled.notify_one();
        }
    }

    async fn wait_for_all(&self) -> Result<()> {
        tokio::time::timeout(WAIT, self.all_handled.notified())
            .await
            .map_err(|_| format!("{NAME}: {} of {BACKLOG} events handled", self.handled.load(Ordering::Relaxed)))?;
        Ok(())
    }
}

/// Writes one backlog in one transaction; returns the id before its first event.
async fn write_backlog(b: &Bench) -> Result<i64> {
    let ids: Vec<i64> = sqlx::query_scalar(WRITE_BACKLOG).bind(BACKLOG as i64).bind(TABLE).fetch_all(&b.setup).await?;
    let first = ids.iter().min().ok_or("the backlog is empty")?;
    Ok(first - 1)
}

/// The log and the floor's position, emptied between samples (untimed).
async fn clear(b: &Bench) -> Result<()> {
    crate::schema::truncate(&b.setup, &["storehaus_events", "bench_consumer_position"]).await
}

/// One StoreHaus sample: `members` members of a consumer of its own handle one backlog.
async fn consumers(b: &Bench, members: u32, sample: usize) -> Result<Duration> {
    let signals = b.storehaus.signal_manager(SignalConfig::default()).await?;
    let name = format!("bench-{members}x-{sample}");
    let progress = Arc::new(Progress::default());
    let result = run_members(&signals, &name, members, &progress, b).await;
    signals.remove_consumer(&name).await?;
    signals.shutdown().await;
    clear(b).await?;
    result
}

async fn run_members(
    signals: &Arc<SignalManager>,
    name: &str,
    members: u32,
    progress: &Arc<Progress>,
    b: &Bench,
) -> Result<Duration> {
    let mut running: Vec<Consumer> = Vec::new();
    for _ in 0..members {
        let progress = Arc::clone(progress);
        let consumer = signals
            .consumer(name)
            .partitions(PARTITIONS)
            .subscription(Subscription::table(TABLE))
            .start(move |_event| {
                progress.handle();
                async { Ok(()) }
            })
            .await?;
        running.push(consumer);
    }
    let share = (PARTITIONS / members) as usize;
    let deadline = Instant::now() + WAIT;
    while !running.iter().all(|c| c.stats().partitions_held == share) {
        if Instant::now() > deadline {
            return Err(format!("{NAME}: the members did not split the partitions").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    write_backlog(b).await?;
    let started = Instant::now();
    progress.wait_for_all().await?;
    let elapsed = started.elapsed();
    for consumer in &running {
        consumer.stop().await;
    }
    Ok(elapsed)
}

/// One floor sample: a loop reading the backlog 100 events at a time, saving its position after
/// each read.
async fn floor(b: &Bench) -> Result<Duration> {
    let mut position = write_backlog(b).await?;
    sqlx::query(SAVE_POSITION).bind(position).execute(&b.sqlx).await?;
    let progress = Progress::default();
    let started = Instant::now();
    while progress.handled.load(Ordering::Relaxed) < BACKLOG {
        let rows: Vec<Row> = sqlx::query_as(READ).bind(position).bind(READ_BATCH).fetch_all(&b.sqlx).await?;
        let Some(last) = rows.last() else { return Err(format!("{NAME}: the floor ran out of events").into()) };
        position = last.0;
        for row in rows {
            std::hint::black_box(row);
            progress.handle();
        }
        sqlx::query(SAVE_POSITION).bind(position).execute(&b.sqlx).await?;
    }
    let elapsed = started.elapsed();
    clear(b).await?;
    Ok(elapsed)
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    // The log and the consumers' tables, created by the first manager.
    b.storehaus.signal_manager(SignalConfig::default()).await?.shutdown().await;
    sqlx::query(POSITION_TABLE).execute(&b.setup).await?;
    clear(b).await?;

    let mut contenders = vec![
        Contender::new("storehaus", move |i| Box::pin(consumers(b, 1, i))),
        Contender::new("storehaus-2x", move |i| Box::pin(consumers(b, 2, i))),
        Contender::new("sqlx", move |_| Box::pin(floor(b))),
    ];
    let summaries = measure(NAME, BACKLOG as u64, plan(b.mode), &mut contenders).await?;
    drop(contenders);

    let rate = |s: &Summary| BACKLOG as f64 / (s.median_us / 1e6);
    let rates: Vec<String> = summaries.iter().map(|s| format!("{} {:.0}", s.contender, rate(s))).collect();
    b.note(format!(
        "{NAME}: events/s on a backlog of {BACKLOG} with {PARTITIONS} partitions (storehaus: 1 member, \
         storehaus-2x: 2 members in this process; sqlx: one reading loop, the floor): {}",
        rates.join(", ")
    ));
    Ok(summaries)
}

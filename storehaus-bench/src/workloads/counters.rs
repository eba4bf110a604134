//! One hot counter, incremented by 16 tasks at once.
//!
//! StoreHaus (`storehaus`): `Counters::increment(&owner, "downloads", 1)` on counters buffered in
//! Redis (per-run prefix), so an increment is one Redis call and no database write. sqlx: `UPDATE
//! bench_counter SET count = count + 1 WHERE id = 1` on its pool, every increment a write that
//! waits for the row's lock. A sample is [`PER_SAMPLE`] increments, [`PER_TASK`] from each of
//! [`TASKS`] tasks; its time is from the first task's start to the last one's end. The ratio is
//! time over sqlx's time, as everywhere, so StoreHaus's throughput is its inverse (the note says
//! it).
//!
//! Then the writes a sync saves: [`SAVED_RUN`] increments and one final sync, on connections of
//! their own, against the row writes `pg_stat_user_tables` counts for `storehaus_counters`.

use crate::Result;
use crate::runner::{Contender, Cost, measure};
use crate::setup::Bench;
use crate::stats::Summary;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use storehaus::counters::{Counters, SyncOptions, TABLE};
use storehaus::{DbPool, Owner};

pub const NAME: &str = "counter_increment";

/// Tasks incrementing at once, and increments each makes per sample.
const TASKS: usize = 16;
const PER_TASK: usize = 25;
const PER_SAMPLE: usize = TASKS * PER_TASK;
/// Increments of the run that counts the database writes a sync saves.
const SAVED_RUN: usize = 100_000;

const KEY: &str = "downloads";
const RAW_TABLE: &str = "bench_counter";
const RAW_INCREMENT: &str = "UPDATE bench_counter SET count = count + 1 WHERE id = 1";

fn owner() -> Owner {
    Owner::new("bench_file", 1)
}

/// Counters buffered in Redis under this run's prefix, on `pool`.
async fn counters(b: &Bench, pool: &PgPool) -> Result<Counters> {
    let counters = Counters::builder(DbPool::from_postgres(pool.clone()))
        .cache(Arc::new(b.redis().await?))
        .prefix(prefix(b))
        .build()
        .await?;
    Ok(counters)
}

/// `total` increments from [`TASKS`] tasks at once, each running `increment` in a loop.
async fn from_tasks<F, Fut>(total: usize, increment: F) -> Result<Duration>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let increment = increment.clone();
            let mine = total / TASKS + usize::from(t < total % TASKS);
            tokio::spawn(async move {
                for _ in 0..mine {
                    increment().await?;
                }
                Ok::<_, crate::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(std::hint::black_box(started.elapsed()))
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    if let Err(e) = b.redis().await {
        eprintln!("{NAME}: skipped, {e}");
        return Ok(Vec::new());
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS \"{RAW_TABLE}\" (id integer PRIMARY KEY, count bigint NOT NULL)"
    )))
    .execute(&b.setup)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE \"{RAW_TABLE}\""))).execute(&b.setup).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO \"{RAW_TABLE}\" VALUES (1, 0)"))).execute(&b.setup).await?;

    let pool = b.own_pool().await?;
    let hot = counters(b, &pool).await?;
    let start = hot.get(&owner(), KEY).await?;
    let (buffered, raw) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
    let mut contenders = vec![
        Contender::new("storehaus", {
            let (hot, buffered) = (hot.clone(), buffered.clone());
            move |_| {
                let (hot, buffered) = (hot.clone(), buffered.clone());
                Box::pin(async move {
                    let t = from_tasks(PER_SAMPLE, move || {
                        let hot = hot.clone();
                        async move { Ok(hot.increment(&owner(), KEY, 1).await.map(drop)?) }
                    })
                    .await?;
                    buffered.fetch_add(PER_SAMPLE as i64, Ordering::Relaxed);
                    Ok(t)
                })
            }
        }),
        Contender::new("sqlx", {
            let raw = raw.clone();
            move |_| {
                let (pool, raw) = (b.sqlx.clone(), raw.clone());
                Box::pin(async move {
                    let t = from_tasks(PER_SAMPLE, move || {
                        let pool = pool.clone();
                        async move { Ok(sqlx::query(RAW_INCREMENT).execute(&pool).await.map(drop)?) }
                    })
                    .await?;
                    raw.fetch_add(PER_SAMPLE as i64, Ordering::Relaxed);
                    Ok(t)
                })
            }
        }),
    ];
    let summaries = measure(NAME, PER_SAMPLE as u64, b.mode.plan(Cost::Light), &mut contenders).await?;
    drop(contenders);

    // A fast wrong count is no result: both counts must hold every increment made.
    hot.sync(SyncOptions::default()).await?;
    let (buffered, raw) = (buffered.load(Ordering::Relaxed), raw.load(Ordering::Relaxed));
    let stored = Counters::builder(DbPool::from_postgres(pool.clone())).direct().build().await?;
    expect_count("storehaus", stored.get(&owner(), KEY).await? - start, buffered)?;
    let row: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count FROM \"{RAW_TABLE}\" WHERE id = 1")))
        .fetch_one(&b.setup)
        .await?;
    expect_count("sqlx", row, raw)?;
    let stats = hot.stats();
    if stats.fallbacks > 0 || stats.direct > 0 {
        b.note(format!("{NAME}: {} increments fell back to the database (Redis failed)", stats.fallbacks));
    }
    forget(b).await?;
    drop((hot, stored));
    pool.close().await;

    if let [storehaus, sqlx] = &summaries[..] {
        let throughput = sqlx.median_us / storehaus.median_us;
        b.note(format!(
            "{NAME}: {PER_SAMPLE} increments of one counter from {TASKS} tasks took {:.0} µs through Counters \
             and {:.0} µs as UPDATEs on raw sqlx: StoreHaus's throughput is {throughput:.1}x raw sqlx's \
             (the ratio column is time, its inverse; target >= 10x)",
            storehaus.median_us, sqlx.median_us
        ));
    }
    writes_saved(b).await?;
    Ok(summaries)
}

fn expect_count(contender: &str, got: i64, want: i64) -> Result<()> {
    if got == want { Ok(()) } else { Err(format!("{NAME}: {contender} counted {got} of {want} increments").into()) }
}

/// This run's counter prefix in Redis.
fn prefix(b: &Bench) -> String {
    format!("{}:counter:", b.cache_prefix)
}

/// Deletes every key of this run's counters from Redis: the buffer, and the hashes in which each
/// `Counters` recorded its adds.
async fn forget(b: &Bench) -> Result<()> {
    let redis = b.redis().await?;
    let pattern = format!("{}*", prefix(b));
    let mut cursor = 0;
    loop {
        let (next, keys) = redis.scan(&pattern, cursor, 500).await?;
        for key in keys {
            redis.delete(&key).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Row writes (inserts + updates) the server has counted for the counters table. Its backends
/// hand their counts over when they go idle for a while or exit; callers close their pool first,
/// and this waits until two reads a second apart agree.
async fn table_writes(setup: &PgPool) -> Result<i64> {
    let read = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0)::bigint FROM pg_stat_user_tables WHERE relname = $1",
        )
        .bind(TABLE)
        .fetch_one(setup)
    };
    let mut last = read().await?;
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = read().await?;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

/// [`SAVED_RUN`] increments and a final sync on a pool of their own, against the rows written.
async fn writes_saved(b: &Bench) -> Result<()> {
    let before = table_writes(&b.setup).await?;
    let pool = b.own_pool().await?;
    let counters = counters(b, &pool).await?;
    let start = counters.get(&owner(), KEY).await?;
    let increments = {
        let counters = counters.clone();
        from_tasks(SAVED_RUN, move || {
            let counters = counters.clone();
            async move { Ok(counters.increment(&owner(), KEY, 1).await.map(drop)?) }
        })
        .await?
    };
    let report = counters.sync(SyncOptions::default()).await?;
    let stored = Counters::builder(DbPool::from_postgres(pool.clone())).direct().build().await?;
    expect_count("storehaus", stored.get(&owner(), KEY).await? - start, SAVED_RUN as i64)?;
    forget(b).await?;
    drop((counters, stored));
    pool.close().await;
    let writes = table_writes(&b.setup).await? - before;
    let saved = SAVED_RUN as i64 - writes;
    b.note(format!(
        "{NAME}: {SAVED_RUN} increments ({:.0} per second from {TASKS} tasks) and a final sync ({} counter, \
         {} rows written in {:.1?}) wrote {writes} rows of `{TABLE}` (pg_stat_user_tables n_tup_ins + \
         n_tup_upd): {saved} of {SAVED_RUN} database writes saved, {:.3} % (target >= 99 %)",
        SAVED_RUN as f64 / increments.as_secs_f64(),
        report.keys,
        report.rows_written,
        report.elapsed,
        saved as f64 * 100.0 / SAVED_RUN as f64
    ));
    Ok(())
}

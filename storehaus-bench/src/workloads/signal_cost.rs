//! What change signals cost a writer: `create` throughput of a table with signals on and off.
//!
//! A sample is [`WRITERS`] tasks, each making [`WRITES_PER_WRITER`] `create` calls one after the
//! other, all at once on the contender's pool (4 connections, as every pool of the bench); its
//! value is the time until the last task is done divided by the writes, so `median_us` is µs per
//! write. `storehaus+signals` writes through a store with a `SignalManager`, `storehaus` through the
//! same model's store without one, and `sqlx` (the reference) sends the plain store's `INSERT …
//! RETURNING` itself from as many tasks.
//!
//! The signal manager listens on a pool of its own, so its connection is not one the writers
//! share; a trivial callback counts the events, and after each `storehaus+signals` sample the
//! bench waits (untimed) until every write of it was delivered, so delivery never runs into another
//! contender's sample.

use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure};
use crate::schema::{USERS, User, UserRow, new_user, truncate};
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use storehaus::signals::{EventType, SignalConfig, Subscription};
use storehaus::{DbPool, GenericStore, StoreHaus};
use tokio::task::JoinSet;

pub const NAME: &str = "signal_write_cost";
const WRITERS: usize = 8;
const WRITES_PER_WRITER: usize = 16;
const WRITES: usize = WRITERS * WRITES_PER_WRITER;
/// Far beyond any healthy delivery; waiting longer fails the run.
const DELIVERY_WAIT: Duration = Duration::from_secs(30);

/// The users each writer creates, with keys no earlier sample used; built before the timer starts.
fn batches(b: &Bench) -> Vec<Vec<User>> {
    (0..WRITERS)
        .map(|_| b.fresh_ids(WRITES_PER_WRITER).map(|id| new_user(id, id as usize, Some("grey"))).collect())
        .collect()
}

/// Time per write of `batches` made by one task each through `store`.
async fn store_writes(name: &str, store: &GenericStore<User>, batches: Vec<Vec<User>>) -> Result<Duration> {
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for users in batches {
        let store = store.clone();
        writers.spawn(async move {
            let mut written = 0;
            for user in users {
                store.create(user, None).await?;
                written += 1;
            }
            Ok::<_, storehaus::StoreError>(written)
        });
    }
    per_write(name, started, writers).await
}

/// Time per write of `batches` sent as the plain store's `INSERT … RETURNING` by one task each.
async fn sqlx_writes(pool: &sqlx::PgPool, batches: Vec<Vec<User>>) -> Result<Duration> {
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for users in batches {
        let pool = pool.clone();
        writers.spawn(async move {
            let mut written = 0;
            for user in users {
                sqlx::query_as::<_, UserRow>(sql::INSERT_USER)
                    .bind(user.id)
                    .bind(&user.name)
                    .bind(&user.hair_color)
                    .bind(Vec::<String>::new())
                    .fetch_one(&pool)
                    .await?;
                written += 1;
            }
            Ok::<_, sqlx::Error>(written)
        });
    }
    per_write("sqlx", started, writers).await
}

/// Waits for every writer; the time since `started` per write, once all of them were made.
async fn per_write<E>(name: &str, started: Instant, mut writers: JoinSet<Result<usize, E>>) -> Result<Duration>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let mut written = 0;
    while let Some(result) = writers.join_next().await {
        written += result??;
    }
    let elapsed = started.elapsed();
    expect_rows(name, written, WRITES)?;
    Ok(elapsed / u32::try_from(WRITES)?)
}

/// Waits until `delivered` reaches `expected`.
async fn delivery(delivered: &AtomicUsize, expected: usize) -> Result<()> {
    let waited = Instant::now();
    while delivered.load(Ordering::Acquire) < expected {
        if waited.elapsed() > DELIVERY_WAIT {
            let got = delivered.load(Ordering::Acquire);
            return Err(format!("{NAME}: {got} of {expected} signalled writes delivered").into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    truncate(&b.setup, &[USERS]).await?;
    let listening = StoreHaus::with_pool(DbPool::from_postgres(b.own_pool().await?));
    let result = measure_both(b, &listening).await;
    listening.close().await;
    let summaries = result?;

    let us = |contender: &str| summaries.iter().find(|s| s.contender == contender).map(|s| s.median_us);
    if let (Some(on), Some(off)) = (us("storehaus+signals"), us("storehaus")) {
        b.note(format!(
            "{NAME}: {:.0} writes/s with signals, {:.0} without ({WRITERS} writers): signals cost {:+.1} % per write \
             (target <= 10 %). A signalled create also appends its row as a JSONB event to `storehaus_events` in the \
             same statement, whose statement triggers take a shared advisory lock for the readers' horizon and queue a \
             `pg_notify`, which makes the commit take the server's global notify lock, one committer at a time.",
            1e6 / on,
            1e6 / off,
            (on / off - 1.0) * 100.0
        ));
    }
    truncate(&b.setup, &[USERS]).await?;
    Ok(summaries)
}

async fn measure_both(b: &Bench, listening: &StoreHaus) -> Result<Vec<Summary>> {
    let signals = listening.signal_manager(SignalConfig::default()).await?;
    let delivered = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&delivered);
    signals.add_callback_for(Subscription::table(USERS).events([EventType::Create]), move |_event| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::AcqRel);
            Ok(())
        }
    })?;
    let signalled = &GenericStore::<User>::new(b.storehaus.pool().clone(), Some(signals), None);
    let delivered = &*delivered;
    // Signalled writes so far; each sample waits for its own to arrive.
    let expected = &AtomicUsize::new(0);

    let mut contenders = vec![
        Contender::new("storehaus+signals", move |_| {
            Box::pin(async move {
                let t = store_writes("storehaus+signals", signalled, batches(b)).await?;
                delivery(delivered, expected.fetch_add(WRITES, Ordering::Relaxed) + WRITES).await?;
                Ok(t)
            })
        }),
        Contender::new("storehaus", move |_| {
            Box::pin(async move { store_writes("storehaus", &b.users, batches(b)).await })
        }),
        Contender::new("sqlx", move |_| Box::pin(async move { sqlx_writes(&b.sqlx, batches(b)).await })),
    ];
    let summaries = measure(NAME, WRITES as u64, b.mode.plan(Cost::Heavy), &mut contenders).await?;
    let (sent, got) = (expected.load(Ordering::Relaxed), delivered.load(Ordering::Acquire));
    if got != sent {
        return Err(format!("{NAME}: {sent} signalled writes, {got} events delivered").into());
    }
    Ok(summaries)
}

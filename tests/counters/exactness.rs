//! Exactly once under load: 8 tasks × 10 000 increments over 50 counters while a sync runs every
//! 50 ms and 10 more syncs are cancelled at random points. Every counter ends at the exact
//! number of increments, in `get` and in the table.

use super::*;
use crate::env::Env;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use storehaus_suite::fault_proxy::{Fault, FaultProxy};

pub(crate) const TASKS: usize = 8;
pub(crate) const INCREMENTS_PER_TASK: usize = 10_000;
/// 10 owners × 5 keys.
pub(crate) const COUNTERS: usize = 50;
/// Syncs cancelled by `JoinHandle::abort` during the load.
pub(crate) const ABORTED_SYNCS: usize = 10;

/// The counter an increment goes to.
pub(crate) fn counter(n: usize) -> (Owner, String) {
    (user((n / 5) as i64), format!("k{}", n % 5))
}

/// Increment `i` of task `t`: which counter, by how much.
fn increment_of(t: usize, i: usize) -> (usize, i64) {
    ((t * 13 + i * 7) % COUNTERS, 1 + (i % 3) as i64)
}

/// What every counter must end at.
fn expected_totals() -> Vec<i64> {
    let mut totals = vec![0; COUNTERS];
    for t in 0..TASKS {
        for i in 0..INCREMENTS_PER_TASK {
            let (n, by) = increment_of(t, i);
            totals[n] += by;
        }
    }
    totals
}

/// Runs the load through `env.counters` while `syncer` (the same prefix, maybe another pool)
/// syncs every 50 ms, 10 of its syncs are aborted, and, with `proxy`, its database connections
/// are reset now and then. Then syncs once more and checks every counter.
pub(crate) async fn hammer(env: &Env, syncer: &Counters, proxy: Option<&FaultProxy>) {
    let done = Arc::new(AtomicBool::new(false));
    let failed_syncs = Arc::new(AtomicU64::new(0));
    let sync_loop = tokio::spawn(sync_every_50_ms(syncer.clone(), done.clone(), failed_syncs.clone()));
    let aborter = tokio::spawn(abort_syncs(syncer.clone()));
    let chaos = proxy.map(|proxy| reset_now_and_then(proxy, done.clone()));

    let started = Instant::now();
    let writers: Vec<_> = (0..TASKS)
        .map(|t| {
            let counters = env.counters.clone();
            tokio::spawn(async move {
                for i in 0..INCREMENTS_PER_TASK {
                    let (n, by) = increment_of(t, i);
                    let (owner, key) = counter(n);
                    counters.increment(&owner, &key, by).await.unwrap_or_else(|e| panic!("increment {t}/{i}: {e}"));
                    // On the memory cache an increment never waits: leave the syncs a turn.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let writing = async {
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, Ordering::SeqCst);
    };
    match chaos {
        Some(chaos) => {
            tokio::join!(writing, chaos);
        }
        None => writing.await,
    }
    let elapsed = started.elapsed();
    sync_loop.await.unwrap();
    let cancelled = aborter.await.unwrap();
    if let Some(proxy) = proxy {
        proxy.set(Fault::PassThrough);
    }
    eprintln!(
        "{} increments in {elapsed:?} ({} cancelled syncs, {} failed syncs)",
        TASKS * INCREMENTS_PER_TASK,
        cancelled,
        failed_syncs.load(Ordering::SeqCst)
    );
    match proxy {
        None => assert_eq!(failed_syncs.load(Ordering::SeqCst), 0, "a sync failed without any fault"),
        Some(_) => assert!(failed_syncs.load(Ordering::SeqCst) > 0, "no reset hit a sync"),
    }

    // The first sync after the load finishes what cancelled or failed syncs left pending. It
    // runs on the direct pool: the proxied one may still hold a connection reset a moment ago.
    sync(&env.counters).await;
    let expected = expected_totals();
    let mut stored_total = 0;
    for (n, total) in expected.iter().enumerate() {
        let (owner, key) = counter(n);
        assert_eq!(env.counters.get(&owner, &key).await.unwrap(), *total, "get {owner} {key}");
        assert_eq!(stored(&env.storehaus, &owner, &key).await, Some(*total), "stored {owner} {key}");
        stored_total += total;
    }
    assert_eq!(rows(&env.storehaus).await, COUNTERS as i64);
    assert_eq!(stored_total, expected.iter().sum::<i64>());
}

async fn sync_every_50_ms(syncer: Counters, done: Arc<AtomicBool>, failed: Arc<AtomicU64>) {
    while !done.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Err(error) = syncer.sync(SyncOptions::default()).await
            && failed.fetch_add(1, Ordering::SeqCst) == 0
        {
            eprintln!("first failed sync: {error}");
        }
    }
}

/// Starts [`ABORTED_SYNCS`] syncs and aborts each after a random 0–0.5 or 0–20 ms; returns how many were
/// cancelled before they ended.
async fn abort_syncs(syncer: Counters) -> usize {
    let mut dice = Dice::from_clock("aborted syncs");
    let mut cancelled = 0;
    for _ in 0..ABORTED_SYNCS {
        tokio::time::sleep(Duration::from_millis(50 + dice.below(150))).await;
        let counters = syncer.clone();
        let running = tokio::spawn(async move { counters.sync(SyncOptions::default()).await });
        // Half of them early (a sync of 50 counters in memory takes well under a millisecond).
        let within = if dice.below(2) == 0 { 500 } else { 20_000 };
        tokio::time::sleep(Duration::from_micros(dice.below(within))).await;
        running.abort();
        if running.await.is_err_and(|e| e.is_cancelled()) {
            cancelled += 1;
        }
    }
    cancelled
}

/// Resets the proxied connections every 100–300 ms, sometimes refusing new ones for a moment,
/// until the writers are done.
async fn reset_now_and_then(proxy: &FaultProxy, done: Arc<AtomicBool>) {
    let mut dice = Dice::from_clock("connection resets");
    let mut resets = 0;
    while !done.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100 + dice.below(200))).await;
        if dice.below(2) == 0 {
            proxy.reset_open();
        } else {
            proxy.set(Fault::Reset);
            tokio::time::sleep(Duration::from_millis(dice.below(40))).await;
            proxy.set(Fault::PassThrough);
        }
        resets += 1;
    }
    eprintln!("{resets} rounds of connection resets");
}

on_both_envs! {
    async fn eighty_thousand_increments_with_cancelled_syncs_end_exact(env) {
        hammer(&env, &env.counters.clone(), None).await;
    }
}

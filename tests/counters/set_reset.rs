//! `set` and `reset` while other tasks increment: the total ends at the value set plus the
//! increments made after it, with syncs running all along.

use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::RwLock;

const WRITERS: usize = 4;

fn page() -> Owner {
    Owner::new("page", "home")
}

/// What one writer saw: each increment's start and end.
type Spans = Vec<(Instant, Instant)>;

async fn increment_until(counters: Counters, stop: Arc<AtomicBool>) -> Spans {
    let mut spans = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        counters.increment(&page(), "views", 1).await.unwrap();
        spans.push((started, Instant::now()));
        // On the memory cache an increment never waits: leave the set and the sync a turn.
        tokio::task::yield_now().await;
    }
    spans
}

/// Increments made while `gate` is read-locked, counted as after the set once `set_done` holds.
async fn increment_gated(
    counters: Counters,
    stop: Arc<AtomicBool>,
    gate: Arc<RwLock<()>>,
    set_done: Arc<AtomicBool>,
) -> (i64, i64) {
    let (mut before, mut after) = (0, 0);
    while !stop.load(Ordering::SeqCst) {
        let open = gate.read().await;
        counters.increment(&page(), "views", 1).await.unwrap();
        if set_done.load(Ordering::SeqCst) {
            after += 1;
        } else {
            before += 1;
        }
        drop(open);
        tokio::task::yield_now().await;
    }
    (before, after)
}

on_both_envs! {
    async fn set_during_increments_ends_between_the_bounds_of_its_overlap(env) {
        let counters = &env.counters;
        counters.increment(&page(), "views", 500).await.unwrap();
        sync(counters).await;
        let syncing = counters.start_sync(Duration::from_millis(20));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS).map(|_| tokio::spawn(increment_until(counters.clone(), stop.clone()))).collect();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let set_started = Instant::now();
        counters.set(&page(), "views", 1000).await.unwrap();
        let set_returned = Instant::now();
        tokio::time::sleep(Duration::from_millis(150)).await;
        stop.store(true, Ordering::SeqCst);
        let (mut after, mut overlapping) = (0, 0);
        for writer in writers {
            for (started, ended) in writer.await.unwrap() {
                if started > set_returned {
                    after += 1;
                } else if ended >= set_started {
                    overlapping += 1;
                }
            }
        }
        syncing.stop().await;
        sync(counters).await;
        let total = counters.get(&page(), "views").await.unwrap();
        eprintln!("{after} increments after the set, {overlapping} overlapping it, total {total}");
        assert!(after > 0, "no increment after the set");
        assert!((1000 + after..=1000 + after + overlapping).contains(&total), "total {total}, {after} after, {overlapping} overlapping");
        assert_eq!(stored(&env.storehaus, &page(), "views").await, Some(total));
    }

    async fn set_and_reset_between_increments_are_exact(env) {
        let counters = &env.counters;
        let syncing = counters.start_sync(Duration::from_millis(20));
        for value in [Some(1000), None, Some(-3)] {
            let (stop, gate, set_done) = (Arc::new(AtomicBool::new(false)), Arc::new(RwLock::new(())), Arc::new(AtomicBool::new(false)));
            let writers: Vec<_> = (0..WRITERS)
                .map(|_| tokio::spawn(increment_gated(counters.clone(), stop.clone(), gate.clone(), set_done.clone())))
                .collect();
            tokio::time::sleep(Duration::from_millis(100)).await;
            {
                // No increment is in flight while the set runs: each one is before or after it.
                let _closed = gate.write().await;
                match value {
                    Some(value) => counters.set(&page(), "views", value).await.unwrap(),
                    None => counters.reset(&page(), "views").await.unwrap(),
                }
                set_done.store(true, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            stop.store(true, Ordering::SeqCst);
            let (mut before, mut after) = (0, 0);
            for writer in writers {
                let (b, a) = writer.await.unwrap();
                (before, after) = (before + b, after + a);
            }
            assert!(before > 0 && after > 0, "{value:?}: {before} before, {after} after");
            let expected = value.unwrap_or(0) + after;
            assert_eq!(counters.get(&page(), "views").await.unwrap(), expected, "{value:?}: {before} before, {after} after");
        }
        syncing.stop().await;
        sync(counters).await;
        let total = counters.get(&page(), "views").await.unwrap();
        assert_eq!(stored(&env.storehaus, &page(), "views").await, Some(total));
    }

    async fn set_after_a_cancelled_sync_is_exact(env) {
        let counters = &env.counters;
        let mut dice = Dice::from_clock("set after a cancelled sync");
        for round in 0..6 {
            counters.increment(&page(), "views", 10).await.unwrap();
            let syncer = counters.clone();
            let running = tokio::spawn(async move { syncer.sync(SyncOptions::default()).await });
            tokio::time::sleep(Duration::from_micros(dice.below(3_000))).await;
            running.abort();
            let _ = running.await;
            counters.set(&page(), "views", 100 * round).await.unwrap();
            assert_eq!(counters.increment(&page(), "views", 1).await.unwrap(), 100 * round + 1, "round {round}");
            sync(counters).await;
            assert_eq!(stored(&env.storehaus, &page(), "views").await, Some(100 * round + 1), "round {round}");
            assert_eq!(counters.get(&page(), "views").await.unwrap(), 100 * round + 1, "round {round}");
        }
    }
}

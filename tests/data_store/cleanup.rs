//! `cleanup_expired`: removes expired rows of every scope in short batches, keeps the rest, and
//! lets writers to live keys of the same table through while it runs.

use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

const EXPIRED: usize = 100_000;
const BATCH: usize = 1_000;

/// The longest a `set` on a live key may wait while cleanup runs: one batch takes milliseconds,
/// so this only fails when cleanup holds its locks far longer than one batch.
const MAX_WRITE_LATENCY: Duration = Duration::from_secs(2);

on_both_backends! {
    async fn cleanup_removes_only_expired_rows_of_every_scope(db) {
        let (storehaus, data) = data(&db).await;
        let alice = data.for_owner(user(1)).in_namespace("tokens");
        data.set("short", 1, Some(Duration::from_secs(1))).await.unwrap();
        alice.set("short", 1, Some(Duration::from_secs(1))).await.unwrap();
        alice.set("long", 2, Some(Duration::from_secs(3600))).await.unwrap();
        data.set("forever", 3, None).await.unwrap();
        assert_eq!(data.cleanup_expired(BATCH).await.unwrap(), 0, "nothing has expired yet");
        outlive(1.0).await;

        assert_eq!(data.cleanup_expired(1).await.unwrap(), 2, "batches of one still remove everything");
        assert_eq!(rows(&storehaus).await, 2);
        assert_eq!(alice.get::<i64>("long").await.unwrap(), Some(2));
        assert_eq!(data.get::<i64>("forever").await.unwrap(), Some(3));
        assert_eq!(data.cleanup_expired(BATCH).await.unwrap(), 0);
    }

    /// 100 000 expired rows in four scopes, live rows beside them, and a writer that keeps
    /// setting a live key of the same table for as long as the cleanup runs.
    async fn cleanup_of_many_expired_rows_never_blocks_live_writes_for_long(db) {
        let (storehaus, data) = data(&db).await;
        let scopes = [
            data.clone(),
            data.in_namespace("sessions"),
            data.for_owner(user(1)),
            data.for_owner(Owner::new("team", "acme")).in_namespace("invites.pending"),
        ];
        let started = Instant::now();
        for (n, scope) in scopes.iter().enumerate() {
            let entries = (0..EXPIRED / scopes.len()).map(|i| (format!("expired.{n}.{i}"), i));
            scope.set_many(entries, Some(Duration::from_secs(1))).await.unwrap();
            scope.set("kept", n, None).await.unwrap();
            scope.set("kept_a_while", n, Some(Duration::from_secs(3600))).await.unwrap();
        }
        let loaded = started.elapsed();
        data.set("live", 0, None).await.unwrap();
        let live_rows = 2 * scopes.len() as i64 + 1;
        assert_eq!(rows(&storehaus).await, EXPIRED as i64 + live_rows);
        outlive(1.0).await;

        let stop = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn({
            let (data, stop) = (data.clone(), stop.clone());
            async move {
                let (mut writes, mut slowest) = (0_i64, Duration::ZERO);
                while !stop.load(Ordering::Relaxed) {
                    let at = Instant::now();
                    data.set("live", writes + 1, None).await.unwrap();
                    slowest = slowest.max(at.elapsed());
                    writes += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                (writes, slowest)
            }
        });

        let started = Instant::now();
        let removed = data.cleanup_expired(BATCH).await.unwrap();
        let took = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let (writes, slowest) = writer.await.unwrap();
        println!(
            "{}: {EXPIRED} expired rows loaded in {loaded:.2?}; cleanup_expired({BATCH}) took {took:.2?}; \
             {writes} concurrent sets on a live key, slowest {slowest:.2?}",
            B::NAME
        );

        assert_eq!(removed, EXPIRED as u64);
        assert_eq!(rows(&storehaus).await, live_rows);
        for (n, scope) in scopes.iter().enumerate() {
            assert_eq!(scope.get::<usize>("kept").await.unwrap(), Some(n));
            assert_eq!(scope.get::<usize>("kept_a_while").await.unwrap(), Some(n));
        }
        assert_eq!(data.get::<i64>("live").await.unwrap(), Some(writes));
        assert!(writes > 0, "the writer never got through");
        assert!(slowest < MAX_WRITE_LATENCY, "a set on a live key waited {slowest:?} during cleanup");
    }

    async fn cleanup_with_a_batch_size_of_zero_is_refused(db) {
        let (storehaus, data) = data(&db).await;
        data.set("short", 1, Some(Duration::from_secs(1))).await.unwrap();
        outlive(1.0).await;
        assert_validation(data.cleanup_expired(0).await);
        assert_eq!(rows(&storehaus).await, 1);
    }
}

//! Redis killed (`SIGKILL`) and restarted while tasks count: increments fall back to the
//! database, no call fails, and after a sync every counter holds exactly the increments that
//! returned `Ok` (Redis and PostgreSQL; the server runs with `appendfsync always`).

use super::*;
use crate::env::{CacheSource, Env};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use storehaus::testing::TestDatabase;
use storehaus_suite::redis::{RedisServer, free_port, unavailable};

const WRITERS: usize = 4;
const COUNTED: usize = 10;

fn counter(n: usize) -> (Owner, String) {
    (Owner::new("file", n % 5), format!("hits{}", n / 5))
}

/// Counts until `stop`; returns the successful increments per counter and every error.
async fn count_until(counters: Counters, t: usize, stop: Arc<AtomicBool>) -> (Vec<i64>, Vec<String>) {
    let (mut counted, mut errors) = (vec![0; COUNTED], Vec::new());
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let n = (t * 3 + i) % COUNTED;
        let (owner, key) = counter(n);
        match counters.increment(&owner, &key, 1).await {
            Ok(_) => counted[n] += 1,
            Err(error) => errors.push(error.to_string()),
        }
        i += 1;
        // Leaves the other tasks and the sync a turn on two workers.
        tokio::task::yield_now().await;
    }
    (counted, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counting_through_a_redis_kill_and_restart_ends_exact() {
    const TEST: &str = "redis_down::kill_and_restart";
    storehaus_suite::run_on::<TestDatabase, _>(|db| async move {
        let mut server = match RedisServer::start_durable(free_port()) {
            Ok(server) => server,
            Err(why) => {
                unavailable::<()>(TEST, &why);
                return;
            }
        };
        let cache = CacheSource::Redis(CacheConfig {
            redis_url: server.url(),
            timeout_ms: 500,
            connection_timeout_ms: 500,
            ..CacheConfig::default()
        });
        let env = Env::with_cache(db.storehaus().await, cache, TEST).await;
        let counters = &env.counters;
        let syncing = counters.start_sync(Duration::from_millis(100));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> =
            (0..WRITERS).map(|t| tokio::spawn(count_until(counters.clone(), t, stop.clone()))).collect();

        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(counters.stats().buffered > 0, "nothing was buffered before the kill: {:?}", counters.stats());
        server.stop();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (owner, key) = counter(0);
        counters.get(&owner, &key).await.expect("get answers from the database while Redis is down");
        let during = counters.stats();
        assert!(during.fallbacks > 0, "no increment fell back to the database: {during:?}");
        server.restart().expect("redis-server starts again");
        // The cache is tried again after the counters' pause and the client's reconnect backoff.
        let back = storehaus_suite::time_until(Duration::from_secs(15), || counters.stats().buffered > during.buffered);
        let back = back.await.expect("the counters never went back to buffering after the restart");
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::SeqCst);

        let mut counted = [0; COUNTED];
        let mut errors = Vec::new();
        for writer in writers {
            let (mine, failed) = writer.await.unwrap();
            counted.iter_mut().zip(mine).for_each(|(total, n)| *total += n);
            errors.extend(failed);
        }
        syncing.stop().await;
        let after = counters.stats();
        eprintln!(
            "{} increments; buffering again {back:?} after the restart; during the outage {during:?}, at the end {after:?}",
            counted.iter().sum::<i64>()
        );
        assert!(errors.is_empty(), "{} increments failed, first: {}", errors.len(), errors[0]);

        sync(counters).await;
        for (n, total) in counted.iter().enumerate() {
            let (owner, key) = counter(n);
            assert_eq!(stored(&env.storehaus, &owner, &key).await, Some(*total), "stored {owner} {key}");
            assert_eq!(counters.get(&owner, &key).await.unwrap(), *total, "get {owner} {key}");
        }
    })
    .await;
}

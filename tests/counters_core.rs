//! The counters' protocol, each step once, with Redis on PostgreSQL and with the memory cache on
//! SQLite: buffered increments, syncs, hand-overs left half-done, concurrent syncs, sets.
//! The table is checked with raw SQL.

use std::sync::Arc;
use storehaus::cache::CacheManager;
use storehaus::counters::{Counters, SyncOptions};
use storehaus::prelude::*;
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus_suite::redis::{delete_under, shared_manager, unique_prefix};
use storehaus_suite::{TestBackend, raw};

/// What a test runs on: the database (dropped at the end of the test) and, on Redis, the
/// prefix of the test's keys (deleted at the end).
struct Env {
    storehaus: StoreHaus,
    counters: Counters,
    cache: Arc<CacheManager>,
    prefix: Option<String>,
    _db: Box<dyn std::any::Any + Send>,
}

impl Env {
    /// Deletes the test's keys from the shared Redis.
    async fn cleanup(self) {
        if let Some(prefix) = &self.prefix {
            delete_under(&self.cache, prefix).await;
        }
    }
}

/// Counters on Redis and PostgreSQL, or `None` when a service is missing and not required.
async fn on_redis(test: &str) -> Option<Env> {
    let db = TestDatabase::open().await?;
    let cache = Arc::new(shared_manager(test).await?);
    let storehaus = db.storehaus().await;
    let prefix = format!("{}:", unique_prefix(test));
    let counters =
        Counters::builder(storehaus.pool().clone()).cache(cache.clone()).prefix(prefix.clone()).build().await.unwrap();
    Some(Env { storehaus, counters, cache, prefix: Some(prefix), _db: Box::new(db) })
}

/// Counters on the memory cache and SQLite.
async fn on_memory() -> Env {
    let db = TestSqlite::new();
    let storehaus = db.storehaus().await;
    let cache = Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap());
    let counters = storehaus.counters(cache.clone()).await.unwrap();
    Env { storehaus, counters, cache, prefix: None, _db: Box::new(db) }
}

async fn stored(storehaus: &StoreHaus, kind: &str, id: &str, key: &str) -> Option<i64> {
    let sql = format!(
        r#"SELECT "count" FROM "storehaus_counters" WHERE "owner_kind" = '{kind}' AND "owner_id" = '{id}' AND "key" = '{key}'"#
    );
    let rows: Vec<(i64,)> = raw::rows(storehaus, &sql).await;
    rows.first().map(|row| row.0)
}

macro_rules! on_both {
    ($($name:ident($storehaus:ident, $counters:ident, $cache:ident) $body:block)*) => {$(
        mod $name {
            use super::*;

            async fn run($storehaus: &StoreHaus, $counters: Counters, $cache: Arc<CacheManager>) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis_postgres() {
                let Some(env) = on_redis(stringify!($name)).await else { return };
                run(&env.storehaus, env.counters.clone(), env.cache.clone()).await;
                env.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory_sqlite() {
                let env = on_memory().await;
                run(&env.storehaus, env.counters.clone(), env.cache.clone()).await;
                env.cleanup().await;
            }
        }
    )*};
}

on_both! {
    increments_are_buffered_until_a_sync(storehaus, counters, cache) {
        let user = Owner::new("user", 42);
        assert_eq!(counters.increment(&user, "downloads", 1).await.unwrap(), 1);
        assert_eq!(counters.increment(&user, "downloads", 4).await.unwrap(), 5);
        assert_eq!(counters.decrement(&user, "downloads", 2).await.unwrap(), 3);
        assert_eq!(stored(storehaus, "user", "42", "downloads").await, None, "no database write before a sync");
        assert_eq!(counters.get(&user, "downloads").await.unwrap(), 3);

        let report = counters.sync(SyncOptions::default()).await.unwrap();
        assert_eq!((report.keys, report.delta_total, report.rows_written), (1, 3, 1));
        assert_eq!(stored(storehaus, "user", "42", "downloads").await, Some(3));
        assert_eq!(counters.increment(&user, "downloads", 10).await.unwrap(), 13);
        assert_eq!(counters.get(&user, "downloads").await.unwrap(), 13);
        let again = counters.sync(SyncOptions::default()).await.unwrap();
        assert_eq!((again.keys, again.delta_total), (1, 10));
        assert_eq!(stored(storehaus, "user", "42", "downloads").await, Some(13));
        let idle = counters.sync(SyncOptions::default()).await.unwrap();
        assert_eq!(idle.keys, 0);
        let _ = cache;
    }

    a_hand_over_left_half_done_is_finished_once(storehaus, counters, cache) {
        let video = Owner::new("video", "v1");
        counters.increment(&video, "views", 7).await.unwrap();
        let buffer = counters.cache_key(&video, "views").unwrap();
        // A sync took the amount and died before the database write.
        let taken = cache.buffer_take(std::slice::from_ref(&buffer), None).await.unwrap()[0];
        assert_eq!(taken.pending.map(|p| p.value), Some(7));
        counters.increment(&video, "views", 1).await.unwrap();
        assert_eq!(counters.get(&video, "views").await.unwrap(), 8);
        let report = counters.sync(SyncOptions::default()).await.unwrap();
        // The pending amount is finished first, then what came since is handed over too.
        assert_eq!((report.keys, report.delta_total, report.rows_written), (1, 8, 2));
        assert_eq!(stored(storehaus, "video", "v1", "views").await, Some(8));
        assert_eq!(counters.get(&video, "views").await.unwrap(), 8);

        // A sync applied the amount and died before clearing it in the cache.
        counters.increment(&video, "views", 5).await.unwrap();
        let taken = cache.buffer_take(std::slice::from_ref(&buffer), None).await.unwrap()[0];
        let pending = taken.pending.unwrap();
        let sql = format!(
            r#"UPDATE "storehaus_counters" SET "count" = "count" + 5, "sync_seq" = {} WHERE "owner_kind" = 'video'"#,
            pending.seq
        );
        raw::execute(storehaus, &sql).await;
        assert_eq!(counters.get(&video, "views").await.unwrap(), 13, "applied once, not counted twice");
        let report = counters.sync(SyncOptions::default()).await.unwrap();
        assert_eq!((report.keys, report.rows_written), (1, 0));
        assert_eq!(stored(storehaus, "video", "v1", "views").await, Some(13));
        assert_eq!(counters.get(&video, "views").await.unwrap(), 13);
    }

    concurrent_syncs_apply_each_amount_once(storehaus, counters, cache) {
        let owners: Vec<Owner> = (0..5).map(|i| Owner::new("team", i)).collect();
        let mut expected = 0;
        for round in 0..20 {
            for owner in &owners {
                counters.increment(owner, "calls", round + 1).await.unwrap();
            }
            expected += round + 1;
            let (a, b) = tokio::join!(counters.sync(SyncOptions::default()), counters.sync(SyncOptions::default()));
            a.unwrap();
            b.unwrap();
        }
        counters.sync(SyncOptions::default()).await.unwrap();
        for (i, owner) in owners.iter().enumerate() {
            assert_eq!(stored(storehaus, "team", &i.to_string(), "calls").await, Some(expected));
            assert_eq!(counters.get(owner, "calls").await.unwrap(), expected);
        }
        let _ = cache;
    }

    set_replaces_what_was_buffered(storehaus, counters, cache) {
        let page = Owner::new("page", "home");
        counters.increment(&page, "hits", 40).await.unwrap();
        counters.set(&page, "hits", 100).await.unwrap();
        assert_eq!(stored(storehaus, "page", "home", "hits").await, Some(100));
        assert_eq!(counters.increment(&page, "hits", 1).await.unwrap(), 101);
        counters.sync(SyncOptions::default()).await.unwrap();
        assert_eq!(stored(storehaus, "page", "home", "hits").await, Some(101));
        counters.reset(&page, "hits").await.unwrap();
        assert_eq!(counters.get(&page, "hits").await.unwrap(), 0);
        assert_eq!(counters.get_many(&page, &["hits", "never"]).await.unwrap().into_iter().collect::<Vec<_>>(),
            [("hits".to_owned(), 0), ("never".to_owned(), 0)]);
        counters.increment(&page, "only-buffered", 2).await.unwrap();
        let all = counters.all(&page).await.unwrap();
        assert_eq!(all.into_iter().collect::<Vec<_>>(), [("hits".to_owned(), 0), ("only-buffered".to_owned(), 2)]);
        let _ = cache;
    }
}

/// Redis killed (SIGKILL) under increments and started again: increments fall back to the
/// database while it is down, and each one is counted exactly once in the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_counts_each_increment_once() {
    use storehaus_suite::redis::{RedisServer, free_port, unavailable};
    let test = "redis_killed_and_restarted_counts_each_increment_once";
    let Some(db) = TestDatabase::open().await else { return };
    let mut server = match RedisServer::start_durable(free_port()) {
        Ok(server) => server,
        Err(why) => return unavailable(test, &why).unwrap_or(()),
    };
    let config =
        CacheConfig { redis_url: server.url(), timeout_ms: 300, connection_timeout_ms: 300, ..CacheConfig::default() };
    let cache = Arc::new(CacheManager::new(config).unwrap());
    let storehaus = db.storehaus().await;
    let counters = Counters::builder(storehaus.pool().clone())
        .cache(cache)
        .cache_retry(std::time::Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let owner = Owner::new("file", 1);
    let done = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (counters, owner, done, stop) = (counters.clone(), owner.clone(), done.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                counters.increment(&owner, "downloads", 1).await.unwrap();
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    counters.sync(SyncOptions::default()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    server.stop();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    server.restart().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let expected = done.load(std::sync::atomic::Ordering::Relaxed);
    let stats = counters.stats();
    assert!(stats.fallbacks > 0, "{stats:?}");
    assert!(stats.buffered > 0, "{stats:?}");
    assert_eq!(counters.get(&owner, "downloads").await.unwrap(), expected, "{stats:?}");
    counters.sync(SyncOptions::default()).await.unwrap();
    assert_eq!(stored(&storehaus, "file", "1", "downloads").await, Some(expected), "{stats:?}");
    assert_eq!(counters.get(&owner, "downloads").await.unwrap(), expected);
    eprintln!("{expected} increments, {stats:?}");
}

//! A data store with a read-through cache: it serves single-key reads from the cache, and never
//! an overwritten, deleted or expired value.
//!
//! Each behaviour runs three times: on Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`,
//! a key prefix per test) with PostgreSQL, and on the in-memory cache with each database
//! backend. Without a reachable Redis the Redis runs print `*** SKIPPED`, or fail when `CI` or
//! `STOREHAUS_REQUIRE_SERVICES` is set. The truth is read through a store without cache.

use super::*;
use std::sync::Arc;
use storehaus::cache::CacheConfig;
use storehaus_suite::redis::{KeyCleanup, shared_manager, unique_prefix};

/// Cache entries outlive every test, so only invalidation and expiry can end them.
const CACHE_TTL_SECONDS: u64 = 120;

#[derive(Debug, Clone, Copy)]
enum Backend {
    Redis,
    Memory,
}

/// A cached data store and an uncached one on the same database, and on Redis the deletion of
/// the test's keys when the test ends, passed or failed; `None` (after a skip line) when Redis is
/// unreachable.
async fn stores<B: TestBackend>(
    db: &B,
    backend: Backend,
    test: &str,
) -> Option<(DataStore, DataStore, Option<KeyCleanup>)> {
    let test = format!("{test}/{backend:?}/{}", B::NAME);
    let prefix = unique_prefix(&test);
    let (manager, cleanup) = match backend {
        Backend::Memory => (CacheManager::memory(&CacheConfig::default()).unwrap(), None),
        Backend::Redis => (shared_manager(&test).await?, Some(KeyCleanup::new(prefix.as_str()))),
    };
    let (_storehaus, plain) = data(db).await;
    let cached = plain.with_cache(CacheParams::new(Arc::new(manager), CACHE_TTL_SECONDS, prefix));
    Some((cached, plain, cleanup))
}

/// Reads `key` through the cache twice, so the second read is served from it.
async fn prime(cached: &DataStore, key: &str) -> Option<Value> {
    let first = cached.get::<Value>(key).await.unwrap();
    assert_eq!(cached.get::<Value>(key).await.unwrap(), first);
    first
}

/// Declares each behaviour `async fn name(db, backend)` as the tests `name::redis_postgres`,
/// `name::memory_postgres` and `name::memory_sqlite`.
macro_rules! cache_behaviours {
    ($($(#[$meta:meta])* async fn $name:ident($db:ident, $backend:ident) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            use super::*;
            use storehaus::testing::{TestDatabase, TestSqlite};

            async fn test<B: TestBackend>($db: B, $backend: Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis_postgres() {
                storehaus_suite::run_on::<TestDatabase, _>(|db| test(db, Backend::Redis)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory_postgres() {
                storehaus_suite::run_on::<TestDatabase, _>(|db| test(db, Backend::Memory)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory_sqlite() {
                storehaus_suite::run_on::<TestSqlite, _>(|db| test(db, Backend::Memory)).await;
            }
        }
    )*};
}

cache_behaviours! {
    /// Without invalidation a primed read keeps its value: the cache is really in use.
    async fn a_primed_read_is_served_from_the_cache(db, backend) {
        let Some((cached, plain, _cleanup)) = stores(&db, backend, "served").await else { return };
        cached.set("theme", "dark", None).await.unwrap();
        assert_eq!(prime(&cached, "theme").await, Some(json!("dark")));
        plain.set("theme", "light", None).await.unwrap();
        assert_eq!(cached.get::<Value>("theme").await.unwrap(), Some(json!("dark")));
    }

    async fn get_after_a_write_never_returns_the_old_value(db, backend) {
        let Some((cached, plain, _cleanup)) = stores(&db, backend, "writes").await else { return };
        cached.set("k", 1, None).await.unwrap();

        prime(&cached, "k").await;
        cached.set("k", 2, None).await.unwrap();
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(2), "after set");

        prime(&cached, "k").await;
        assert_eq!(cached.increment("k", 5).await.unwrap(), 7);
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(7), "after increment");

        prime(&cached, "k").await;
        assert_eq!(cached.decrement("k", 1).await.unwrap(), 6);
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(6), "after decrement");

        prime(&cached, "k").await;
        assert!(cached.delete("k").await.unwrap());
        assert_eq!(cached.get::<i64>("k").await.unwrap(), None, "after delete");
        assert!(!cached.has("k").await.unwrap());

        // A cached miss is forgotten too.
        assert_eq!(cached.increment("k", 1).await.unwrap(), 1);
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(1), "after increment of a missing key");

        prime(&cached, "k").await;
        cached.set_many([("k", 10), ("j", 11)], None).await.unwrap();
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(10), "after set_many");

        prime(&cached, "k").await;
        assert_eq!(cached.delete_many(["k"]).await.unwrap(), 1);
        assert_eq!(cached.get::<i64>("k").await.unwrap(), None, "after delete_many");

        cached.set("l", json!([]), None).await.unwrap();
        prime(&cached, "l").await;
        cached.list_push("l", "x").await.unwrap();
        assert_eq!(cached.get::<Value>("l").await.unwrap(), Some(json!(["x"])), "after list_push");
        prime(&cached, "l").await;
        cached.list_remove("l", "x").await.unwrap();
        assert_eq!(cached.get::<Value>("l").await.unwrap(), Some(json!([])), "after list_remove");
        cached.list_push("l", "y").await.unwrap();
        prime(&cached, "l").await;
        cached.list_clear("l").await.unwrap();
        assert_eq!(cached.get::<Value>("l").await.unwrap(), Some(json!([])), "after list_clear");

        prime(&cached, "j").await;
        cached.clear().await.unwrap();
        assert_eq!(cached.get::<i64>("j").await.unwrap(), None, "after clear");

        let mut backup = Vec::new();
        plain.set("j", 12, None).await.unwrap();
        plain.export(&mut backup).await.unwrap();
        plain.set("j", 13, None).await.unwrap();
        cached.set("j", 13, None).await.unwrap();
        prime(&cached, "j").await;
        cached.import(backup.as_slice(), true).await.unwrap();
        assert_eq!(cached.get::<i64>("j").await.unwrap(), Some(12), "after import");
        assert_eq!(cached.all().await.unwrap(), plain.all().await.unwrap());
    }

    async fn an_expired_entry_is_never_served_from_the_cache(db, backend) {
        let Some((cached, _plain, _cleanup)) = stores(&db, backend, "expiry").await else { return };
        cached.set("token", "abc", Some(Duration::from_secs(1))).await.unwrap();
        assert_eq!(prime(&cached, "token").await, Some(json!("abc")));
        outlive(1.0).await;
        assert_eq!(cached.get::<String>("token").await.unwrap(), None);
        assert!(!cached.has("token").await.unwrap());
        assert_eq!(cached.get_or("token", "none".to_owned()).await.unwrap(), "none");
    }

    async fn touch_through_the_cache_takes_effect(db, backend) {
        let Some((cached, _plain, _cleanup)) = stores(&db, backend, "touch").await else { return };
        cached.set("session", "s1", None).await.unwrap();
        prime(&cached, "session").await;
        assert!(cached.touch("session", Some(Duration::from_secs(1))).await.unwrap());
        outlive(1.0).await;
        assert_eq!(cached.get::<String>("session").await.unwrap(), None, "after touch to a short ttl");

        cached.set("kept", "k", Some(Duration::from_secs(1))).await.unwrap();
        prime(&cached, "kept").await;
        assert!(cached.touch("kept", None).await.unwrap());
        outlive(1.0).await;
        assert_eq!(cached.get::<String>("kept").await.unwrap().as_deref(), Some("k"), "after touch to never");
    }

    async fn cached_reads_keep_scopes_apart(db, backend) {
        let Some((cached, _plain, _cleanup)) = stores(&db, backend, "scopes").await else { return };
        let scopes = [
            cached.clone(),
            cached.in_namespace("n"),
            cached.for_owner(user(1)),
            cached.for_owner(Owner::new("team", 1)),
            cached.for_owner(user(1)).in_namespace("n"),
        ];
        for (i, scope) in scopes.iter().enumerate() {
            scope.set("k", i, None).await.unwrap();
        }
        for _ in 0..2 {
            for (i, scope) in scopes.iter().enumerate() {
                assert_eq!(scope.get::<usize>("k").await.unwrap(), Some(i));
            }
        }
        scopes[2].delete("k").await.unwrap();
        assert_eq!(scopes[2].get::<usize>("k").await.unwrap(), None);
        assert_eq!(scopes[4].get::<usize>("k").await.unwrap(), Some(4));
    }
}

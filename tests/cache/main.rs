//! The read-through cache of `GenericStore`: reads by key, invalidation after the commit of
//! every write path (never after a rollback), `find_cached`, concurrency, and Redis failing open.
//!
//! Each behaviour of the store and its cache runs three times:
//!
//! - `on_redis::NAME`: the Redis cache (`REDIS_URL`, default `redis://127.0.0.1:6379`, a key
//!   prefix per test) on PostgreSQL;
//! - `in_memory::NAME::postgres` and `in_memory::NAME::sqlite`: the in-process cache on each
//!   database backend.
//!
//! Behaviours where the database's own equality or the cache's bounds matter (key types,
//! entry sizes) also run on Redis with SQLite: `on_redis::NAME::postgres` and
//! `on_redis::NAME::sqlite`.
//!
//! Behaviours of the cache alone (claims) need no database: `on_redis::NAME` and
//! `in_memory::NAME`.
//!
//! A store with a near cache ([`near`]) is read by two processes' worth of pools and managers.
//!
//! Every check of a write primes the cache first (a read, then a second read that must be a
//! hit), so an invalidation that does not happen shows up as a stale read. The truth is always
//! read through a store without cache on the same database.
//!
//! What only Redis does stays on PostgreSQL with Redis: the fault tests ([`redis_faults`]) use
//! Redis servers of their own, a port where nothing listens and a private `redis-server` that is
//! killed and started again; the shared server is never touched.
//!
//! Without a reachable Redis the Redis tests print `*** SKIPPED`, or fail when `CI` or
//! `STOREHAUS_REQUIRE_SERVICES` is set.

mod concurrency;
mod keys;
mod limits;
mod near;
mod reads;
mod recording;
mod redis_faults;
mod transactions;
mod writes;

use concurrency::*;
use keys::*;
use limits::*;
use near::*;
use reads::*;
use transactions::*;
use writes::*;

use std::sync::Arc;
use std::time::Duration;

use storehaus::cache::{CacheBackend, CacheConfig, CacheManager, KeySpace, MemoryBackend, RedisBackend};
use storehaus::prelude::*;
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus_suite::TestBackend;
use storehaus_suite::redis::{KeyCleanup, redis_url, shared_manager, unavailable, unique_prefix};

/// Soft delete and versioning, so every write path of the store applies to it.
#[model]
#[table(name = "articles", soft_delete, versioned)]
#[derive(PartialEq)]
pub struct Article {
    #[primary_key]
    pub id: Uuid,
    pub title: String,
    pub views: i64,
}

/// One field of each kind a cached record has to carry through JSON unchanged.
#[model]
#[table(name = "specimens")]
#[derive(PartialEq)]
pub struct Specimen {
    #[primary_key]
    pub id: i64,
    pub label: String,
    pub price: Decimal,
    pub ratio: f64,
    pub small: i16,
    pub born: NaiveDate,
    pub seen_at: DateTime<Utc>,
    pub local: NaiveDateTime,
    pub flags: Vec<String>,
    pub raw: Vec<u8>,
    pub doc: Json<Settings>,
    pub extra: Option<serde_json::Value>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub theme: String,
    pub limits: Vec<u32>,
}

/// Entry lifetime of the stores under test: far longer than any test, so nothing expires by itself.
const TTL_SECONDS: u64 = 300;

// ---------------------------------------------------------------------------------------------
// Backends and fixtures

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Redis,
    Memory,
}

impl Backend {
    /// A manager of its own for `test`, or `None` (after a skip line) when Redis is unreachable.
    async fn manager(self, test: &str) -> Option<Arc<CacheManager>> {
        match self {
            Backend::Memory => Some(Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap())),
            Backend::Redis => shared_manager(test).await.map(Arc::new),
        }
    }
}

/// A manager whose backend records what is written to it.
struct Recorded {
    manager: Arc<CacheManager>,
    recording: Arc<recording::Recording>,
    /// The in-memory backend under the recording, to read its size; `None` on Redis.
    memory: Option<Arc<MemoryBackend>>,
}

impl Backend {
    /// A manager of its own for `test` with `tweak` applied to its settings, whose backend
    /// records what is written; `None` (after a skip line) when Redis is unreachable.
    async fn recorded(self, test: &str, tweak: impl FnOnce(&mut CacheConfig)) -> Option<Recorded> {
        let mut config = CacheConfig {
            redis_url: redis_url(),
            timeout_ms: 2000,
            connection_timeout_ms: 2000,
            ..CacheConfig::default()
        };
        tweak(&mut config);
        let (inner, memory): (Arc<dyn CacheBackend>, _) = match self {
            Backend::Memory => {
                let memory = Arc::new(MemoryBackend::new(config.memory_max_bytes));
                (memory.clone(), Some(memory))
            }
            Backend::Redis => (Arc::new(RedisBackend::new(&config).unwrap()), None),
        };
        let recording = Arc::new(recording::Recording::new(inner));
        let manager = Arc::new(CacheManager::with_backend(recording.clone(), &config).unwrap());
        if let Err(error) = manager.ping().await {
            let why = format!("Redis at {} is unreachable: {error}", config.redacted_url());
            return unavailable(test, &why);
        }
        Some(Recorded { manager, recording, memory })
    }
}

/// Deletes every key under a test's prefix from the shared Redis when dropped, passed or failed,
/// so runs do not pile them up there ([`KeyCleanup`]); the in-memory cache needs nothing.
struct Forget {
    _cleanup: Option<KeyCleanup>,
}

impl Forget {
    fn new(manager: &CacheManager, prefix: &str) -> Forget {
        Forget { _cleanup: (manager.backend().name() == "redis").then(|| KeyCleanup::new(prefix)) }
    }
}

/// The `articles` table on a test database, a cache manager, a cached store and an uncached one.
struct Ctx {
    storehaus: StoreHaus,
    manager: Arc<CacheManager>,
    cached: GenericStore<Article>,
    plain: GenericStore<Article>,
    _forget: Forget,
}

/// `None` (after a skip line) when Redis is unreachable. `db` outlives the pools on it: it is the
/// behaviour's argument, dropped after the behaviour's locals.
async fn setup<B: TestBackend>(test: &str, backend: Backend, db: &B) -> Option<Ctx> {
    let test = format!("{test}/{backend:?}/{}", B::NAME);
    let manager = backend.manager(&test).await?;
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Article>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let forget = Forget::new(&manager, &prefix);
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix);
    let cached = GenericStore::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::new(storehaus.pool().clone(), None, None);
    Some(Ctx { storehaus, manager, cached, plain, _forget: forget })
}

/// The connection settings of a test database, for a pool of another size on it.
trait Configured {
    fn config(&self) -> &DatabaseConfig;
}

impl Configured for TestDatabase {
    fn config(&self) -> &DatabaseConfig {
        TestDatabase::config(self)
    }
}

impl Configured for TestSqlite {
    fn config(&self) -> &DatabaseConfig {
        TestSqlite::config(self)
    }
}

impl Ctx {
    /// Inserts a row without going through the cache; returns its key.
    async fn seed(&self, title: &str, tags: &[&str]) -> Uuid {
        self.plain.create(article(title), Some(owned(tags))).await.unwrap().id
    }

    async fn seed_many(&self, titles: &[&str]) -> Vec<Uuid> {
        let mut ids = Vec::new();
        for title in titles {
            ids.push(self.seed(title, &[]).await);
        }
        ids
    }

    async fn prime(&self, id: &Uuid) -> Option<Record<Article>> {
        prime(&self.cached, &self.manager, id).await
    }

    async fn fresh(&self, id: &Uuid, what: &str) -> Option<Record<Article>> {
        fresh(&self.cached, &self.plain, id, what).await
    }
}

fn article(title: &str) -> Article {
    Article { id: Uuid::new_v4(), title: title.to_owned(), views: 0 }
}

fn titled(id: Uuid, title: &str) -> Article {
    Article { id, title: title.to_owned(), views: 0 }
}

fn owned(tags: &[&str]) -> Vec<String> {
    tags.iter().map(|t| (*t).to_owned()).collect()
}

fn matching(ids: &[Uuid]) -> QueryBuilder {
    QueryBuilder::new().filter(Article::columns().id.in_values(ids.iter().copied()))
}

/// Reads `id` through the cache twice and checks that the second read was a hit, so the cache
/// now holds the row (or its absence) and a write that does not invalidate it reads stale.
async fn prime(store: &GenericStore<Article>, manager: &CacheManager, id: &Uuid) -> Option<Record<Article>> {
    let first = store.get_by_id(id).await.unwrap();
    let before = Counts::of(manager);
    let second = store.get_by_id(id).await.unwrap();
    let delta = Counts::of(manager).since(before);
    assert_eq!(delta.hits, 1, "priming {id}: the second read was not answered by the cache: {delta:?}");
    assert_eq!(first, second, "priming {id}: the cached row differs from the one loaded");
    second
}

/// Reads `id` through the cache twice (the second read is answered by whatever the first one
/// filled) and checks both against the database.
async fn fresh(
    cached: &GenericStore<Article>,
    plain: &GenericStore<Article>,
    id: &Uuid,
    what: &str,
) -> Option<Record<Article>> {
    let read = cached.get_by_id(id).await.unwrap();
    let truth = plain.get_by_id(id).await.unwrap();
    assert_eq!(read, truth, "after {what}: stale read of {id} through the cache");
    let again = cached.get_by_id(id).await.unwrap();
    assert_eq!(again, truth, "after {what}: the cache was refilled with a stale row of {id}");
    truth
}

/// The counters of [`CacheStats`](storehaus::cache::CacheStats) this suite checks, as deltas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    hits: u64,
    misses: u64,
    errors: u64,
    timeouts: u64,
    fills: u64,
    stale_fills_refused: u64,
    invalidations: u64,
    invalidations_deferred: u64,
    joins: u64,
}

impl Counts {
    fn of(manager: &CacheManager) -> Counts {
        let s = manager.stats();
        Counts {
            hits: s.hits,
            misses: s.misses,
            errors: s.errors,
            timeouts: s.timeouts,
            fills: s.fills,
            stale_fills_refused: s.stale_fills_refused,
            invalidations: s.invalidations,
            invalidations_deferred: s.invalidations_deferred,
            joins: s.single_flight_joins,
        }
    }

    fn since(self, before: Counts) -> Counts {
        Counts {
            hits: self.hits - before.hits,
            misses: self.misses - before.misses,
            errors: self.errors - before.errors,
            timeouts: self.timeouts - before.timeouts,
            fills: self.fills - before.fills,
            stale_fills_refused: self.stale_fills_refused - before.stale_fills_refused,
            invalidations: self.invalidations - before.invalidations,
            invalidations_deferred: self.invalidations_deferred - before.invalidations_deferred,
            joins: self.joins - before.joins,
        }
    }
}

/// Declares the behaviours. Those of a store and its cache (`with_database`) run as
/// `on_redis::NAME` (on PostgreSQL) and `in_memory::NAME::postgres` / `in_memory::NAME::sqlite`;
/// those of the cache alone (`cache_only`) as `on_redis::NAME` and `in_memory::NAME`.
macro_rules! behaviours {
    (
        with_database: [$($behaviour:ident),* $(,)?],
        on_both_databases: [$($both:ident),* $(,)?],
        cache_only: [$($alone:ident),* $(,)?] $(,)?
    ) => {
        /// The Redis cache, on PostgreSQL (and on SQLite for `on_both_databases`).
        mod on_redis {
            use super::{Backend, TestDatabase};
            use storehaus_suite::run_on;
            $(
                mod $both {
                    use super::super::{Backend, TestDatabase, TestSqlite};
                    use storehaus_suite::run_on;

                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn postgres() {
                        run_on::<TestDatabase, _>(|db| super::super::$both(Backend::Redis, db)).await
                    }

                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn sqlite() {
                        run_on::<TestSqlite, _>(|db| super::super::$both(Backend::Redis, db)).await
                    }
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    run_on::<TestDatabase, _>(|db| super::$behaviour(Backend::Redis, db)).await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $alone() {
                    super::$alone(Backend::Redis).await
                }
            )*
        }
        /// The in-process cache, on each database backend.
        mod in_memory {
            $(
                mod $behaviour {
                    use super::super::{Backend, TestDatabase, TestSqlite};
                    use storehaus_suite::run_on;

                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn postgres() {
                        run_on::<TestDatabase, _>(|db| super::super::$behaviour(Backend::Memory, db)).await
                    }

                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn sqlite() {
                        run_on::<TestSqlite, _>(|db| super::super::$behaviour(Backend::Memory, db)).await
                    }
                }
            )*
            $(
                mod $both {
                    use super::super::{Backend, TestDatabase, TestSqlite};
                    use storehaus_suite::run_on;

                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn postgres() {
                        run_on::<TestDatabase, _>(|db| super::super::$both(Backend::Memory, db)).await
                    }

                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn sqlite() {
                        run_on::<TestSqlite, _>(|db| super::super::$both(Backend::Memory, db)).await
                    }
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $alone() {
                    super::$alone(super::Backend::Memory).await
                }
            )*
        }
    };
}

behaviours! {
    with_database: [
        miss_then_hit,
        cached_records_equal_stored_records,
        json_null_stays_json_null,
        non_finite_floats_are_cached,
        create_after_cached_absence,
        update,
        update_versioned,
        save,
        add_tags,
        remove_tags,
        set_tags,
        delete,
        restore,
        force_delete,
        update_where,
        delete_where,
        restore_where,
        force_delete_where,
        create_many,
        upsert_inserting,
        upsert_updating,
        upsert_many,
        update_many,
        delete_many,
        find_cached_sees_every_write,
        transaction_invalidates_on_commit,
        rollback_keeps_the_cached_row,
        savepoint_invalidates_with_the_outer_commit,
        find_cached_waits_for_the_commit,
        write_seen_by_another_pool_at_once,
        no_stale_reads_under_concurrent_writes,
        concurrent_misses_run_one_query,
        near_cache_sees_own_writes_at_once_and_others_soon,
    ],
    on_both_databases: [
        find_cached_keeps_no_query_text,
        oversized_rows_and_results_are_served_not_stored,
        decimal_keys_name_one_row,
        float_keys_name_one_row,
        timestamp_keys_name_one_row,
        composite_keys_name_one_row,
    ],
    cache_only: [claims_belong_to_their_owner_and_expire],
}

//! The read-through cache of `GenericStore` against real servers: PostgreSQL (a database per
//! test) and Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`, a key prefix per test).
//!
//! Each behaviour runs on both backends, as `on_redis::NAME` and `in_memory::NAME`. Every check
//! of a write primes the cache first (a read, then a second read that must be a hit), so an
//! invalidation that does not happen shows up as a stale read. The truth is always read through
//! a store without cache on the same database.
//!
//! The fault tests use Redis servers of their own: a port where nothing listens, and a private
//! `redis-server` that is killed and started again; the shared server is never touched.
//!
//! Without a reachable Redis the Redis tests print `*** SKIPPED`, or fail when `CI` or
//! `STOREHAUS_REQUIRE_SERVICES` is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use storehaus::cache::{CacheConfig, CacheManager, KeySpace};
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::pg;
use storehaus_suite::redis::{RedisServer, free_port, redis_url, unavailable, unique_prefix};

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
            Backend::Memory => Some(Arc::new(CacheManager::memory(1_000_000))),
            Backend::Redis => {
                let config = CacheConfig {
                    redis_url: redis_url(),
                    timeout_ms: 2000,
                    connection_timeout_ms: 2000,
                    ..CacheConfig::default()
                };
                let manager = CacheManager::new(config.clone())
                    .unwrap_or_else(|e| panic!("REDIS_URL {} is not usable: {e}", config.redacted_url()));
                if let Err(error) = manager.ping().await {
                    let why = format!("Redis at {} is unreachable: {error}", config.redacted_url());
                    return unavailable(test, &why);
                }
                Some(Arc::new(manager))
            }
        }
    }
}

/// Deletes the keys of one table under a test's prefix that never expire (the table's epoch and
/// generation) when dropped, passed or failed, so runs do not pile them up on the shared Redis.
struct Forget {
    manager: Arc<CacheManager>,
    keys: Vec<String>,
}

impl Forget {
    fn new(manager: &Arc<CacheManager>, prefix: &str, table: &str) -> Forget {
        let table = KeySpace::new(prefix).table(table);
        Forget { manager: manager.clone(), keys: vec![table.epoch_key(), table.generation_key()] }
    }
}

impl Drop for Forget {
    fn drop(&mut self) {
        if self.manager.backend().name() != "redis" {
            return;
        }
        let (manager, keys) = (self.manager.clone(), std::mem::take(&mut self.keys));
        // Drop cannot await, so the delete runs on a runtime of its own.
        let deleted = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            let delete = async { tokio::time::timeout(Duration::from_secs(2), manager.backend().delete(&keys)).await };
            match runtime.block_on(delete) {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("timed out".to_owned()),
            }
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!("could not delete the test's keys from Redis: {deleted:?}");
        }
    }
}

/// A database with the `articles` table, a cache manager, a cached store and an uncached one.
struct Ctx {
    storehaus: StoreHaus,
    manager: Arc<CacheManager>,
    cached: GenericStore<Article>,
    plain: GenericStore<Article>,
    _forget: Forget,
    // Last, so the database is dropped after the pools on it.
    _db: TestDatabase,
}

async fn setup(test: &str, backend: Backend) -> Option<Ctx> {
    let test = format!("{test}/{backend:?}");
    let manager = backend.manager(&test).await?;
    let db = TestDatabase::new().await?;
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Article>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let forget = Forget::new(&manager, &prefix, Article::TABLE.name);
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix);
    let cached = GenericStore::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::new(storehaus.pool().clone(), None, None);
    Some(Ctx { storehaus, manager, cached, plain, _forget: forget, _db: db })
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

/// Runs each behaviour once per backend: `on_redis::NAME` and `in_memory::NAME`.
macro_rules! on_both_backends {
    ($($behaviour:ident),* $(,)?) => {
        mod on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    super::$behaviour(super::Backend::Redis).await
                }
            )*
        }
        mod in_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    super::$behaviour(super::Backend::Memory).await
                }
            )*
        }
    };
}

on_both_backends!(
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
    write_seen_by_another_pool_at_once,
    no_stale_reads_under_concurrent_writes,
    concurrent_misses_run_one_query,
    claims_belong_to_their_owner_and_expire,
);

// ---------------------------------------------------------------------------------------------
// Reads

async fn miss_then_hit(backend: Backend) {
    let Some(ctx) = setup("miss_then_hit", backend).await else { return };
    let id = ctx.seed("read me", &["t"]).await;

    let before = Counts::of(&ctx.manager);
    let first = ctx.cached.get_by_id(&id).await.unwrap();
    let after_first = Counts::of(&ctx.manager);
    let second = ctx.cached.get_by_id(&id).await.unwrap();
    let after_second = Counts::of(&ctx.manager);
    assert_eq!(after_first.since(before), Counts { misses: 1, fills: 1, ..Counts::default() }, "first read");
    assert_eq!(after_second.since(after_first), Counts { hits: 1, ..Counts::default() }, "second read");
    let truth = ctx.plain.get_by_id(&id).await.unwrap();
    assert!(truth.is_some());
    assert_eq!((&first, &second), (&truth, &truth));

    // "No such row" is remembered too.
    let missing = Uuid::new_v4();
    let before = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&missing).await.unwrap(), None);
    let after_first = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&missing).await.unwrap(), None);
    let after_second = Counts::of(&ctx.manager);
    assert_eq!(after_first.since(before), Counts { misses: 1, fills: 1, ..Counts::default() }, "absent, first read");
    assert_eq!(after_second.since(after_first), Counts { hits: 1, ..Counts::default() }, "absent, second read");
}

/// Stores of `Specimen` on a database of its own: one through the cache, one without.
struct Specimens {
    manager: Arc<CacheManager>,
    cached: GenericStore<Specimen>,
    plain: GenericStore<Specimen>,
    _forget: Forget,
    _db: TestDatabase,
}

async fn specimens(test: &str, backend: Backend) -> Option<Specimens> {
    let test = format!("{test}/{backend:?}");
    let manager = backend.manager(&test).await?;
    let db = TestDatabase::new().await?;
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Specimen>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let forget = Forget::new(&manager, &prefix, Specimen::TABLE.name);
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix);
    let cached = GenericStore::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::new(storehaus.pool().clone(), None, None);
    Some(Specimens { manager, cached, plain, _forget: forget, _db: db })
}

fn specimen(id: i64, extra: Option<serde_json::Value>, note: Option<&str>) -> Specimen {
    Specimen {
        id,
        label: format!("spécimen: #{id} / ü"),
        price: Decimal::new(123_450, 3),
        ratio: 0.1 + 0.2,
        small: -7,
        born: NaiveDate::from_ymd_opt(1815, 12, 10).unwrap(),
        seen_at: DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap(),
        local: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().and_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
        flags: vec!["a".into(), String::new(), "c d".into()],
        raw: vec![0, 1, 254, 255],
        doc: Json(Settings { theme: "dark".into(), limits: vec![1, u32::MAX] }),
        extra,
        note: note.map(str::to_owned),
    }
}

impl Specimens {
    /// Stores `row`, reads it through the cache twice and returns the stored record, the two
    /// reads and the counters of the two reads.
    async fn round_trip(&self, row: Specimen) -> (Record<Specimen>, [Option<Record<Specimen>>; 2], Counts) {
        let id = row.id;
        self.plain.create(row, Some(owned(&["x", "y"]))).await.unwrap();
        let truth = self.plain.get_by_id(&id).await.unwrap().expect("created");
        let before = Counts::of(&self.manager);
        let loaded = self.cached.get_by_id(&id).await.unwrap();
        let cached = self.cached.get_by_id(&id).await.unwrap();
        (truth, [loaded, cached], Counts::of(&self.manager).since(before))
    }
}

async fn cached_records_equal_stored_records(backend: Backend) {
    let Some(s) = specimens("cached_records_equal_stored_records", backend).await else { return };
    let rows = [
        specimen(1, Some(json!({"nested": [1, 2.5, "x", null], "big": 9_007_199_254_740_993_i64})), Some("n")),
        specimen(-2, None, None),
        specimen(i64::MAX, Some(json!("text")), Some("")),
    ];
    for row in rows {
        let id = row.id;
        let (truth, [loaded, cached], delta) = s.round_trip(row).await;
        assert_eq!(loaded.as_ref(), Some(&truth), "row {id} as loaded");
        assert_eq!(cached.as_ref(), Some(&truth), "row {id} as cached");
        assert_eq!((delta.misses, delta.hits), (1, 1), "row {id}: the second read must come from the cache: {delta:?}");
    }
}

async fn json_null_stays_json_null(backend: Backend) {
    let Some(s) = specimens("json_null_stays_json_null", backend).await else { return };
    let (truth, [loaded, cached], delta) = s.round_trip(specimen(3, Some(serde_json::Value::Null), None)).await;
    assert_eq!(truth.extra, Some(serde_json::Value::Null), "the database keeps a JSON null apart from SQL NULL");
    assert_eq!(loaded.as_ref(), Some(&truth), "as loaded");
    assert_eq!(delta.hits, 1, "{delta:?}");
    assert_eq!(cached.map(|r| r.extra.clone()), Some(truth.extra.clone()), "as cached: JSON null became SQL NULL");
}

async fn non_finite_floats_are_cached(backend: Backend) {
    let Some(s) = specimens("non_finite_floats_are_cached", backend).await else { return };
    for (id, ratio) in [(4, f64::NAN), (5, f64::INFINITY), (6, f64::NEG_INFINITY)] {
        let (truth, [loaded, cached], delta) = s.round_trip(Specimen { ratio, ..specimen(id, None, None) }).await;
        assert_eq!(truth.ratio.to_bits(), ratio.to_bits());
        for read in [loaded, cached] {
            assert_eq!(read.map(|r| r.ratio.to_bits()), Some(ratio.to_bits()), "ratio {ratio}");
        }
        assert_eq!(
            (delta.misses, delta.hits),
            (1, 1),
            "a row with ratio {ratio} is never served from the cache: {delta:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Every write path, each followed by a read of the rows it wrote

async fn create_after_cached_absence(backend: Backend) {
    let Some(ctx) = setup("create", backend).await else { return };
    let data = article("new");
    let id = data.id;
    assert_eq!(ctx.prime(&id).await, None, "no row yet");
    ctx.cached.create(data, None).await.unwrap();
    assert_eq!(ctx.fresh(&id, "create").await.expect("the created row").title, "new");
}

async fn update(backend: Backend) {
    let Some(ctx) = setup("update", backend).await else { return };
    let id = ctx.seed("before", &[]).await;
    ctx.prime(&id).await.expect("seeded");
    ctx.cached.update(&id, titled(id, "after"), None).await.unwrap();
    assert_eq!(ctx.fresh(&id, "update").await.unwrap().title, "after");
}

async fn update_versioned(backend: Backend) {
    let Some(ctx) = setup("update_versioned", backend).await else { return };
    let id = ctx.seed("v1", &[]).await;
    let version = ctx.prime(&id).await.unwrap().version().expect("versioned table");
    ctx.cached.update_versioned(&id, titled(id, "v2"), None, version).await.unwrap();
    let read = ctx.fresh(&id, "update_versioned").await.unwrap();
    assert_eq!((read.title.as_str(), read.version()), ("v2", Some(version + 1)));
}

async fn save(backend: Backend) {
    let Some(ctx) = setup("save", backend).await else { return };
    let id = ctx.seed("loaded", &[]).await;
    let mut record = ctx.prime(&id).await.unwrap();
    record.title = "saved".to_owned();
    record.views = 42;
    ctx.cached.save(&record).await.unwrap();
    let read = ctx.fresh(&id, "save").await.unwrap();
    assert_eq!((read.title.as_str(), read.views), ("saved", 42));
}

async fn add_tags(backend: Backend) {
    let Some(ctx) = setup("add_tags", backend).await else { return };
    let id = ctx.seed("tagged", &["a"]).await;
    ctx.prime(&id).await.unwrap();
    ctx.cached.add_tags(&id, ["b"]).await.unwrap();
    assert_eq!(ctx.fresh(&id, "add_tags").await.unwrap().tags(), ["a", "b"]);
}

async fn remove_tags(backend: Backend) {
    let Some(ctx) = setup("remove_tags", backend).await else { return };
    let id = ctx.seed("tagged", &["a", "b"]).await;
    ctx.prime(&id).await.unwrap();
    ctx.cached.remove_tags(&id, ["a"]).await.unwrap();
    assert_eq!(ctx.fresh(&id, "remove_tags").await.unwrap().tags(), ["b"]);
}

async fn set_tags(backend: Backend) {
    let Some(ctx) = setup("set_tags", backend).await else { return };
    let id = ctx.seed("tagged", &["a", "b"]).await;
    ctx.prime(&id).await.unwrap();
    ctx.cached.set_tags(&id, ["x"]).await.unwrap();
    assert_eq!(ctx.fresh(&id, "set_tags").await.unwrap().tags(), ["x"]);
}

async fn delete(backend: Backend) {
    let Some(ctx) = setup("delete", backend).await else { return };
    let id = ctx.seed("doomed", &[]).await;
    ctx.prime(&id).await.unwrap();
    assert!(ctx.cached.delete(&id).await.unwrap());
    assert_eq!(ctx.fresh(&id, "delete").await, None);
    assert!(ctx.plain.get_by_id_with_deleted(&id).await.unwrap().unwrap().is_deleted(), "soft-deleted");
}

async fn restore(backend: Backend) {
    let Some(ctx) = setup("restore", backend).await else { return };
    let id = ctx.seed("back", &[]).await;
    assert!(ctx.plain.delete(&id).await.unwrap());
    assert_eq!(ctx.prime(&id).await, None, "deleted");
    ctx.cached.restore(&id).await.unwrap();
    assert!(!ctx.fresh(&id, "restore").await.expect("restored").is_deleted());
}

async fn force_delete(backend: Backend) {
    let Some(ctx) = setup("force_delete", backend).await else { return };
    let id = ctx.seed("gone", &[]).await;
    ctx.prime(&id).await.unwrap();
    assert!(ctx.cached.force_delete(&id).await.unwrap());
    assert_eq!(ctx.fresh(&id, "force_delete").await, None);
    assert_eq!(ctx.plain.get_by_id_with_deleted(&id).await.unwrap(), None, "removed for good");
}

async fn update_where(backend: Backend) {
    let Some(ctx) = setup("update_where", backend).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    let set = UpdateSet::new().set("title", json!("bulk")).increment("views", 5);
    assert_eq!(ctx.cached.update_where(matching(&ids), set).await.unwrap().len(), 3);
    for id in &ids {
        let read = ctx.fresh(id, "update_where").await.unwrap();
        assert_eq!((read.title.as_str(), read.views), ("bulk", 5));
    }
}

async fn delete_where(backend: Backend) {
    let Some(ctx) = setup("delete_where", backend).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    assert_eq!(ctx.cached.delete_where(matching(&ids)).await.unwrap(), 3);
    for id in &ids {
        assert_eq!(ctx.fresh(id, "delete_where").await, None);
    }
}

async fn restore_where(backend: Backend) {
    let Some(ctx) = setup("restore_where", backend).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    assert_eq!(ctx.plain.delete_many(ids.clone()).await.unwrap(), 3);
    for id in &ids {
        assert_eq!(ctx.prime(id).await, None, "deleted");
    }
    assert_eq!(ctx.cached.restore_where(matching(&ids).only_deleted()).await.unwrap().len(), 3);
    for id in &ids {
        assert!(ctx.fresh(id, "restore_where").await.is_some(), "restored");
    }
}

async fn force_delete_where(backend: Backend) {
    let Some(ctx) = setup("force_delete_where", backend).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    assert_eq!(ctx.cached.force_delete_where(matching(&ids).with_deleted()).await.unwrap(), 3);
    for id in &ids {
        assert_eq!(ctx.fresh(id, "force_delete_where").await, None);
    }
}

async fn create_many(backend: Backend) {
    let Some(ctx) = setup("create_many", backend).await else { return };
    let data: Vec<Article> = ["a", "b", "c"].into_iter().map(article).collect();
    let ids: Vec<Uuid> = data.iter().map(|a| a.id).collect();
    for id in &ids {
        assert_eq!(ctx.prime(id).await, None);
    }
    assert_eq!(ctx.cached.create_many(data, None).await.unwrap().len(), 3);
    for id in &ids {
        assert!(ctx.fresh(id, "create_many").await.is_some());
    }

    // More rows than one statement holds: the call commits a transaction of its own first.
    let data: Vec<Article> = (0..5_001).map(|i| article(&format!("row {i}"))).collect();
    let (first, last) = (data[0].id, data[5_000].id);
    assert_eq!(ctx.prime(&first).await, None);
    assert_eq!(ctx.prime(&last).await, None);
    assert_eq!(ctx.cached.create_many(data, None).await.unwrap().len(), 5_001);
    assert!(ctx.fresh(&first, "create_many in chunks").await.is_some());
    assert!(ctx.fresh(&last, "create_many in chunks").await.is_some());
}

async fn upsert_inserting(backend: Backend) {
    let Some(ctx) = setup("upsert_inserting", backend).await else { return };
    let data = article("inserted");
    let id = data.id;
    assert_eq!(ctx.prime(&id).await, None);
    ctx.cached.upsert(data, None).await.unwrap();
    assert_eq!(ctx.fresh(&id, "upsert (insert)").await.unwrap().title, "inserted");
}

async fn upsert_updating(backend: Backend) {
    let Some(ctx) = setup("upsert_updating", backend).await else { return };
    let id = ctx.seed("before", &[]).await;
    ctx.prime(&id).await.unwrap();
    ctx.cached.upsert(titled(id, "upserted"), None).await.unwrap();
    assert_eq!(ctx.fresh(&id, "upsert (update)").await.unwrap().title, "upserted");
}

async fn upsert_many(backend: Backend) {
    let Some(ctx) = setup("upsert_many", backend).await else { return };
    let existing = ctx.seed("before", &[]).await;
    let new = Uuid::new_v4();
    ctx.prime(&existing).await.unwrap();
    assert_eq!(ctx.prime(&new).await, None);
    let written = ctx.cached.upsert_many(vec![titled(existing, "updated"), titled(new, "inserted")], None).await;
    assert_eq!(written.unwrap().len(), 2);
    assert_eq!(ctx.fresh(&existing, "upsert_many (update)").await.unwrap().title, "updated");
    assert_eq!(ctx.fresh(&new, "upsert_many (insert)").await.unwrap().title, "inserted");
}

async fn update_many(backend: Backend) {
    let Some(ctx) = setup("update_many", backend).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    let items = ids.iter().map(|id| (*id, titled(*id, &format!("many {id}")))).collect();
    assert_eq!(ctx.cached.update_many(items).await.unwrap().len(), 3);
    for id in &ids {
        assert_eq!(ctx.fresh(id, "update_many").await.unwrap().title, format!("many {id}"));
    }
}

async fn delete_many(backend: Backend) {
    let Some(ctx) = setup("delete_many", backend).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    assert_eq!(ctx.cached.delete_many(ids.clone()).await.unwrap(), 3);
    for id in &ids {
        assert_eq!(ctx.fresh(id, "delete_many").await, None);
    }
}

async fn find_cached_sees_every_write(backend: Backend) {
    let Some(ctx) = setup("find_cached_sees_every_write", backend).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    let query = || matching(&ids).order_by("title", SortOrder::Asc);
    let titles = |records: Vec<Record<Article>>| records.iter().map(|r| r.title.clone()).collect::<Vec<_>>();
    let check = async |what: &str| {
        let cached = ctx.cached.find_cached(query()).await.unwrap();
        let truth = ctx.plain.find(query()).await.unwrap();
        assert_eq!(cached, truth, "after {what}: stale query result");
        let before = Counts::of(&ctx.manager);
        assert_eq!(ctx.cached.find_cached(query()).await.unwrap(), truth, "after {what}: stale refill");
        assert_eq!(Counts::of(&ctx.manager).since(before).hits, 1, "after {what}: the result was not cached");
        titles(truth)
    };

    assert_eq!(check("seeding").await, ["a", "b", "c"]);
    ctx.cached.update(&ids[0], titled(ids[0], "z"), None).await.unwrap();
    assert_eq!(check("update").await, ["b", "c", "z"]);
    ctx.cached.delete(&ids[1]).await.unwrap();
    assert_eq!(check("delete").await, ["c", "z"]);
    ctx.cached.update_where(matching(&ids[2..]), UpdateSet::new().set("title", json!("y"))).await.unwrap();
    assert_eq!(check("update_where").await, ["y", "z"]);
    ctx.cached.force_delete_where(matching(&ids[..1]).with_deleted()).await.unwrap();
    assert_eq!(check("force_delete_where").await, ["y"]);
}

// ---------------------------------------------------------------------------------------------
// Transactions

async fn transaction_invalidates_on_commit(backend: Backend) {
    let Some(ctx) = setup("transaction_invalidates_on_commit", backend).await else { return };
    let id = ctx.seed("before", &[]).await;
    ctx.prime(&id).await.unwrap();

    let tx = ctx.storehaus.begin().await.unwrap();
    let in_tx = ctx.cached.with_transaction(&tx);
    in_tx.update(&id, titled(id, "committed"), None).await.unwrap();
    in_tx.add_tags(&id, ["tx"]).await.unwrap();
    assert_eq!(in_tx.get_by_id(&id).await.unwrap().unwrap().title, "committed", "the transaction reads its writes");
    // Until the commit, others keep reading the committed row, from the cache.
    let before = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&id).await.unwrap().unwrap().title, "before");
    let delta = Counts::of(&ctx.manager).since(before);
    assert_eq!((delta.hits, delta.invalidations), (1, 0), "nothing is invalidated before the commit: {delta:?}");

    tx.commit().await.unwrap();
    let read = ctx.fresh(&id, "commit").await.unwrap();
    assert_eq!((read.title.as_str(), read.tags()), ("committed", &["tx".to_owned()][..]));

    // The closure form commits the same way.
    ctx.prime(&id).await.unwrap();
    let store = ctx.cached.clone();
    ctx.storehaus
        .transaction(|tx| async move { store.with_transaction(&tx).update(&id, titled(id, "closure"), None).await })
        .await
        .unwrap();
    assert_eq!(ctx.fresh(&id, "a committed transaction closure").await.unwrap().title, "closure");

    // A batch inside a transaction waits for the commit as well.
    ctx.prime(&id).await.unwrap();
    let tx = ctx.storehaus.begin().await.unwrap();
    assert_eq!(ctx.cached.with_transaction(&tx).delete_many(vec![id]).await.unwrap(), 1);
    assert!(ctx.cached.get_by_id(&id).await.unwrap().is_some(), "not committed yet");
    tx.commit().await.unwrap();
    assert_eq!(ctx.fresh(&id, "delete_many in a transaction").await, None);
}

async fn rollback_keeps_the_cached_row(backend: Backend) {
    let Some(ctx) = setup("rollback_keeps_the_cached_row", backend).await else { return };
    let id = ctx.seed("kept", &[]).await;
    let primed = ctx.prime(&id).await.unwrap();

    let tx = ctx.storehaus.begin().await.unwrap();
    let in_tx = ctx.cached.with_transaction(&tx);
    in_tx.update(&id, titled(id, "rolled back"), None).await.unwrap();
    in_tx.set_tags(&id, ["rolled back"]).await.unwrap();
    tx.rollback().await.unwrap();

    let before = Counts::of(&ctx.manager);
    let read = ctx.cached.get_by_id(&id).await.unwrap();
    let delta = Counts::of(&ctx.manager).since(before);
    assert_eq!(read.as_ref(), Some(&primed), "the old row, still");
    assert_eq!(delta, Counts { hits: 1, ..Counts::default() }, "still a hit, nothing invalidated");

    // A closure that fails rolls back too.
    let store = ctx.cached.clone();
    let failed = ctx
        .storehaus
        .transaction(|tx| async move {
            store.with_transaction(&tx).update(&id, titled(id, "rolled back"), None).await?;
            Err::<(), _>(StoreError::validation("title", "rejected"))
        })
        .await;
    assert!(failed.is_err());
    let before = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&id).await.unwrap().as_ref(), Some(&primed));
    assert_eq!(Counts::of(&ctx.manager).since(before), Counts { hits: 1, ..Counts::default() });
    assert_eq!(ctx.plain.get_by_id(&id).await.unwrap().as_ref(), Some(&primed), "the database agrees");
}

// ---------------------------------------------------------------------------------------------
// Two processes: two pools (and, on Redis, two managers) sharing one key prefix

async fn write_seen_by_another_pool_at_once(backend: Backend) {
    let test = format!("write_seen_by_another_pool_at_once/{backend:?}");
    let Some(manager_a) = backend.manager(&test).await else { return };
    // The in-memory cache cannot be shared between managers, so both pools share one there.
    let manager_b = match backend {
        Backend::Redis => match backend.manager(&test).await {
            Some(manager) => manager,
            None => return,
        },
        Backend::Memory => manager_a.clone(),
    };
    let Some(db) = TestDatabase::new().await else { return };
    let (haus_a, haus_b) = (db.storehaus().await, db.storehaus().await);
    haus_a.auto_migrate::<Article>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&manager_a, &prefix, Article::TABLE.name);
    let a = GenericStore::<Article>::new(
        haus_a.pool().clone(),
        None,
        Some(CacheParams::new(manager_a, TTL_SECONDS, prefix.clone())),
    );
    let b = GenericStore::<Article>::new(
        haus_b.pool().clone(),
        None,
        Some(CacheParams::new(manager_b.clone(), TTL_SECONDS, prefix)),
    );
    let plain = GenericStore::<Article>::new(haus_b.pool().clone(), None, None);

    let data = article("created by a");
    let id = data.id;
    assert_eq!(prime(&b, &manager_b, &id).await, None);
    a.create(data, None).await.unwrap();
    assert_eq!(fresh(&b, &plain, &id, "a create through the other pool").await.unwrap().title, "created by a");

    prime(&b, &manager_b, &id).await.unwrap();
    a.update(&id, titled(id, "updated by a"), None).await.unwrap();
    assert_eq!(fresh(&b, &plain, &id, "an update through the other pool").await.unwrap().title, "updated by a");

    prime(&b, &manager_b, &id).await.unwrap();
    a.add_tags(&id, ["a"]).await.unwrap();
    assert_eq!(fresh(&b, &plain, &id, "add_tags through the other pool").await.unwrap().tags(), ["a"]);

    prime(&b, &manager_b, &id).await.unwrap();
    assert!(a.delete(&id).await.unwrap());
    assert_eq!(fresh(&b, &plain, &id, "a delete through the other pool").await, None);
}

// ---------------------------------------------------------------------------------------------
// Concurrency

async fn no_stale_reads_under_concurrent_writes(backend: Backend) {
    const KEYS: usize = 50;
    const READERS: usize = 8;
    const WRITERS: usize = 2;
    const RUN: Duration = Duration::from_secs(5);
    let Some(ctx) = setup("no_stale_reads_under_concurrent_writes", backend).await else { return };
    let rows: Vec<Article> = (0..KEYS).map(|i| article(&format!("key {i}"))).collect();
    let ids: Arc<Vec<Uuid>> = Arc::new(rows.iter().map(|a| a.id).collect());
    ctx.plain.create_many(rows, None).await.unwrap();
    // The counter each key's latest returned update wrote; a read that starts later must see it.
    let published: Arc<Vec<AtomicI64>> = Arc::new((0..KEYS).map(|_| AtomicI64::new(0)).collect());
    let before = Counts::of(&ctx.manager);
    let stop = Instant::now() + RUN;

    // Each key has one writer, so its counter only goes up.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, ids, published) = (ctx.cached.clone(), ids.clone(), published.clone());
            tokio::spawn(async move {
                let mine: Vec<usize> = (w..KEYS).step_by(WRITERS).collect();
                let mut counters = vec![0i64; KEYS];
                let mut writes = 0u64;
                for &k in mine.iter().cycle() {
                    if Instant::now() >= stop {
                        break;
                    }
                    counters[k] += 1;
                    let data = Article { id: ids[k], title: format!("key {k}"), views: counters[k] };
                    store.update(&ids[k], data, None).await.unwrap();
                    published[k].store(counters[k], Ordering::SeqCst);
                    writes += 1;
                }
                writes
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (store, ids, published) = (ctx.cached.clone(), ids.clone(), published.clone());
            tokio::spawn(async move {
                let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (r as u64 + 1);
                let (mut reads, mut stale) = (0u64, Vec::new());
                while Instant::now() < stop {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let k = (state % KEYS as u64) as usize;
                    let floor = published[k].load(Ordering::SeqCst);
                    let read = store.get_by_id(&ids[k]).await.unwrap().expect("rows are never deleted here");
                    if read.views < floor {
                        stale.push((k, floor, read.views));
                    }
                    reads += 1;
                    // An in-memory hit never suspends; without this the readers would keep every
                    // worker thread and starve the writers.
                    tokio::task::yield_now().await;
                }
                (reads, stale)
            })
        })
        .collect();

    let mut writes = 0;
    for writer in writers {
        writes += writer.await.unwrap();
    }
    let (mut reads, mut stale) = (0, Vec::new());
    for reader in readers {
        let (n, found) = reader.await.unwrap();
        reads += n;
        stale.extend(found);
    }
    let delta = Counts::of(&ctx.manager).since(before);
    eprintln!("{backend:?}: {reads} reads and {writes} writes in {RUN:?}, {} stale; {delta:?}", stale.len());
    assert!(
        stale.is_empty(),
        "{} stale reads (key, published, read), first ones: {:?}",
        stale.len(),
        &stale[..10.min(stale.len())]
    );
    assert!(reads > 1_000 && writes > 100, "too little ran to tell: {reads} reads, {writes} writes");
    assert!(delta.hits > 0, "the readers never hit the cache: {delta:?}");
    for (k, id) in ids.iter().enumerate() {
        let read = ctx.cached.get_by_id(id).await.unwrap().unwrap();
        assert_eq!(read.views, published[k].load(Ordering::SeqCst), "key {k} after the run");
    }
}

async fn concurrent_misses_run_one_query(backend: Backend) {
    const CALLERS: usize = 100;
    const POOL_SIZE: u32 = 2;
    let test = format!("concurrent_misses_run_one_query/{backend:?}");
    let Some(manager) = backend.manager(&test).await else { return };
    let Some(db) = TestDatabase::new().await else { return };
    // A pool of its own, small, so every connection that may have run the load can be made to
    // publish its statistics.
    let config = DatabaseConfig { max_connections: POOL_SIZE, min_connections: 0, ..db.config().clone() };
    let loads = StoreHaus::new(config).await.unwrap();
    let observer = db.storehaus().await;
    loads.auto_migrate::<Article>(false).await.unwrap();
    let plain = GenericStore::<Article>::new(loads.pool().clone(), None, None);
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&manager, &prefix, Article::TABLE.name);
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix);
    let cached = GenericStore::<Article>::new(loads.pool().clone(), None, Some(params));
    let row = plain.create(article("cold"), None).await.unwrap();
    let id = row.id;

    // Whether the catalog counts what ran: three uncached reads must show as three scans.
    let base = scans(&loads, &observer, POOL_SIZE).await;
    for _ in 0..3 {
        plain.get_by_id(&id).await.unwrap();
    }
    let calibration = scans(&loads, &observer, POOL_SIZE).await - base;

    let before_stats = Counts::of(&manager);
    let before_scans = scans(&loads, &observer, POOL_SIZE).await;
    let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (store, start) = (cached.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.get_by_id(&id).await
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap().as_ref(), Some(&row));
    }
    let loads_run = scans(&loads, &observer, POOL_SIZE).await - before_scans;
    let delta = Counts::of(&manager).since(before_stats);
    eprintln!("{backend:?}: {loads_run} table scans for {CALLERS} callers (calibration {calibration}/3); {delta:?}");

    assert_eq!(delta.fills, 1, "one load filled the cache: {delta:?}");
    assert_eq!(delta.hits + delta.joins, CALLERS as u64 - 1, "every other caller hit or joined: {delta:?}");
    if calibration == 3 {
        assert_eq!(loads_run, 1, "{CALLERS} concurrent misses ran {loads_run} queries");
    } else {
        eprintln!("pg_stat_user_tables counted {calibration} scans for 3 reads: not reliable here, not checked");
    }
}

/// Index and sequential scans of `articles` so far, after making every connection of the pool
/// of `loads` publish its pending statistics.
async fn scans(loads: &StoreHaus, observer: &StoreHaus, pool_size: u32) -> i64 {
    let mut held = Vec::new();
    for _ in 0..pool_size {
        let mut conn = pg(loads).acquire().await.unwrap();
        sqlx::query("SELECT pg_stat_force_next_flush()").execute(&mut *conn).await.unwrap();
        // The flush happens before the server reports itself ready, which this waits for.
        sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap();
        held.push(conn);
    }
    drop(held);
    let mut conn = pg(observer).acquire().await.unwrap();
    sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&mut *conn).await.unwrap();
    sqlx::query_scalar(
        "SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'articles'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Claims

async fn claims_belong_to_their_owner_and_expire(backend: Backend) {
    let test = format!("claims_belong_to_their_owner_and_expire/{backend:?}");
    let Some(manager) = backend.manager(&test).await else { return };
    let key = KeySpace::new(unique_prefix(&test)).claim("nightly");
    let ttl = Duration::from_millis(600);

    // B held the key once; its claim ran out and A took the key.
    let old = manager.claim(&key, "worker-b", Duration::from_millis(100)).await.unwrap().expect("a free key");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = manager.claim(&key, "worker-a", ttl).await.unwrap().expect("B's claim expired");
    assert_eq!(manager.claim(&key, "worker-b", ttl).await.unwrap(), None, "A holds it");
    assert!(!manager.release(&old).await.unwrap(), "B cannot release A's claim");
    assert!(!manager.extend(&old, ttl).await.unwrap(), "nor extend it");
    assert_eq!(manager.claim_owner(&key).await.unwrap().as_deref(), Some("worker-a"));

    // A never releases it: it frees itself after its TTL.
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    assert_eq!(manager.claim_owner(&key).await.unwrap(), None, "expired");
    assert!(!manager.release(&held).await.unwrap(), "an expired claim is not held");
    let again = manager.claim(&key, "worker-b", ttl).await.unwrap().expect("free after the TTL");
    assert!(manager.release(&again).await.unwrap());
    assert_eq!(manager.claim_owner(&key).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// Redis unreachable, or gone and back: every store call still succeeds

/// The cache's bound per command in the fault tests.
const FAULT_TIMEOUT: Duration = Duration::from_millis(200);
/// What one store call may spend in PostgreSQL, on a loaded machine.
const DATABASE_ALLOWANCE: Duration = Duration::from_millis(1500);

fn fault_config(url: String) -> CacheConfig {
    let timeout_ms = FAULT_TIMEOUT.as_millis() as u64;
    CacheConfig {
        redis_url: url,
        timeout_ms,
        connection_timeout_ms: timeout_ms,
        reconnect_max_delay_ms: 400,
        ..CacheConfig::default()
    }
}

/// Runs one store call, checking it stays within the cache timeout plus database time.
async fn bounded<R>(slowest: &mut Duration, what: &str, call: impl Future<Output = R>) -> R {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    assert!(took < FAULT_TIMEOUT + DATABASE_ALLOWANCE, "{what} took {took:?} while Redis was unreachable");
    *slowest = (*slowest).max(took);
    result
}

/// One round of CRUD calls through `cached`, each checked against the database; returns how
/// many calls ran.
async fn crud_round(cached: &GenericStore<Article>, plain: &GenericStore<Article>, slowest: &mut Duration) -> u64 {
    let data = article("round");
    let id = data.id;
    let created = bounded(slowest, "create", cached.create(data, Some(owned(&["t"])))).await.unwrap();
    let read = bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
    assert_eq!(read.as_ref(), Some(&created));
    bounded(slowest, "update", cached.update(&id, titled(id, "updated"), None)).await.unwrap();
    let read = bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
    assert_eq!(read, plain.get_by_id(&id).await.unwrap());
    assert_eq!(read.unwrap().title, "updated");
    bounded(slowest, "add_tags", cached.add_tags(&id, ["u"])).await.unwrap();
    assert!(bounded(slowest, "delete", cached.delete(&id)).await.unwrap());
    assert_eq!(bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap(), None);
    bounded(slowest, "restore", cached.restore(&id)).await.unwrap();
    let read = bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
    assert_eq!(read.map(|r| r.tags().to_vec()), Some(owned(&["t", "u"])));
    assert!(bounded(slowest, "force_delete", cached.force_delete(&id)).await.unwrap());
    assert_eq!(bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap(), None);
    11
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_redis_fails_open() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Article>(false).await.unwrap();
    let url = format!("redis://127.0.0.1:{}", free_port());
    let manager = Arc::new(CacheManager::new(fault_config(url)).unwrap());
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, unique_prefix("unreachable_redis_fails_open"));
    let cached = GenericStore::<Article>::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::<Article>::new(storehaus.pool().clone(), None, None);

    let started = Instant::now();
    let (mut calls, mut slowest) = (0, Duration::ZERO);
    while started.elapsed() < Duration::from_secs(2) {
        calls += crud_round(&cached, &plain, &mut slowest).await;
    }
    let stats = manager.stats();
    eprintln!("{calls} store calls in {:?}, slowest {slowest:?}; {stats:?}", started.elapsed());
    assert!(stats.errors + stats.timeouts > 0, "the failures are counted: {stats:?}");
    assert_eq!((stats.hits, stats.fills), (0, 0), "{stats:?}");
    assert!(stats.invalidations_deferred > 0, "failed invalidations are queued: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_redis_is_used_again_by_the_same_store() {
    const TEST: &str = "restarted_redis_is_used_again_by_the_same_store";
    let mut server = match RedisServer::start(free_port()) {
        Ok(server) => server,
        Err(why) => return unavailable(TEST, &why).unwrap_or(()),
    };
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Article>(false).await.unwrap();
    let manager = Arc::new(CacheManager::new(fault_config(server.url())).unwrap());
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, unique_prefix(TEST));
    let cached = GenericStore::<Article>::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::<Article>::new(storehaus.pool().clone(), None, None);
    let id = plain.create(article("survivor"), None).await.unwrap().id;
    prime(&cached, &manager, &id).await.unwrap();

    // Down: every call still succeeds, and the failures are counted.
    server.stop();
    let before = manager.stats();
    let down = Instant::now();
    let (mut calls, mut slowest) = (0, Duration::ZERO);
    while down.elapsed() < Duration::from_secs(2) {
        calls += crud_round(&cached, &plain, &mut slowest).await;
        let read = bounded(&mut slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
        assert_eq!(read, plain.get_by_id(&id).await.unwrap());
        calls += 1;
    }
    let during = manager.stats();
    eprintln!("down {:?}: {calls} store calls, slowest {slowest:?}; {during:?}", down.elapsed());
    assert!(during.errors + during.timeouts > before.errors + before.timeouts, "failures are counted");
    assert_eq!(during.hits, before.hits, "nothing is served from a cache that is down");

    // Back on the same port, empty: the same store fills and hits again.
    server.restart().expect("restart redis-server on its port");
    let back = Instant::now();
    loop {
        let hits = manager.stats().hits;
        let read = cached.get_by_id(&id).await.unwrap();
        assert_eq!(read, plain.get_by_id(&id).await.unwrap());
        if manager.stats().hits > hits {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(10), "no hit within 10 s of the restart: {:?}", manager.stats());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("first hit {:?} after the restart", back.elapsed());
    // And writes invalidate again.
    prime(&cached, &manager, &id).await.unwrap();
    cached.update(&id, titled(id, "after the restart"), None).await.unwrap();
    assert_eq!(fresh(&cached, &plain, &id, "an update after the restart").await.unwrap().title, "after the restart");
}

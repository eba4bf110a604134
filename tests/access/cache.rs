//! The read-through cache under scopes, on Redis and in memory: a row cached for one principal or
//! tenant is never handed to another, a miss of one does not hide the row from the other, and
//! `find_cached` results are kept per scope.

use super::support::*;
use super::*;
use storehaus::cache::CacheManager;
use storehaus_suite::TestBackend;
use storehaus_suite::redis::{KeyCleanup, keys_under, shared_manager, unique_prefix};

#[derive(Debug, Clone, Copy)]
enum Cache {
    Redis,
    Memory,
}

/// The suite's tables with cached stores (`projects`, `notes`) and the cache's manager.
struct Cached {
    env: Env,
    manager: Arc<CacheManager>,
    prefix: String,
    projects: GenericStore<Project>,
    notes: GenericStore<Note>,
    /// Deletes the test's Redis keys when dropped.
    _cleanup: Option<KeyCleanup>,
}

async fn cached<B: TestBackend>(test: &str, cache: Cache, db: &B) -> Option<Cached> {
    let test = format!("access/{test}/{cache:?}/{}", B::NAME);
    let manager = match cache {
        Cache::Memory => Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap()),
        Cache::Redis => Arc::new(shared_manager(&test).await?),
    };
    let env = env(db).await;
    let prefix = unique_prefix(&test);
    let cleanup = matches!(cache, Cache::Redis).then(|| KeyCleanup::new(prefix.clone()));
    let params = CacheParams::new(manager.clone(), 300, prefix.clone());
    let pool = env.storehaus.pool().clone();
    Some(Cached {
        projects: GenericStore::new(pool.clone(), None, Some(params.clone())),
        notes: GenericStore::new(pool, None, Some(params)),
        env,
        manager,
        prefix,
        _cleanup: cleanup,
    })
}

impl Cached {
    fn hits(&self) -> u64 {
        self.manager.stats().hits
    }

    /// Reads `id` as `store` twice and checks that the second read came from the cache.
    async fn primed<T: Model + PartialEq + std::fmt::Debug>(&self, store: &GenericStore<T>, id: &T::Key) -> Record<T> {
        let first = store.get_by_id(id).await.unwrap().expect("the owner sees its row");
        let hits = self.hits();
        let second = store.get_by_id(id).await.unwrap();
        assert_eq!(self.hits(), hits + 1, "the second read was not answered by the cache");
        assert_eq!(second.as_ref(), Some(&first));
        if self.manager.backend().name() == "redis" {
            assert!(!keys_under(&self.manager, &storehaus_suite::redis::encoded_prefix(&self.prefix)).await.is_empty());
        }
        first
    }
}

/// A row cached for `user_a` is `None` for `user_b`, however often asked, and a miss of
/// `user_b` cached first does not hide the row from `user_a`.
async fn principals_do_not_share_cached_rows<B: TestBackend>(cache: Cache, db: B) {
    let Some(c) = cached("principals", cache, &db).await else { return };
    let sh = &c.env.storehaus;
    let (a, b) = (c.projects.auth("user_a"), c.projects.auth("user_b"));
    let id = a.create(project("cached", 1), None).await.unwrap().id;
    let row = raw_row(sh, "projects", &id).await;
    c.primed(&a, &id).await;
    for _ in 0..2 {
        assert_eq!(b.get_by_id(&id).await.unwrap(), None, "user_b was handed user_a's cached row");
    }
    assert!(a.get_by_id(&id).await.unwrap().is_some());
    assert_eq!(c.projects.auth_any(["user_c", "user_a"]).get_by_id(&id).await.unwrap().map(|r| r.id), Some(id));

    // user_b asks first this time.
    let other = a.create(project("second", 2), None).await.unwrap().id;
    for _ in 0..2 {
        assert_eq!(b.get_by_id(&other).await.unwrap(), None);
    }
    assert_eq!(a.get_by_id(&other).await.unwrap().map(|r| r.id), Some(other), "user_b's miss hid the row from user_a");
    assert_eq!(raw_row(sh, "projects", &id).await, row, "reads changed the row");
}

/// `grant` and `revoke` reach readers through the cache at once.
async fn grants_invalidate_cached_rows<B: TestBackend>(cache: Cache, db: B) {
    let Some(c) = cached("grants", cache, &db).await else { return };
    let (a, b) = (c.projects.auth("user_a"), c.projects.auth("user_b"));
    let id = a.create(project("shared", 1), None).await.unwrap().id;
    c.primed(&a, &id).await;
    assert_eq!(b.get_by_id(&id).await.unwrap(), None);
    a.grant(&id, "user_b").await.unwrap();
    assert_eq!(b.get_by_id(&id).await.unwrap().map(|r| r.id), Some(id), "a stale cached row hid the grant");
    c.primed(&b, &id).await;
    a.revoke(&id, "user_b").await.unwrap();
    assert_eq!(b.get_by_id(&id).await.unwrap(), None, "a stale cached row outlived the revoke");
    assert_eq!(stored_principals(&c.env.storehaus, "projects", &id).await, Some(strings(&["user_a"])));
}

/// A note cached for tenant `acme` is `None` for tenant `globex`, both ways round.
async fn tenants_do_not_share_cached_rows<B: TestBackend>(cache: Cache, db: B) {
    let Some(c) = cached("tenants", cache, &db).await else { return };
    let (acme, globex) = (c.notes.tenant("acme".to_owned()), c.notes.tenant("globex".to_owned()));
    acme.create(note(1, "acme", "a"), None).await.unwrap();
    acme.create(note(2, "acme", "b"), None).await.unwrap();
    c.primed(&acme, &1).await;
    for _ in 0..2 {
        assert_eq!(globex.get_by_id(&1).await.unwrap(), None, "globex was handed acme's cached note");
        assert_eq!(globex.get_by_id(&2).await.unwrap(), None);
    }
    assert_eq!(acme.get_by_id(&2).await.unwrap().map(|n| n.id), Some(2), "globex's miss hid the note from acme");
    assert_eq!(stored_text(&c.env.storehaus, "notes", "org", &1_i64).await.as_deref(), Some("acme"));
}

/// The same `find_cached` query gives each scope its own rows.
async fn find_cached_is_kept_per_scope<B: TestBackend>(cache: Cache, db: B) {
    let Some(c) = cached("find_cached", cache, &db).await else { return };
    let (a, b) = (c.projects.auth("user_a"), c.projects.auth("user_b"));
    let mine = a.create(project("a", 1), None).await.unwrap().id;
    let theirs = b.create(project("b", 2), None).await.unwrap().id;
    let query = || QueryBuilder::new().order_by("stars", SortOrder::Asc);
    let ids = |records: Vec<Record<Project>>| records.into_iter().map(|r| r.id).collect::<Vec<_>>();
    for _ in 0..2 {
        assert_eq!(ids(a.find_cached(query()).await.unwrap()), [mine]);
        assert_eq!(ids(b.find_cached(query()).await.unwrap()), [theirs], "user_b got user_a's cached result");
    }
    let both = c.projects.auth_any(["user_a", "user_b"]);
    assert_eq!(ids(both.find_cached(query()).await.unwrap()), [mine, theirs]);
    assert_eq!(ids(c.projects.unrestricted().find_cached(query()).await.unwrap()), [mine, theirs]);
    assert_eq!(ids(a.find_cached(query()).await.unwrap()), [mine]);

    let (acme, globex) = (c.notes.tenant("acme".to_owned()), c.notes.tenant("globex".to_owned()));
    acme.create(note(1, "acme", "a"), None).await.unwrap();
    globex.create(note(2, "globex", "g"), None).await.unwrap();
    let note_ids = |records: Vec<Record<Note>>| records.into_iter().map(|n| n.id).collect::<Vec<_>>();
    for _ in 0..2 {
        assert_eq!(note_ids(acme.find_cached(QueryBuilder::new()).await.unwrap()), [1]);
        assert_eq!(note_ids(globex.find_cached(QueryBuilder::new()).await.unwrap()), [2]);
    }
}

/// Each behaviour on Redis and in memory, each on PostgreSQL and on SQLite.
macro_rules! on_both_caches {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::Cache;
            use storehaus::testing::{TestDatabase, TestSqlite};
            use storehaus_suite::run_on;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis_postgres() {
                run_on::<TestDatabase, _>(|db| super::$name(Cache::Redis, db)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis_sqlite() {
                run_on::<TestSqlite, _>(|db| super::$name(Cache::Redis, db)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory_postgres() {
                run_on::<TestDatabase, _>(|db| super::$name(Cache::Memory, db)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory_sqlite() {
                run_on::<TestSqlite, _>(|db| super::$name(Cache::Memory, db)).await
            }
        }
    )*};
}

on_both_caches!(
    principals_do_not_share_cached_rows,
    grants_invalidate_cached_rows,
    tenants_do_not_share_cached_rows,
    find_cached_is_kept_per_scope,
);

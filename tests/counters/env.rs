//! The two environments the suite runs in: Redis with PostgreSQL, the memory cache with SQLite.
//!
//! On Redis every test has a prefix of its own (tests share the server, and a sync hands over
//! every buffer under its prefix); a probe manager on the same storage reads the buffers back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use storehaus::cache::{BufferState, CacheConfig, CacheManager, MemoryBackend};
use storehaus::counters::{Counters, CountersBuilder};
use storehaus::prelude::*;
use storehaus_suite::TestBackend;
use storehaus_suite::redis::{redis_url, shared_manager};

/// Where the buffers live; every [`CacheSource::manager`] is a new manager on the same storage.
#[derive(Debug, Clone)]
pub enum CacheSource {
    /// A Redis server, by its settings.
    Redis(CacheConfig),
    /// One in-process memory backend.
    Memory(Arc<MemoryBackend>),
}

impl CacheSource {
    /// The shared Redis, or `None` after the skip line (a failure when services are required).
    pub async fn shared_redis(test: &str) -> Option<CacheSource> {
        shared_manager(test).await?;
        Some(CacheSource::Redis(CacheConfig { redis_url: redis_url(), ..redis_config() }))
    }

    pub fn memory() -> CacheSource {
        CacheSource::Memory(Arc::new(MemoryBackend::new(CacheConfig::default().memory_max_bytes)))
    }

    /// A new manager on this storage.
    pub fn manager(&self) -> Arc<CacheManager> {
        let manager = match self {
            CacheSource::Redis(config) => CacheManager::new(config.clone()).expect("valid Redis settings"),
            CacheSource::Memory(backend) => {
                CacheManager::with_backend(backend.clone(), &CacheConfig::default()).expect("valid settings")
            }
        };
        Arc::new(manager)
    }

    pub fn is_redis(&self) -> bool {
        matches!(self, CacheSource::Redis(_))
    }
}

/// The suites' short timeouts, so an outage shows within a test.
fn redis_config() -> CacheConfig {
    CacheConfig { timeout_ms: 2000, connection_timeout_ms: 2000, ..CacheConfig::default() }
}

/// A short prefix no other test or run uses.
pub fn unique_prefix(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name: String = test.rsplit("::").next().unwrap_or(test).chars().filter(char::is_ascii_alphanumeric).collect();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()) as u64;
    let short = &name[..name.len().min(20)];
    format!("shc:{short}:{}:{nanos:x}:{}:", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Counters on a fresh database, buffered in a cache of their own prefix.
#[derive(Debug)]
pub struct Env {
    pub storehaus: StoreHaus,
    pub counters: Counters,
    pub cache: CacheSource,
    pub prefix: String,
    /// Reads the buffers without going through the counters.
    pub probe: Arc<CacheManager>,
}

impl Env {
    /// Redis and PostgreSQL for `B` = PostgreSQL, the memory cache and SQLite for SQLite; `None`
    /// when Redis is unreachable and not required.
    pub async fn open<B: TestBackend>(db: &B, test: &str) -> Option<Env> {
        let cache = match B::NAME {
            "postgres" => CacheSource::shared_redis(test).await?,
            _ => CacheSource::memory(),
        };
        Some(Env::with_cache(db.storehaus().await, cache, test).await)
    }

    /// Counters of `storehaus` buffered in `cache`, under a new prefix.
    pub async fn with_cache(storehaus: StoreHaus, cache: CacheSource, test: &str) -> Env {
        let prefix = unique_prefix(test);
        let probe = cache.manager();
        let counters = Counters::builder(storehaus.pool().clone())
            .cache(cache.manager())
            .prefix(prefix.clone())
            .build()
            .await
            .expect("the counters build");
        Env { storehaus, counters, cache, prefix, probe }
    }

    /// A builder for another `Counters` on the same database, cache and prefix, as a second
    /// process would have.
    pub fn builder(&self) -> CountersBuilder {
        self.builder_on(self.storehaus.pool().clone())
    }

    /// Like [`Env::builder`], on another pool to the same database.
    pub fn builder_on(&self, pool: DbPool) -> CountersBuilder {
        Counters::builder(pool).cache(self.cache.manager()).prefix(self.prefix.clone())
    }

    /// The buffer of a counter, read straight from the cache.
    pub async fn buffer(&self, owner: &Owner, key: &str) -> BufferState {
        let cache_key = self.counters.cache_key(owner, key).unwrap();
        self.probe.buffer_read(&[cache_key]).await.unwrap().remove(0)
    }

    /// Every cache key under the prefix.
    pub async fn cache_keys(&self) -> Vec<String> {
        storehaus_suite::redis::keys_under(&self.probe, &self.prefix).await
    }

    /// Deletes the test's keys from a shared Redis.
    pub async fn cleanup(&self) {
        if self.cache.is_redis() {
            storehaus_suite::redis::delete_under(&self.probe, &self.prefix).await;
        }
    }
}

//! Counters: downloads, views and API calls counted per owner in the cache and handed to the
//! database in batches, so a hot row is not locked and committed on every increment — and
//! without losing or repeating a single increment.
//!
//! Each counter belongs to an [`Owner`] and has a key. [`increment`](Counters::increment) is one
//! cache operation; [`sync`](Counters::sync) (or the background task of
//! [`start_sync`](Counters::start_sync)) hands the buffered amounts to the table
//! `storehaus_counters`; [`get`](Counters::get) adds what is still buffered to what the table
//! holds.
//!
//! ```
//! use std::sync::Arc;
//! use storehaus::counters::SyncOptions;
//! use storehaus::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), StoreError> {
//! let storehaus = StoreHaus::connect("sqlite::memory:").await?;
//! let cache = Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap());
//! let counters = storehaus.counters(cache).await?;
//!
//! let video = Owner::new("video", 7);
//! counters.increment(&video, "views", 1).await?;
//! assert_eq!(counters.increment(&video, "views", 2).await?, 3);
//!
//! let report = counters.sync(SyncOptions::default()).await?;
//! assert_eq!((report.keys, report.delta_total), (1, 3));
//! assert_eq!(counters.get(&video, "views").await?, 3);
//! # Ok(()) }
//! ```
//!
//! # Exactly once
//!
//! A sync moves each counter's buffered amount aside, tagged with a sequence number, applies it
//! in a database transaction that records the number on the row (`sync_seq`), and only then
//! clears it in the cache. A sync that dies at any point leaves the amount aside; the next one
//! applies it unless the row already has its number. So two syncs at once, a sync cancelled
//! half-way, or a database write that fails, never lose or repeat an increment.
//!
//! When the cache fails, increments are written to the database directly
//! (`count = count + by`) and the cache is tried again after a short pause; an increment whose
//! cache answer was lost is undone in the cache when it is back, if it took place there.

mod keys;
mod options;
mod outage;
mod read;
mod record;
mod row;
mod sync;
mod table;
mod task;
mod write;

pub use keys::MAX_KEY_LEN;
pub use options::{CounterStats, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, SyncOptions, SyncReport};
pub use record::HasCounters;
pub use task::SyncTask;

use crate::app::StoreHaus;
use crate::backend::DbPool;
use crate::cache::CacheManager;
use crate::error::Result;
use crate::owner::Owner;
use crate::signals::SignalManager;
use keys::{CounterId, KeyFormat};
use options::Stats;
use outage::Outage;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use table::CounterTable;

/// The prefix of the counters' cache keys unless [`CountersBuilder::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "counter:";

/// The table of counters.
pub const TABLE: &str = "storehaus_counters";

/// How long after a cache failure increments go to the database before the cache is tried again,
/// unless [`CountersBuilder::cache_retry`] says otherwise.
pub const DEFAULT_CACHE_RETRY: Duration = Duration::from_secs(1);

/// How long the cache remembers the ids of adds still in doubt after a process's last add to an
/// owner: an outage longer than this cannot tell whether an add whose answer was lost happened.
const OPS_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Counters per owner, buffered in a cache and synced to `storehaus_counters`. Cheap to clone.
///
/// Made by [`StoreHaus::counters`] or [`Counters::builder`].
///
/// Keys are non-empty, at most [`MAX_KEY_LEN`] bytes, without NUL; owners follow
/// [`Owner::validate`]. A key or owner that breaks these rules is refused with
/// [`StoreError::Validation`](crate::StoreError::Validation) (its `field` is `"key"` or
/// `"owner"`) and nothing is counted.
#[derive(Clone)]
pub struct Counters {
    inner: Arc<Inner>,
}

struct Inner {
    table: CounterTable,
    /// `None` in direct mode.
    cache: Option<Arc<CacheManager>>,
    keys: KeyFormat,
    /// This process's name in the hashes of adds in doubt.
    client: String,
    next_op: AtomicU64,
    outage: Outage,
    stats: Stats,
}

impl StoreHaus {
    /// Counters of this database buffered in `cache` (Redis, or in memory for the embedded
    /// profile), with the default prefix; creates the table `storehaus_counters` if it is
    /// missing. See [`Counters::builder`] for the other settings.
    pub async fn counters(&self, cache: Arc<CacheManager>) -> Result<Counters> {
        Counters::builder(self.pool().clone()).cache(cache).build().await
    }
}

/// Settings of [`Counters`], from [`Counters::builder`].
#[derive(Debug)]
#[must_use]
pub struct CountersBuilder {
    pool: DbPool,
    cache: Option<Arc<CacheManager>>,
    prefix: String,
    direct: bool,
    signals: Option<Arc<SignalManager>>,
    cache_retry: Duration,
}

impl CountersBuilder {
    /// Buffers increments in `cache`. Without a cache, the counters are in direct mode.
    pub fn cache(mut self, cache: Arc<CacheManager>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The prefix of the cache keys (default [`DEFAULT_PREFIX`]): at most 255 bytes, without
    /// braces, glob characters (`*?[]\`) or NUL.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Writes every increment straight to the database (`count = count + by`), as for a
    /// deployment without Redis; a cache, if given, is not used.
    pub fn direct(mut self) -> Self {
        self.direct = true;
        self
    }

    /// Emits change events on `storehaus_counters` through `signals` for every row a sync (or
    /// a direct write) changes.
    pub fn signals(mut self, signals: Arc<SignalManager>) -> Self {
        self.signals = Some(signals);
        self
    }

    /// How long after a cache failure increments go to the database before the cache is tried
    /// again (default [`DEFAULT_CACHE_RETRY`]).
    pub fn cache_retry(mut self, pause: Duration) -> Self {
        self.cache_retry = pause;
        self
    }

    /// Checks the settings and creates the table if it is missing.
    pub async fn build(self) -> Result<Counters> {
        keys::validate_prefix(&self.prefix)?;
        let table = CounterTable::open(self.pool, self.signals).await?;
        let cache = if self.direct { None } else { self.cache };
        Ok(Counters {
            inner: Arc::new(Inner {
                table,
                cache,
                keys: KeyFormat::new(self.prefix),
                client: uuid::Uuid::new_v4().simple().to_string(),
                next_op: AtomicU64::new(0),
                outage: Outage::new(self.cache_retry),
                stats: Stats::default(),
            }),
        })
    }
}

impl Counters {
    /// Settings for counters on `pool`: give a [`cache`](CountersBuilder::cache) to buffer
    /// increments, or none (or [`direct`](CountersBuilder::direct)) to write each one to the
    /// database.
    pub fn builder(pool: impl Into<DbPool>) -> CountersBuilder {
        CountersBuilder {
            pool: pool.into(),
            cache: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            direct: false,
            signals: None,
            cache_retry: DEFAULT_CACHE_RETRY,
        }
    }

    /// What these counters did since they were built.
    pub fn stats(&self) -> CounterStats {
        self.inner.stats.snapshot()
    }

    /// Whether every increment is written straight to the database.
    pub fn is_direct(&self) -> bool {
        self.inner.cache.is_none()
    }

    /// The cache key of a counter: `counter:{user:42}:downloads`.
    pub fn cache_key(&self, owner: &Owner, key: &str) -> Result<String> {
        Ok(self.inner.keys.buffer(&CounterId::new(owner, key)?))
    }

    /// The database the counters are synced to.
    pub fn pool(&self) -> &DbPool {
        self.inner.table.pool()
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counters")
            .field("direct", &self.is_direct())
            .field("keys", &self.inner.keys)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

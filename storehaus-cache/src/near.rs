//! [`NearCache`]: rows kept in this process, in front of the shared cache.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A process-local tier in front of the shared cache, for one store's rows by key: a hit is a
/// memory read, no network. Give it to a store with [`CacheParams::near`](crate::CacheParams::near).
///
/// It is never older than the shared cache by more than the time an invalidation takes to
/// reach this process:
/// - **Writes of this process** void the rows they wrote before the write call returns.
/// - **Writes of other processes** void them when their announcement arrives: every
///   invalidation is published by the backend in the same atomic step that bumps the row's
///   epoch (on Redis, on the channel [`INVALIDATIONS_CHANNEL`](crate::INVALIDATIONS_CHANNEL)),
///   and the manager follows that feed.
/// - **While the feed is lost** (Redis unreachable, a subscription dropped) near caches are not
///   read nor filled, and everything kept before is void once it is back, since announcements
///   made in between were missed.
/// - **In any case**, an entry lives at most `ttl` (default
///   [`NearCache::DEFAULT_TTL`]), a bound that holds even for a write made without StoreHaus.
///
/// An entry is stamped with the invalidation counts this process has seen for its row and
/// table when the read began, and used only while they are unchanged, so a read that raced
/// with a write can never put back the old row.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use storehaus_cache::{CacheManager, CacheParams, NearCache};
///
/// let manager = Arc::new(CacheManager::memory(&Default::default()).unwrap());
/// let params = CacheParams::new(manager, 300, "app").near(NearCache::new(10_000));
/// assert_eq!(params.near_cache().unwrap().capacity(), 10_000);
///
/// let short = NearCache::with_ttl(1_000, Duration::from_millis(500));
/// assert_eq!(short.ttl(), Duration::from_millis(500));
/// ```
#[derive(Clone)]
pub struct NearCache {
    entries: moka::sync::Cache<String, NearEntry>,
    capacity: u64,
    ttl: Duration,
}

/// What a near entry was read under: the feed's generation and this process's invalidation
/// counts of the row and its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) feed: u64,
    pub(crate) row: u64,
    pub(crate) table: u64,
}

#[derive(Clone)]
struct NearEntry {
    stamp: Stamp,
    /// The value as the store reads it (`Option<T>`, `None` for a remembered absence).
    value: Arc<dyn Any + Send + Sync>,
}

impl NearCache {
    /// How long an entry lives at most when no TTL is given.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

    /// A near cache of at most `capacity` rows (at least 1), each kept [`NearCache::DEFAULT_TTL`]
    /// at most.
    pub fn new(capacity: u64) -> Self {
        Self::with_ttl(capacity, Self::DEFAULT_TTL)
    }

    /// A near cache of at most `capacity` rows (at least 1), each kept `ttl` at most (at least
    /// 1 ms).
    pub fn with_ttl(capacity: u64, ttl: Duration) -> Self {
        let capacity = capacity.max(1);
        let ttl = ttl.max(Duration::from_millis(1));
        let entries = moka::sync::Cache::builder().max_capacity(capacity).time_to_live(ttl).build();
        NearCache { entries, capacity, ttl }
    }

    /// The most rows it keeps.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The longest an entry lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Rows kept now, approximately (evictions apply lazily).
    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }

    /// Forgets every row.
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }

    /// The value kept for `key` if it was read under `stamp` and has type `T`.
    pub(crate) fn get<T: Clone + 'static>(&self, key: &str, stamp: Stamp) -> Option<T> {
        let entry = self.entries.get(key)?;
        if entry.stamp != stamp {
            return None;
        }
        entry.value.downcast_ref::<T>().cloned()
    }

    /// Keeps `value` for `key`, read under `stamp`.
    pub(crate) fn insert<T: Send + Sync + 'static>(&self, key: &str, stamp: Stamp, value: T) {
        self.entries.insert(key.to_owned(), NearEntry { stamp, value: Arc::new(value) });
    }
}

impl fmt::Debug for NearCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NearCache")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{NearCache, Stamp};

    const STAMP: Stamp = Stamp { feed: 1, row: 2, table: 3 };

    #[test]
    fn an_entry_answers_only_under_its_stamp_and_type() {
        let near = NearCache::new(10);
        near.insert("k", STAMP, Some(vec![1_i64, 2]));
        assert_eq!(near.get::<Option<Vec<i64>>>("k", STAMP), Some(Some(vec![1, 2])));
        assert_eq!(near.get::<Option<Vec<i64>>>("k", Stamp { row: 3, ..STAMP }), None);
        assert_eq!(near.get::<Option<Vec<i64>>>("k", Stamp { feed: 2, ..STAMP }), None);
        assert_eq!(near.get::<Option<Vec<i64>>>("k", Stamp { table: 4, ..STAMP }), None);
        assert_eq!(near.get::<Option<String>>("k", STAMP), None, "another type is a miss");
        assert_eq!(near.get::<Option<Vec<i64>>>("other", STAMP), None);
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let near = NearCache::with_ttl(10, std::time::Duration::from_millis(30));
        near.insert("k", STAMP, 7_u8);
        assert_eq!(near.get::<u8>("k", STAMP), Some(7));
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert_eq!(near.get::<u8>("k", STAMP), None);
    }

    #[test]
    fn capacity_and_ttl_have_floors() {
        let near = NearCache::with_ttl(0, std::time::Duration::ZERO);
        assert_eq!(near.capacity(), 1);
        assert_eq!(near.ttl(), std::time::Duration::from_millis(1));
    }
}

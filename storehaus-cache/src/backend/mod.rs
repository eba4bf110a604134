//! The storage a [`CacheManager`](crate::CacheManager) runs on.
//!
//! [`CacheBackend`] is object-safe (every method returns a boxed future), so the manager holds
//! an `Arc<dyn CacheBackend>` and stores do not become generic over the cache. Values are opaque
//! bytes; the manager does the encoding.

mod memory;
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use self::memory::MemoryBackend;
pub use self::redis::RedisBackend;
use crate::error::CacheResult;

/// A boxed, `Send` future, the return type of every [`CacheBackend`] method.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An epoch (a version number kept in the cache) and how long it lives.
///
/// A missing epoch is created with a random value, never a fixed one, so an epoch that expired
/// or was evicted does not come back with a value some reader saw before.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EpochKey {
    /// The key holding the epoch.
    pub key: String,
    /// How long the epoch lives after it is created or a fill refreshes it; `None` for ever.
    pub ttl: Option<Duration>,
}

impl EpochKey {
    /// An epoch that never expires.
    pub fn persistent(key: impl Into<String>) -> Self {
        EpochKey { key: key.into(), ttl: None }
    }

    /// An epoch that lives `ttl` after it is created or refreshed.
    pub fn expiring(key: impl Into<String>, ttl: Duration) -> Self {
        EpochKey { key: key.into(), ttl: Some(ttl) }
    }
}

/// The answer of [`CacheBackend::read_with_epochs`]: the value and the current epochs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedRead {
    /// The value of the key read, if any.
    pub value: Option<Vec<u8>>,
    /// The epochs, in the order asked.
    pub epochs: Vec<i64>,
}

/// A key-value store with expiry and the few atomic operations the cache protocol needs.
///
/// Every method is one round trip and atomic on its own. Implementations report failures as
/// [`CacheError`](crate::CacheError); the manager adds the timeout.
pub trait CacheBackend: Send + Sync + fmt::Debug + 'static {
    /// A short name for logs: `"redis"`, `"memory"`.
    fn name(&self) -> &'static str;

    /// Checks that the backend answers.
    fn ping(&self) -> BoxFuture<'_, CacheResult<()>>;

    /// The value of `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Vec<u8>>>>;

    /// The values of `keys`, in order.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<Option<Vec<u8>>>>>;

    /// Sets `key` to `value`, expiring after `ttl` (never when `None`).
    fn set<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<()>>;

    /// Sets every entry, each expiring after `ttl`.
    fn set_many<'a>(
        &'a self,
        entries: &'a [(String, Vec<u8>)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, CacheResult<()>>;

    /// Removes `keys`; returns how many existed.
    fn delete<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<u64>>;

    /// The time `key` has left; `None` when it is missing or never expires.
    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Duration>>>;

    /// Adds `by` to the integer at `key` (missing counts as 0) and returns the new value. When
    /// the key has no expiry yet and `ttl` is given, it expires `ttl` from now.
    fn incr_by<'a>(&'a self, key: &'a str, by: i64, ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<i64>>;

    /// Sets `key` to `value` for `ttl` only if it does not exist; returns whether it was set.
    fn set_if_absent<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, CacheResult<bool>>;

    /// Removes `key` only if it holds `expected`; returns whether it did.
    fn compare_and_delete<'a>(&'a self, key: &'a str, expected: &'a [u8]) -> BoxFuture<'a, CacheResult<bool>>;

    /// Makes `key` expire `ttl` from now only if it holds `expected`; returns whether it did.
    fn compare_and_expire<'a>(
        &'a self,
        key: &'a str,
        expected: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>>;

    /// Reads `key` (when given) and the epochs at once, creating missing epochs with random
    /// values.
    fn read_with_epochs<'a>(
        &'a self,
        key: Option<&'a str>,
        epochs: &'a [EpochKey],
    ) -> BoxFuture<'a, CacheResult<GuardedRead>>;

    /// Sets `key` to `value` for `ttl` only if every epoch still holds the value given with it,
    /// and then restarts the epochs' own TTLs; returns whether it was set.
    fn set_if_epochs<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Duration,
        epochs: &'a [(EpochKey, i64)],
    ) -> BoxFuture<'a, CacheResult<bool>>;

    /// Increments each existing epoch of `epochs` and removes `delete`, atomically. A missing
    /// epoch stays missing: whoever reads it next gets a fresh random value.
    fn bump_epochs<'a>(&'a self, epochs: &'a [String], delete: &'a [String]) -> BoxFuture<'a, CacheResult<()>>;

    /// How many times the backend has tried to connect, for [`CacheStats`](crate::CacheStats).
    fn connect_attempts(&self) -> u64 {
        0
    }
}

/// Milliseconds of `ttl` for commands that take them, never 0 (which Redis rejects).
pub(crate) fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

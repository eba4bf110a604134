//! The storage a [`CacheManager`](crate::CacheManager) runs on.
//!
//! [`CacheBackend`] is object-safe (every method returns a boxed future), so the manager holds
//! an `Arc<dyn CacheBackend>` and stores do not become generic over the cache. Values are opaque
//! bytes; the manager does the encoding.

mod buffer;
mod feed;
mod memory;
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use self::buffer::{BufferOp, BufferPending, BufferState};
pub use self::feed::{FeedEvent, INVALIDATIONS_CHANNEL, InvalidationFeed};
pub use self::memory::MemoryBackend;
pub use self::redis::RedisBackend;
use crate::error::{CacheError, CacheResult};
use crate::shared::SharedAdapter;

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

    /// Increments each existing epoch of `epochs` and removes `delete`, atomically, and
    /// announces every key of both to the [`invalidations`](CacheBackend::invalidations)
    /// feeds. A missing epoch stays missing: whoever reads it next gets a fresh random value.
    fn bump_epochs<'a>(&'a self, epochs: &'a [String], delete: &'a [String]) -> BoxFuture<'a, CacheResult<()>>;

    /// Adds `by` to the delta of the buffer at `key` and returns its state, as one atomic step
    /// that also records the id `op` in the hash `ops` (which then lives `ops_ttl`): the record
    /// tells [`buffer_settle`] later whether an add whose answer was lost took place, and an
    /// `op` already recorded is not added twice. The ids in `acked` (adds whose answers
    /// arrived) are dropped from `ops` in the same step, so it only holds adds still in doubt.
    ///
    /// [`buffer_settle`]: CacheBackend::buffer_settle
    fn buffer_add<'a>(&'a self, key: &'a str, by: i64, op: BufferOp<'a>) -> BoxFuture<'a, CacheResult<BufferState>> {
        let _ = (key, by, op);
        unsupported(self.name())
    }

    /// The states of the buffers at `keys`, in order (a missing buffer is the default state).
    fn buffer_read<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<BufferState>>> {
        let _ = keys;
        unsupported(self.name())
    }

    /// Takes from each buffer of `keys`, atomically for all of them, and returns their states
    /// after it. A buffer that already has a pending amount keeps it (its hand-over is still to
    /// be finished). Otherwise, with `absolute` the delta is dropped and the value becomes a
    /// pending value to set; without, a non-zero delta becomes a pending amount to add. Each new
    /// pending amount gets a new sequence number.
    fn buffer_take<'a>(
        &'a self,
        keys: &'a [String],
        absolute: Option<i64>,
    ) -> BoxFuture<'a, CacheResult<Vec<BufferState>>> {
        let _ = (keys, absolute);
        unsupported(self.name())
    }

    /// Ends the hand-over `seq` of the buffer at `key`, if it is still pending, and records
    /// `base` as the database's value after it. Returns whether it was pending.
    fn buffer_finish<'a>(&'a self, key: &'a str, seq: i64, base: i64) -> BoxFuture<'a, CacheResult<bool>> {
        let _ = (key, seq, base);
        unsupported(self.name())
    }

    /// Records `base` as the database's value for the buffer at `key`, only if the buffer exists,
    /// nothing was taken since the caller read `seq` and nothing is pending. Returns whether it
    /// did.
    fn buffer_set_base<'a>(&'a self, key: &'a str, seq: i64, base: i64) -> BoxFuture<'a, CacheResult<bool>> {
        let _ = (key, seq, base);
        unsupported(self.name())
    }

    /// Forgets the recorded base of each buffer of `keys`.
    fn buffer_forget_base<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<()>> {
        let _ = keys;
        unsupported(self.name())
    }

    /// Undoes the add of `by` to the buffer at `key` if `op` is recorded in `ops` as made, and
    /// marks `op` void there (`ops` then lives at least `ttl`), so that the add is not made if
    /// it still arrives (a command that timed out after it was sent). Returns whether it undid
    /// the add. For an add whose answer was lost and which was then counted elsewhere.
    fn buffer_settle<'a>(
        &'a self,
        key: &'a str,
        ops: &'a str,
        op: &'a str,
        by: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        let _ = (key, ops, op, by, ttl);
        unsupported(self.name())
    }

    /// Drops from each hash of adds in doubt the ids of adds whose answers arrived (as
    /// `acked` in [`buffer_add`](CacheBackend::buffer_add) does); an emptied hash goes away.
    fn buffer_acknowledge<'a>(&'a self, acked: &'a [(String, Vec<String>)]) -> BoxFuture<'a, CacheResult<()>> {
        let _ = acked;
        unsupported(self.name())
    }

    /// One step of a scan over the keys matching the glob `pattern` (`*`, `?`, `[...]`, `\`
    /// escapes, as Redis `SCAN MATCH`): the next cursor (0 when done) and up to about `count`
    /// keys. A key present for the whole scan is returned at least once.
    fn scan<'a>(
        &'a self,
        pattern: &'a str,
        cursor: u64,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<(u64, Vec<String>)>> {
        let _ = (pattern, cursor, count);
        unsupported(self.name())
    }

    /// Takes a token from the token bucket at `key`, which holds at most `burst` tokens and
    /// gains `per_second` a second (a missing bucket is full): `Ok(None)` when a token was
    /// taken, `Ok(Some(wait))` when none is left and one comes after `wait`. Atomic; the
    /// bucket expires once it would be full again, so an idle bucket leaves no key behind.
    fn take_token<'a>(
        &'a self,
        key: &'a str,
        per_second: f64,
        burst: u32,
    ) -> BoxFuture<'a, CacheResult<Option<Duration>>> {
        let _ = (key, per_second, burst);
        let backend = self.name();
        Box::pin(async move { Err(CacheError::Backend(format!("the {backend} backend has no token buckets"))) })
    }

    /// Follows the invalidations every manager on this storage makes ([`bump_epochs`]
    /// announces the keys it touched), with a notice whenever the subscription is lost or in
    /// place again. A backend without one fails, and near caches on it are never used.
    ///
    /// [`bump_epochs`]: CacheBackend::bump_epochs
    fn invalidations(&self) -> BoxFuture<'_, CacheResult<InvalidationFeed>> {
        let backend = self.name();
        Box::pin(async move { Err(CacheError::Backend(format!("the {backend} backend announces no invalidations"))) })
    }

    /// How many times the backend has tried to connect, for [`CacheStats`](crate::CacheStats).
    fn connect_attempts(&self) -> u64 {
        0
    }

    /// The same storage as a [`SharedAdapter`], for a [`SharedStore`](crate::shared::SharedStore)
    /// built on this backend's manager; `None` when it has none.
    fn shared_adapter(self: Arc<Self>) -> Option<Arc<dyn SharedAdapter>> {
        None
    }
}

/// The answer of an operation a backend does not implement.
fn unsupported<'a, T: Send + 'a>(backend: &'static str) -> BoxFuture<'a, CacheResult<T>> {
    Box::pin(async move { Err(CacheError::Backend(format!("the {backend} backend has no counter buffers"))) })
}

/// Checks the settings of a token bucket before a backend applies them.
pub(crate) fn check_bucket(per_second: f64, burst: u32) -> CacheResult<storehaus_resilience::RateLimit> {
    let limit = storehaus_resilience::RateLimit::per_second(per_second).burst(burst);
    limit.validate().map_err(|error| CacheError::Backend(error.to_string()))?;
    Ok(limit)
}

/// Milliseconds of `ttl` for commands that take them, never 0 (which Redis rejects).
pub(crate) fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

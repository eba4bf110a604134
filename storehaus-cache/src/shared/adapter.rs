//! [`SharedAdapter`]: the storage a [`SharedStore`](super::SharedStore) runs on.
//!
//! The store builds every key and encodes every value; an adapter only moves bytes under full
//! keys. [`CacheBackend::shared_adapter`](crate::CacheBackend::shared_adapter) gives one for a
//! cache backend: [`RedisBackend`](crate::RedisBackend) implements it on its own connection, and
//! [`MemoryBackend`](crate::MemoryBackend) keeps state beside its cache, never evicted. A store
//! built from a [`CacheManager`](crate::CacheManager) so shares its connection (Redis) or its
//! process-wide state (memory).

use std::fmt;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::backend::BoxFuture;
use crate::error::CacheResult;

/// The messages of one pub/sub channel, as raw payloads, in the order they were published.
///
/// The adapter keeps the subscription alive (a Redis adapter resubscribes after a lost
/// connection) until the receiver is dropped.
pub type Subscription = UnboundedReceiver<Vec<u8>>;

/// One entry of a stream: its id (`"1700000000000-0"`) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// The entry id, `<milliseconds>-<sequence>`.
    pub id: String,
    /// The field-value pairs, in order. Entries appended by a shared store have one field,
    /// `data`, holding the JSON of the message.
    pub fields: Vec<(String, Vec<u8>)>,
}

/// How an append trims the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTrim {
    /// The length to trim to.
    pub max_len: u64,
    /// Whether the trim may leave a few more entries (`MAXLEN ~`), which is much cheaper on
    /// Redis.
    pub approximate: bool,
}

/// The pending entries of a consumer group: delivered and not yet acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingSummary {
    /// How many entries are pending.
    pub count: u64,
    /// The smallest pending id.
    pub lowest: Option<String>,
    /// The largest pending id.
    pub highest: Option<String>,
    /// Pending entries per consumer, by consumer name.
    pub consumers: Vec<(String, u64)>,
}

/// The answer of [`SharedAdapter::group_autoclaim`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoClaimed {
    /// The id to continue from; `"0-0"` when the whole pending list was scanned.
    pub next: String,
    /// The entries now owned by the claiming consumer.
    pub entries: Vec<StreamEntry>,
    /// Pending ids whose entries no longer exist (trimmed); they were dropped from the pending
    /// list.
    pub deleted: Vec<String>,
}

/// One key of a batch write: the key, the bytes and their expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// The full key.
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
    /// When it expires; never when `None`.
    pub ttl: Option<Duration>,
}

/// Key-value, counter, claim, pub/sub and stream operations on full keys.
///
/// Every method is atomic on its own and, except [`group_read`](Self::group_read) with a
/// `block`, answers promptly; the store bounds each call with its timeout. Failures are
/// [`CacheError`](crate::CacheError)s: `Unavailable` or `Timeout` when the storage cannot be
/// reached, `Backend` when it refused the command (a key holding another type, for instance).
///
/// Stream ids are Redis ids (`<ms>-<seq>`); `start_id` of [`group_create`](Self::group_create)
/// is an id, `"0"` for the beginning or `"$"` for new entries only.
pub trait SharedAdapter: Send + Sync + fmt::Debug + 'static {
    /// A short name for logs and spans: `"redis"`, `"memory"`.
    fn name(&self) -> &'static str;

    /// The value of `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Vec<u8>>>>;

    /// The values of `keys`, in order, in one round trip.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<Option<Vec<u8>>>>>;

    /// Sets `key` to `value`, expiring after `ttl` (never when `None`); replaces any expiry.
    fn set<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<()>>;

    /// Sets every entry with its own expiry, in one round trip.
    fn set_many<'a>(&'a self, entries: &'a [RawEntry]) -> BoxFuture<'a, CacheResult<()>>;

    /// Whether `key` exists.
    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<bool>>;

    /// Removes `keys`; returns how many existed.
    fn delete<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<u64>>;

    /// Makes `key` expire `ttl` from now; returns whether it exists.
    fn expire<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, CacheResult<bool>>;

    /// The time `key` has left; `None` when it is missing or never expires.
    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Duration>>>;

    /// Adds `by` to the integer at `key` (missing counts as 0) and returns the new value; an
    /// overflow or a value that is not an integer is an error and changes nothing.
    fn incr_by<'a>(&'a self, key: &'a str, by: i64) -> BoxFuture<'a, CacheResult<i64>>;

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

    /// One step of a scan over the keys matching the glob `pattern` (as Redis `SCAN MATCH`):
    /// the next cursor (0 when done) and up to about `count` keys.
    fn scan<'a>(
        &'a self,
        pattern: &'a str,
        cursor: u64,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<(u64, Vec<String>)>>;

    /// Publishes `payload` on `channel`; returns how many subscribers received it.
    fn publish<'a>(&'a self, channel: &'a str, payload: &'a [u8]) -> BoxFuture<'a, CacheResult<u64>>;

    /// Subscribes to `channel`. Resolves once the subscription is active, so a message
    /// published after it is received; fails when it cannot be made now.
    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, CacheResult<Subscription>>;

    /// Appends an entry with `fields` to `stream` (creating it), trimming as `trim` says;
    /// returns the new id.
    fn stream_append<'a>(
        &'a self,
        stream: &'a str,
        fields: &'a [(&'a str, &'a [u8])],
        trim: Option<StreamTrim>,
    ) -> BoxFuture<'a, CacheResult<String>>;

    /// How many entries `stream` holds (0 when it does not exist).
    fn stream_len<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, CacheResult<u64>>;

    /// Creates consumer group `group` on `stream` (creating the stream) delivering entries
    /// after `start_id`; returns `false` when the group already exists (and leaves it as is).
    fn group_create<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        start_id: &'a str,
    ) -> BoxFuture<'a, CacheResult<bool>>;

    /// Delivers to `consumer` up to `count` entries of `stream` that no consumer of `group`
    /// has received, adding them to the group's pending list; waits up to `block` for one
    /// when there is none (`None`: answers at once). A missing group is an error.
    fn group_read<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        consumer: &'a str,
        count: usize,
        block: Option<Duration>,
    ) -> BoxFuture<'a, CacheResult<Vec<StreamEntry>>>;

    /// Acknowledges `ids` for `group`, removing them from its pending list; returns how many
    /// were pending.
    fn group_ack<'a>(&'a self, stream: &'a str, group: &'a str, ids: &'a [String]) -> BoxFuture<'a, CacheResult<u64>>;

    /// The pending list of `group` summed up.
    fn group_pending<'a>(&'a self, stream: &'a str, group: &'a str) -> BoxFuture<'a, CacheResult<PendingSummary>>;

    /// Gives `consumer` up to `count` pending entries of `group` idle for at least `min_idle`,
    /// scanning the pending list from `start` (as `XAUTOCLAIM`); each one's idle time restarts
    /// and its delivery count grows.
    fn group_autoclaim<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        consumer: &'a str,
        min_idle: Duration,
        start: &'a str,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<AutoClaimed>>;
}

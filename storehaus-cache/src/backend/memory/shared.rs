//! The memory backend as a [`SharedAdapter`]: key-value operations on the bounded cache, pub/sub
//! and streams beside it.

use std::time::{Duration, Instant};

use std::fmt;

use super::pubsub::Channels;
use super::streams::Streams;
use super::{MemoryBackend, Slot};
use crate::backend::{BoxFuture, CacheBackend};
use crate::error::{CacheError, CacheResult};
use crate::shared::{AutoClaimed, PendingSummary, RawEntry, SharedAdapter, StreamEntry, StreamTrim, Subscription};

/// The shared stores of one [`MemoryBackend`]: values (in a cache of their own that never
/// evicts), channels and streams. A key holds a value or a stream, never both, as on Redis.
pub(crate) struct SharedMemory {
    values: MemoryBackend,
    channels: Channels,
    streams: Streams,
}

impl SharedMemory {
    pub(super) fn new(values: MemoryBackend) -> Self {
        SharedMemory { values, channels: Channels::default(), streams: Streams::default() }
    }

    /// Refuses a value operation on a stream key.
    fn not_a_stream(&self, key: &str) -> CacheResult<()> {
        if self.streams.contains(key) {
            return Err(wrong_type());
        }
        Ok(())
    }

    /// Refuses a stream operation on a key holding a value.
    async fn not_a_value(&self, key: &str) -> CacheResult<()> {
        if self.values.live(key).await.is_some() {
            return Err(wrong_type());
        }
        Ok(())
    }
}

fn wrong_type() -> CacheError {
    CacheError::Backend("WRONGTYPE Operation against a key holding the wrong kind of value".to_owned())
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory").field("values", &self.values.cache.entry_count()).finish_non_exhaustive()
    }
}

impl SharedAdapter for SharedMemory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Vec<u8>>>> {
        Box::pin(async move {
            self.not_a_stream(key)?;
            CacheBackend::get(&self.values, key).await
        })
    }

    /// A stream key reads as missing, as `MGET` answers nil for keys of other types.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<Option<Vec<u8>>>>> {
        CacheBackend::get_many(&self.values, keys)
    }

    /// Replaces whatever the key held, a stream included, as `SET` does.
    fn set<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            self.streams.remove(std::slice::from_ref(&key.to_owned()));
            CacheBackend::set(&self.values, key, value, ttl).await
        })
    }

    fn set_many<'a>(&'a self, entries: &'a [RawEntry]) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            let _writes = self.values.writes.lock().await;
            for entry in entries {
                self.streams.remove(std::slice::from_ref(&entry.key));
                self.values.put(&entry.key, Slot::new(&entry.value, entry.ttl)).await;
            }
            Ok(())
        })
    }

    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move { Ok(self.values.live(key).await.is_some() || self.streams.contains(key)) })
    }

    fn delete<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move {
            let removed = CacheBackend::delete(&self.values, keys).await?;
            Ok(removed + self.streams.remove(keys))
        })
    }

    /// Streams here have no expiry: expiring one is refused rather than ignored.
    fn expire<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            if self.streams.contains(key) {
                return Err(CacheError::Backend("the memory backend cannot expire a stream".to_owned()));
            }
            let _writes = self.values.writes.lock().await;
            let Some(slot) = self.values.live(key).await else {
                return Ok(false);
            };
            // A TTL beyond what `Instant` can hold is as good as none.
            self.values.put(key, Slot { data: slot.data, expires_at: Instant::now().checked_add(ttl) }).await;
            Ok(true)
        })
    }

    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Duration>>> {
        CacheBackend::ttl(&self.values, key)
    }

    fn incr_by<'a>(&'a self, key: &'a str, by: i64) -> BoxFuture<'a, CacheResult<i64>> {
        Box::pin(async move {
            self.not_a_stream(key)?;
            CacheBackend::incr_by(&self.values, key, by, None).await
        })
    }

    fn set_if_absent<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            if self.streams.contains(key) {
                return Ok(false);
            }
            CacheBackend::set_if_absent(&self.values, key, value, ttl).await
        })
    }

    fn compare_and_delete<'a>(&'a self, key: &'a str, expected: &'a [u8]) -> BoxFuture<'a, CacheResult<bool>> {
        CacheBackend::compare_and_delete(&self.values, key, expected)
    }

    fn compare_and_expire<'a>(
        &'a self,
        key: &'a str,
        expected: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        CacheBackend::compare_and_expire(&self.values, key, expected, ttl)
    }

    /// Returns every matching key at once (cursor 0), streams included.
    fn scan<'a>(
        &'a self,
        pattern: &'a str,
        cursor: u64,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<(u64, Vec<String>)>> {
        Box::pin(async move {
            let (next, mut keys) = CacheBackend::scan(&self.values, pattern, cursor, count).await?;
            keys.extend(self.streams.keys_matching(pattern));
            keys.sort_unstable();
            keys.dedup();
            Ok((next, keys))
        })
    }

    fn publish<'a>(&'a self, channel: &'a str, payload: &'a [u8]) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move { Ok(self.channels.publish(channel, payload)) })
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, CacheResult<Subscription>> {
        Box::pin(async move { Ok(self.channels.subscribe(channel)) })
    }

    fn stream_append<'a>(
        &'a self,
        stream: &'a str,
        fields: &'a [(&'a str, &'a [u8])],
        trim: Option<StreamTrim>,
    ) -> BoxFuture<'a, CacheResult<String>> {
        Box::pin(async move {
            self.not_a_value(stream).await?;
            self.streams.append(stream, fields, trim)
        })
    }

    fn stream_len<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move {
            self.not_a_value(stream).await?;
            Ok(self.streams.len(stream))
        })
    }

    fn group_create<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        start_id: &'a str,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            self.not_a_value(stream).await?;
            self.streams.group_create(stream, group, start_id)
        })
    }

    fn group_read<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        consumer: &'a str,
        count: usize,
        block: Option<Duration>,
    ) -> BoxFuture<'a, CacheResult<Vec<StreamEntry>>> {
        Box::pin(async move {
            self.not_a_value(stream).await?;
            self.streams.group_read(stream, group, consumer, count, block).await
        })
    }

    fn group_ack<'a>(&'a self, stream: &'a str, group: &'a str, ids: &'a [String]) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move { self.streams.group_ack(stream, group, ids) })
    }

    fn group_pending<'a>(&'a self, stream: &'a str, group: &'a str) -> BoxFuture<'a, CacheResult<PendingSummary>> {
        Box::pin(async move { self.streams.group_pending(stream, group) })
    }

    fn group_autoclaim<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        consumer: &'a str,
        min_idle: Duration,
        start: &'a str,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<AutoClaimed>> {
        Box::pin(async move { self.streams.group_autoclaim(stream, group, consumer, min_idle, start, count) })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::CacheError;

    fn adapter() -> Arc<dyn SharedAdapter> {
        Arc::new(MemoryBackend::new(1 << 20)).shared_adapter().unwrap()
    }

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[tokio::test]
    async fn expire_exists_and_ttl() {
        let store = adapter();
        assert!(!store.expire("k", Duration::from_secs(5)).await.unwrap());
        store.set("k", b"v", None).await.unwrap();
        assert!(store.exists("k").await.unwrap());
        assert_eq!(store.ttl("k").await.unwrap(), None);
        assert!(store.expire("k", Duration::from_secs(5)).await.unwrap());
        let left = store.ttl("k").await.unwrap().unwrap();
        assert!(left > Duration::from_secs(4) && left <= Duration::from_secs(5));
        assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
        assert!(store.expire("k", Duration::from_millis(30)).await.unwrap());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!store.exists("k").await.unwrap());
        assert_eq!(store.get("k").await.unwrap(), None);
        assert!(!store.expire("k", Duration::from_secs(5)).await.unwrap());
    }

    #[tokio::test]
    async fn incr_by_errors_change_nothing() {
        let store = adapter();
        assert_eq!(store.incr_by("n", 5).await.unwrap(), 5);
        assert_eq!(store.ttl("n").await.unwrap(), None);
        assert!(store.expire("n", Duration::from_secs(60)).await.unwrap());
        assert!(matches!(store.incr_by("n", i64::MAX).await, Err(CacheError::Backend(_))));
        assert_eq!(store.get("n").await.unwrap().as_deref(), Some(&b"5"[..]));
        assert_eq!(store.incr_by("n", -7).await.unwrap(), -2);
        assert!(store.ttl("n").await.unwrap().is_some(), "an increment keeps the expiry");
        store.set("text", b"abc", None).await.unwrap();
        assert!(matches!(store.incr_by("text", 1).await, Err(CacheError::Backend(_))));
        assert_eq!(store.get("text").await.unwrap().as_deref(), Some(&b"abc"[..]));
    }

    #[tokio::test]
    async fn set_many_gives_each_entry_its_expiry() {
        let store = adapter();
        let entries = [
            RawEntry { key: "a".to_owned(), value: b"1".to_vec(), ttl: Some(Duration::from_secs(30)) },
            RawEntry { key: "b".to_owned(), value: b"2".to_vec(), ttl: None },
        ];
        store.set_many(&entries).await.unwrap();
        let values = store.get_many(&keys(&["a", "b", "c"])).await.unwrap();
        assert_eq!(values, vec![Some(b"1".to_vec()), Some(b"2".to_vec()), None]);
        assert!(store.ttl("a").await.unwrap().is_some());
        assert_eq!(store.ttl("b").await.unwrap(), None);
    }

    #[tokio::test]
    async fn claims_compare_before_changing() {
        let store = adapter();
        let ttl = Duration::from_secs(30);
        assert!(store.set_if_absent("lock", b"me", ttl).await.unwrap());
        assert!(!store.set_if_absent("lock", b"you", ttl).await.unwrap());
        assert!(!store.compare_and_expire("lock", b"you", ttl).await.unwrap());
        assert!(store.compare_and_expire("lock", b"me", ttl).await.unwrap());
        assert!(!store.compare_and_delete("lock", b"you").await.unwrap());
        assert!(store.compare_and_delete("lock", b"me").await.unwrap());
        assert!(!store.exists("lock").await.unwrap());
    }

    #[tokio::test]
    async fn streams_are_keys_for_scan_exists_and_delete() {
        let store = adapter();
        store.set("app:kv:a", b"1", None).await.unwrap();
        store.stream_append("app:streams:s", &[("data", b"1")], None).await.unwrap();
        store.set("other:kv:a", b"1", None).await.unwrap();
        let (cursor, found) = store.scan("app:*", 0, 100).await.unwrap();
        assert_eq!((cursor, found), (0, keys(&["app:kv:a", "app:streams:s"])));
        assert!(store.exists("app:streams:s").await.unwrap());
        assert_eq!(store.delete(&keys(&["app:kv:a", "app:streams:s", "missing"])).await.unwrap(), 2);
        assert_eq!(store.stream_len("app:streams:s").await.unwrap(), 0);
        assert!(!store.exists("app:streams:s").await.unwrap());
    }

    #[tokio::test]
    async fn publish_counts_subscribers() {
        let store = adapter();
        assert_eq!(store.publish("ch", b"lost").await.unwrap(), 0);
        let mut first = store.subscribe("ch").await.unwrap();
        let mut second = store.subscribe("ch").await.unwrap();
        assert_eq!(store.publish("ch", b"hello").await.unwrap(), 2);
        assert_eq!(first.recv().await.unwrap(), b"hello");
        assert_eq!(second.recv().await.unwrap(), b"hello");
        drop(first);
        assert_eq!(store.publish("ch", b"again").await.unwrap(), 1);
    }
}

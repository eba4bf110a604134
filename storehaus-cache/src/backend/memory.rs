//! The in-process backend: a moka cache bounded in bytes, with per-entry expiry.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use storehaus_resilience::LocalBuckets;
use tokio::sync::{Mutex, broadcast, mpsc};

mod buffers;
mod pubsub;
mod shared;
mod streams;

use self::buffers::Buffers;
use self::shared::SharedMemory;
use super::{
    BoxFuture, BufferOp, BufferState, CacheBackend, EpochKey, FeedEvent, GuardedRead, InvalidationFeed, check_bucket,
};
use crate::error::{CacheError, CacheResult};
use crate::shared::SharedAdapter;
use crate::util::random_epoch;

#[derive(Clone)]
struct Slot {
    data: Arc<[u8]>,
    expires_at: Option<Instant>,
}

impl Slot {
    fn new(data: &[u8], ttl: Option<Duration>) -> Self {
        // A TTL beyond what `Instant` can hold is as good as none.
        Slot { data: data.into(), expires_at: ttl.and_then(|ttl| Instant::now().checked_add(ttl)) }
    }

    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

struct SlotExpiry;

impl Expiry<String, Slot> for SlotExpiry {
    fn expire_after_create(&self, _key: &String, slot: &Slot, created_at: Instant) -> Option<Duration> {
        slot.expires_at.map(|at| at.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        slot: &Slot,
        updated_at: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        slot.expires_at.map(|at| at.saturating_duration_since(updated_at))
    }
}

/// What one entry costs besides its key and value: the slot, the `Arc` and moka's bookkeeping.
const ENTRY_OVERHEAD: usize = 96;

/// The weight of an entry: its bytes, saturated to what moka counts in.
fn weigh(key: &str, slot: &Slot) -> u32 {
    u32::try_from(key.len() + slot.data.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

/// A backend that keeps everything in this process, for the embedded profile and for tests.
///
/// Entries are weighed by their bytes (key, value and a fixed overhead); beyond `max_bytes` the
/// least useful are evicted, which the cache protocol tolerates (an evicted epoch comes back
/// with a fresh random value). Counter buffers are kept apart and never evicted. Operations that touch several keys are serialised by one lock,
/// so each is atomic like its Redis script.
pub struct MemoryBackend {
    cache: Cache<String, Slot>,
    max_bytes: u64,
    writes: Mutex<()>,
    buffers: Buffers,
    /// Token buckets, kept apart like the buffers; full ones are forgotten.
    buckets: LocalBuckets,
    /// The state of shared stores built on this backend, made on first use.
    shared: OnceLock<Arc<SharedMemory>>,
    /// What [`CacheBackend::bump_epochs`] announces to the invalidation feeds.
    announcements: broadcast::Sender<Arc<[String]>>,
}

/// Announcements a slow feed may fall behind by before it counts as lost.
const ANNOUNCEMENTS_BACKLOG: usize = 1024;

impl MemoryBackend {
    /// A backend holding at most `max_bytes` bytes of keys and values.
    pub fn new(max_bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, slot: &Slot| weigh(key, slot))
            .expire_after(SlotExpiry)
            .build();
        MemoryBackend {
            cache,
            max_bytes,
            writes: Mutex::new(()),
            buffers: Buffers::default(),
            buckets: LocalBuckets::default(),
            shared: OnceLock::new(),
            announcements: broadcast::channel(ANNOUNCEMENTS_BACKLOG).0,
        }
    }

    /// A backend that never evicts: entries leave only when they expire or are removed.
    fn unbounded() -> Self {
        let cache = Cache::builder().expire_after(SlotExpiry).build();
        MemoryBackend {
            cache,
            max_bytes: u64::MAX,
            writes: Mutex::new(()),
            buffers: Buffers::default(),
            buckets: LocalBuckets::default(),
            shared: OnceLock::new(),
            announcements: broadcast::channel(ANNOUNCEMENTS_BACKLOG).0,
        }
    }

    /// Keys held, approximately (expired and evicted keys leave lazily).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Bytes held (keys, values and a fixed overhead per entry), approximately: moka applies
    /// inserts, evictions and expiries lazily; call [`MemoryBackend::sync`] first for a
    /// settled figure.
    pub fn weighted_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }

    /// The byte budget.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Applies pending inserts, evictions and expiries, so that [`entry_count`](Self::entry_count)
    /// and [`weighted_bytes`](Self::weighted_bytes) are exact.
    pub async fn sync(&self) {
        self.cache.run_pending_tasks().await;
    }

    /// The live slot of `key`: moka drops expired entries lazily, so expiry is checked here too.
    async fn live(&self, key: &str) -> Option<Slot> {
        self.cache.get(key).await.filter(|slot| slot.is_live(Instant::now()))
    }

    async fn epoch(&self, key: &str) -> Option<i64> {
        self.live(key).await.and_then(|slot| parse_i64(&slot.data))
    }

    async fn put(&self, key: &str, slot: Slot) {
        self.cache.insert(key.to_owned(), slot).await;
    }
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("entries", &self.cache.entry_count())
            .field("bytes", &self.cache.weighted_size())
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

fn parse_i64(data: &[u8]) -> Option<i64> {
    std::str::from_utf8(data).ok()?.parse().ok()
}

fn not_an_integer() -> CacheError {
    CacheError::Backend("value is not an integer or out of range".to_owned())
}

impl CacheBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn ping(&self) -> BoxFuture<'_, CacheResult<()>> {
        Box::pin(async { Ok(()) })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Vec<u8>>>> {
        Box::pin(async move { Ok(self.live(key).await.map(|slot| slot.data.to_vec())) })
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<Option<Vec<u8>>>>> {
        Box::pin(async move {
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(self.live(key).await.map(|slot| slot.data.to_vec()));
            }
            Ok(values)
        })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            self.put(key, Slot::new(value, ttl)).await;
            Ok(())
        })
    }

    fn set_many<'a>(
        &'a self,
        entries: &'a [(String, Vec<u8>)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            for (key, value) in entries {
                self.put(key, Slot::new(value, ttl)).await;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            let mut removed = 0;
            for key in keys {
                if self.cache.remove(key).await.is_some_and(|slot| slot.is_live(Instant::now())) {
                    removed += 1;
                }
            }
            Ok(removed)
        })
    }

    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Duration>>> {
        Box::pin(async move {
            let now = Instant::now();
            Ok(self.live(key).await.and_then(|slot| slot.expires_at).map(|at| at.saturating_duration_since(now)))
        })
    }

    fn incr_by<'a>(&'a self, key: &'a str, by: i64, ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<i64>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            let (current, expires_at) = match self.live(key).await {
                Some(slot) => (parse_i64(&slot.data).ok_or_else(not_an_integer)?, slot.expires_at),
                None => (0, None),
            };
            let value = current.checked_add(by).ok_or_else(not_an_integer)?;
            let expires_at = expires_at.or_else(|| ttl.map(|ttl| Instant::now() + ttl));
            self.put(key, Slot { data: value.to_string().as_bytes().into(), expires_at }).await;
            Ok(value)
        })
    }

    fn set_if_absent<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            if self.live(key).await.is_some() {
                return Ok(false);
            }
            self.put(key, Slot::new(value, Some(ttl))).await;
            Ok(true)
        })
    }

    fn compare_and_delete<'a>(&'a self, key: &'a str, expected: &'a [u8]) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            if self.live(key).await.is_some_and(|slot| *slot.data == *expected) {
                self.cache.invalidate(key).await;
                return Ok(true);
            }
            Ok(false)
        })
    }

    fn compare_and_expire<'a>(
        &'a self,
        key: &'a str,
        expected: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            match self.live(key).await {
                Some(slot) if *slot.data == *expected => {
                    self.put(key, Slot { data: slot.data, expires_at: Some(Instant::now() + ttl) }).await;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }

    fn read_with_epochs<'a>(
        &'a self,
        key: Option<&'a str>,
        epochs: &'a [EpochKey],
    ) -> BoxFuture<'a, CacheResult<GuardedRead>> {
        Box::pin(async move {
            let mut values = Vec::with_capacity(epochs.len());
            for epoch in epochs {
                match self.epoch(&epoch.key).await {
                    Some(value) => values.push(value),
                    None => break,
                }
            }
            if values.len() < epochs.len() {
                // Creating epochs must not race a bump or another creation.
                let _writes = self.writes.lock().await;
                values.clear();
                for epoch in epochs {
                    let value = match self.epoch(&epoch.key).await {
                        Some(value) => value,
                        None => {
                            let fresh = random_epoch();
                            self.put(&epoch.key, Slot::new(fresh.to_string().as_bytes(), epoch.ttl)).await;
                            fresh
                        }
                    };
                    values.push(value);
                }
            }
            let value = match key {
                Some(key) => self.live(key).await.map(|slot| slot.data.to_vec()),
                None => None,
            };
            Ok(GuardedRead { value, epochs: values })
        })
    }

    fn set_if_epochs<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Duration,
        epochs: &'a [(EpochKey, i64)],
    ) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            for (epoch, expected) in epochs {
                if self.epoch(&epoch.key).await != Some(*expected) {
                    return Ok(false);
                }
            }
            self.put(key, Slot::new(value, Some(ttl))).await;
            for (epoch, expected) in epochs {
                if epoch.ttl.is_some() {
                    self.put(&epoch.key, Slot::new(expected.to_string().as_bytes(), epoch.ttl)).await;
                }
            }
            Ok(true)
        })
    }

    fn bump_epochs<'a>(&'a self, epochs: &'a [String], delete: &'a [String]) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            let _writes = self.writes.lock().await;
            for key in epochs {
                if let Some(slot) = self.live(key).await {
                    let next = parse_i64(&slot.data).and_then(|v| v.checked_add(1)).ok_or_else(not_an_integer)?;
                    self.put(key, Slot { data: next.to_string().as_bytes().into(), expires_at: slot.expires_at }).await;
                }
            }
            for key in delete {
                self.cache.invalidate(key).await;
            }
            let keys: Arc<[String]> = epochs.iter().chain(delete).cloned().collect();
            if !keys.is_empty() {
                // No feed listening is no error.
                let _ = self.announcements.send(keys);
            }
            Ok(())
        })
    }

    fn invalidations(&self) -> BoxFuture<'_, CacheResult<InvalidationFeed>> {
        let mut announcements = self.announcements.subscribe();
        Box::pin(async move {
            let (sender, receiver) = mpsc::unbounded_channel();
            let _ = sender.send(FeedEvent::Live);
            tokio::spawn(async move {
                loop {
                    let event = tokio::select! {
                        received = announcements.recv() => received,
                        () = sender.closed() => return,
                    };
                    let sent = match event {
                        Ok(keys) => sender.send(FeedEvent::Invalidated(keys.to_vec())),
                        // Announcements were dropped: what they named is unknown.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            sender.send(FeedEvent::Lost).and_then(|()| sender.send(FeedEvent::Live))
                        }
                        Err(broadcast::error::RecvError::Closed) => {
                            let _ = sender.send(FeedEvent::Lost);
                            return;
                        }
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            });
            Ok(receiver)
        })
    }

    fn buffer_add<'a>(&'a self, key: &'a str, by: i64, op: BufferOp<'a>) -> BoxFuture<'a, CacheResult<BufferState>> {
        Box::pin(async move { self.buffers.add(key, by, op) })
    }

    fn buffer_read<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<BufferState>>> {
        Box::pin(async move { Ok(self.buffers.read(keys)) })
    }

    fn buffer_take<'a>(
        &'a self,
        keys: &'a [String],
        absolute: Option<i64>,
    ) -> BoxFuture<'a, CacheResult<Vec<BufferState>>> {
        Box::pin(async move { Ok(self.buffers.take(keys, absolute)) })
    }

    fn buffer_finish<'a>(&'a self, key: &'a str, seq: i64, base: i64) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move { Ok(self.buffers.finish(key, seq, base)) })
    }

    fn buffer_set_base<'a>(&'a self, key: &'a str, seq: i64, base: i64) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move { Ok(self.buffers.set_base(key, seq, base)) })
    }

    fn buffer_forget_base<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            self.buffers.forget_base(keys);
            Ok(())
        })
    }

    fn buffer_settle<'a>(
        &'a self,
        key: &'a str,
        ops: &'a str,
        op: &'a str,
        by: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move { self.buffers.settle(key, ops, op, by, ttl) })
    }

    fn buffer_acknowledge<'a>(&'a self, acked: &'a [(String, Vec<String>)]) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            self.buffers.acknowledge(acked);
            Ok(())
        })
    }

    fn take_token<'a>(
        &'a self,
        key: &'a str,
        per_second: f64,
        burst: u32,
    ) -> BoxFuture<'a, CacheResult<Option<Duration>>> {
        Box::pin(async move {
            let limit = check_bucket(per_second, burst)?;
            Ok(self.buckets.take(key, &limit).err())
        })
    }

    /// Returns every matching key at once (cursor 0): the cache's live keys and the buffers.
    fn scan<'a>(
        &'a self,
        pattern: &'a str,
        _cursor: u64,
        _count: usize,
    ) -> BoxFuture<'a, CacheResult<(u64, Vec<String>)>> {
        Box::pin(async move {
            let now = Instant::now();
            let mut keys: Vec<String> = self
                .cache
                .iter()
                .filter(|(key, slot)| slot.is_live(now) && crate::glob::glob_match(pattern, key))
                .map(|(key, _)| key.as_ref().clone())
                .collect();
            keys.extend(self.buffers.keys_matching(pattern));
            keys.sort_unstable();
            keys.dedup();
            Ok((0, keys))
        })
    }

    /// Shared stores get state of their own beside the cache, never evicted (as on a Redis
    /// without `maxmemory`): a held claim or a counter must not vanish to make room for rows.
    fn shared_adapter(self: Arc<Self>) -> Option<Arc<dyn SharedAdapter>> {
        Some(self.shared.get_or_init(|| Arc::new(SharedMemory::new(MemoryBackend::unbounded()))).clone())
    }
}

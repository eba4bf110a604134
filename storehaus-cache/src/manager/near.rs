//! The manager's side of near caches: following the invalidation feed, and reads through a
//! [`NearCache`].
//!
//! A near entry is stamped with the feed's generation and this process's invalidation counts
//! of its row and table ([`LocalEpochs`]) as they were before the read that produced it, and
//! is used only while all three are unchanged. Writes of this process bump the counts before
//! they return; the feed bumps them for every other process's writes, and bumps the generation
//! whenever it is lost or back, since announcements may have been missed in between.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use super::CacheManager;
use super::local::LocalEpochs;
use crate::backend::{CacheBackend, FeedEvent};
use crate::keys::RowKey;
use crate::near::{NearCache, Stamp};
use crate::stats::Counters;

/// Whether the feed is in place, and what it heard.
#[derive(Debug, Default)]
pub(super) struct FeedState {
    /// Bumped when the feed is lost and when it is back: entries stamped before are void.
    generation: AtomicU64,
    live: AtomicBool,
    /// The backend announces no invalidations: near caches are never used.
    unsupported: AtomicBool,
    pub(super) heard: AtomicU64,
    pub(super) lost: AtomicU64,
}

impl FeedState {
    pub(super) fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    fn set_live(&self, live: bool) {
        if !live && self.live.swap(false, Ordering::SeqCst) {
            Counters::add(&self.lost, 1);
        }
        // Lost: no stamp taken from now on matches an entry kept before. Live: none taken
        // while the feed was down matches either (none were kept, but a read may have begun).
        self.generation.fetch_add(1, Ordering::SeqCst);
        if live {
            self.live.store(true, Ordering::SeqCst);
        }
    }
}

/// The task following the feed; it ends with the manager.
#[derive(Debug)]
pub(super) struct FeedTask(JoinHandle<()>);

impl Drop for FeedTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Marks the feed lost when its task ends for any reason (aborted, its runtime shut down).
struct LostOnDrop(Arc<FeedState>);

impl Drop for LostOnDrop {
    fn drop(&mut self) {
        self.0.set_live(false);
    }
}

async fn follow(backend: Arc<dyn CacheBackend>, state: Arc<FeedState>, local: Arc<LocalEpochs>) {
    let _lost = LostOnDrop(Arc::clone(&state));
    let mut feed = match backend.invalidations().await {
        Ok(feed) => feed,
        Err(error) => {
            tracing::warn!(backend = backend.name(), %error, "near caches are not used: no invalidation feed");
            state.unsupported.store(true, Ordering::SeqCst);
            return;
        }
    };
    while let Some(event) = feed.recv().await {
        match event {
            FeedEvent::Live => state.set_live(true),
            FeedEvent::Lost => state.set_live(false),
            FeedEvent::Invalidated(keys) => {
                for key in &keys {
                    local.bump(key);
                }
                Counters::add(&state.heard, keys.len() as u64);
            }
        }
    }
}

impl CacheManager {
    /// The row of `key` from `near`, else as [`get_or_load`](Self::get_or_load) finds it,
    /// then kept in `near`. See [`NearCache`] for how long another process's write can go
    /// unseen.
    pub async fn get_or_load_near<T, E, F, Fut>(
        &self,
        near: &NearCache,
        key: &RowKey,
        ttl: Duration,
        load: F,
    ) -> Result<Option<T>, E>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        E: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let stamp = self.near_stamp(key);
        if let Some(stamp) = stamp {
            if let Some(value) = near.get::<Option<T>>(key.entry(), stamp) {
                Counters::add(&self.counters.near_hits, 1);
                return Ok(value);
            }
            Counters::add(&self.counters.near_misses, 1);
        }
        let value = self.get_or_load(key, ttl, load).await?;
        if let Some(stamp) = stamp
            && (value.is_some() || !self.negative_ttl.is_zero())
        {
            near.insert(key.entry(), stamp, value.clone());
        }
        Ok(value)
    }

    /// What a near entry of `key` read now must be stamped with; `None` while the feed is not
    /// in place, when near caches are neither read nor filled.
    fn near_stamp(&self, key: &RowKey) -> Option<Stamp> {
        self.follow_invalidations();
        let feed = self.feed.generation.load(Ordering::SeqCst);
        if !self.feed.is_live() {
            return None;
        }
        Some(Stamp { feed, row: self.local.of(key.entry()), table: self.local.of(key.table_epoch()) })
    }

    /// Starts following the backend's invalidations unless that is under way, or impossible
    /// (no runtime, a backend without a feed).
    fn follow_invalidations(&self) {
        if self.feed.is_live() || self.feed.unsupported.load(Ordering::SeqCst) {
            return;
        }
        let mut task = self.feed_task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if task.as_ref().is_some_and(|task| !task.0.is_finished()) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let following = follow(Arc::clone(&self.backend), Arc::clone(&self.feed), Arc::clone(&self.local));
            *task = Some(FeedTask(runtime.spawn(following)));
        }
    }
}

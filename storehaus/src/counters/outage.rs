//! What the counters remember about a cache outage: when to try the cache again, increments
//! whose cache answer was lost (counted in the database since, and perhaps in the cache too),
//! and counters written in the database meanwhile (their recorded base is stale).

use crate::cache::{CacheError, CacheManager};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An add whose answer was lost: recorded as `op` in the hash `ops` if it took place.
#[derive(Debug, Clone)]
pub(crate) struct Doubt {
    pub buffer: String,
    pub ops: String,
    pub op: String,
    pub by: i64,
}

/// Answered ids kept, over all owners, before they are dropped from the cache without waiting
/// for a sync.
const MAX_ACKED: usize = 10_000;

/// Answered ids dropped with one add, at most (a script's arguments are bounded).
const MAX_ACKED_PER_ADD: usize = 256;

#[derive(Debug, Default)]
struct State {
    down_until: Option<Instant>,
    doubts: Vec<Doubt>,
    written_directly: HashSet<String>,
    acked: HashMap<String, Vec<String>>,
    acked_total: usize,
}

#[derive(Debug)]
pub(crate) struct Outage {
    retry_after: Duration,
    state: Mutex<State>,
}

impl Outage {
    pub(crate) fn new(retry_after: Duration) -> Self {
        Outage { retry_after, state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the cache failed less than `retry_after` ago.
    pub(crate) fn is_down(&self) -> bool {
        self.lock().down_until.is_some_and(|until| until > Instant::now())
    }

    pub(crate) fn mark_down(&self) {
        self.lock().down_until = Some(Instant::now() + self.retry_after);
    }

    /// Whether something must be settled before the cache's numbers can be trusted again.
    pub(crate) fn needs_recovery(&self) -> bool {
        let state = self.lock();
        !state.doubts.is_empty() || !state.written_directly.is_empty()
    }

    pub(crate) fn doubt(&self, doubt: Doubt) {
        let mut state = self.lock();
        state.written_directly.insert(doubt.buffer.clone());
        state.doubts.push(doubt);
    }

    pub(crate) fn written_directly(&self, buffer: String) {
        self.lock().written_directly.insert(buffer);
    }

    /// The acknowledged ids of `ops`, to drop from it with the next add.
    pub(crate) fn take_acked(&self, ops: &str) -> Vec<String> {
        let mut state = self.lock();
        let Some(waiting) = state.acked.get_mut(ops) else {
            return Vec::new();
        };
        let acked = if waiting.len() > MAX_ACKED_PER_ADD {
            waiting.split_off(waiting.len() - MAX_ACKED_PER_ADD)
        } else {
            state.acked.remove(ops).unwrap_or_default()
        };
        state.acked_total -= acked.len();
        acked
    }

    /// Notes that the add `op` recorded in `ops` was answered; returns whether enough such ids
    /// wait to be worth dropping from the cache at once ([`take_all_acked`](Self::take_all_acked)).
    pub(crate) fn acked(&self, ops: String, op: String) -> bool {
        let mut state = self.lock();
        state.acked.entry(ops).or_default().push(op);
        state.acked_total += 1;
        state.acked_total >= MAX_ACKED
    }

    /// Every answered id not dropped yet, by hash; a sync drops them so that the hashes of owners
    /// no longer counted do not linger until they expire.
    pub(crate) fn take_all_acked(&self) -> Vec<(String, Vec<String>)> {
        let mut state = self.lock();
        state.acked_total = 0;
        state.acked.drain().collect()
    }

    /// Undoes in the cache the doubtful adds that took place there, then forgets the bases of
    /// the counters written in the database. Returns how many adds were undone; on a cache
    /// error, what is left stays for the next attempt.
    pub(crate) async fn recover(&self, cache: &CacheManager) -> Result<u64, CacheError> {
        let doubts = std::mem::take(&mut self.lock().doubts);
        let mut undone = 0;
        for (done, doubt) in doubts.iter().enumerate() {
            match cache.buffer_settle(&doubt.buffer, &doubt.ops, &doubt.op, doubt.by, super::OPS_TTL).await {
                Ok(true) => undone += 1,
                Ok(false) => {}
                Err(error) => {
                    self.lock().doubts.extend_from_slice(&doubts[done..]);
                    return Err(error);
                }
            }
        }
        let written: Vec<String> = self.lock().written_directly.drain().collect();
        if let Err(error) = cache.buffer_forget_base(&written).await {
            self.lock().written_directly.extend(written);
            return Err(error);
        }
        Ok(undone)
    }
}

/// Whether a cache error means the cache may be unreachable (the operation may or may not have
/// taken place), rather than that it refused the operation.
pub(crate) fn is_outage(error: &CacheError) -> bool {
    matches!(error, CacheError::Unavailable(_) | CacheError::Timeout(_))
}

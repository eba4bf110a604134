//! [`Registry`]: the registered callbacks, their failure streaks and when they last ran.

use super::{CallbackId, CallbackResult, Subscription};
use crate::{BoxFuture, DatabaseEvent, SignalError};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A callback with its arguments erased, so callbacks of every closure type share one map.
pub(crate) type Callback = Box<dyn Fn(DatabaseEvent) -> BoxFuture<'static, CallbackResult> + Send + Sync>;

/// Why a callback is removed by id (inactive ones go in bulk, see [`Registry::remove_idle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    Unsubscribed,
    Failing,
}

/// One registered callback.
pub(crate) struct Entry {
    pub(crate) id: CallbackId,
    subscription: Subscription,
    callback: Callback,
    consecutive_failures: AtomicU32,
    last_active: Mutex<Instant>,
}

impl Entry {
    /// Starts one run. Building the future is user code too, so it is deferred into the future
    /// that the caller guards against panics.
    pub(crate) fn call(self: &Arc<Self>, event: DatabaseEvent) -> BoxFuture<'static, CallbackResult> {
        let entry = Arc::clone(self);
        Box::pin(async move { (entry.callback)(event).await })
    }

    pub(crate) fn touch(&self) {
        *lock(&self.last_active) = Instant::now();
    }

    pub(crate) fn succeeded(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.touch();
    }

    /// Records a failure; returns the length of the current streak of failures.
    pub(crate) fn failed(&self) -> u32 {
        self.touch();
        self.consecutive_failures.fetch_add(1, Ordering::Relaxed).saturating_add(1)
    }

    fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(*lock(&self.last_active))
    }
}

/// Counts of callbacks removed, by reason.
#[derive(Debug, Default)]
pub(crate) struct Removals {
    pub(crate) unsubscribed: AtomicU64,
    pub(crate) failing: AtomicU64,
    pub(crate) inactive: AtomicU64,
}

/// The callbacks of one manager, in registration order.
pub(crate) struct Registry {
    entries: Mutex<BTreeMap<CallbackId, Arc<Entry>>>,
    next_id: AtomicU64,
    limit: usize,
    pub(crate) removals: Removals,
}

impl Registry {
    pub(crate) fn new(limit: usize) -> Self {
        Registry {
            entries: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            limit,
            removals: Removals::default(),
        }
    }

    pub(crate) fn insert(&self, subscription: Subscription, callback: Callback) -> Result<CallbackId, SignalError> {
        let mut entries = lock(&self.entries);
        if entries.len() >= self.limit {
            return Err(SignalError::TooManyCallbacks { limit: self.limit });
        }
        let id = CallbackId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let entry = Entry {
            id,
            subscription,
            callback,
            consecutive_failures: AtomicU32::new(0),
            last_active: Mutex::new(Instant::now()),
        };
        entries.insert(id, Arc::new(entry));
        Ok(id)
    }

    /// Removes `id`; `false` when it was not registered.
    pub(crate) fn remove(&self, id: CallbackId, why: Removal) -> bool {
        let removed = lock(&self.entries).remove(&id).is_some();
        if removed {
            let counter = match why {
                Removal::Unsubscribed => &self.removals.unsubscribed,
                Removal::Failing => &self.removals.failing,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        removed
    }

    pub(crate) fn contains(&self, id: CallbackId) -> bool {
        lock(&self.entries).contains_key(&id)
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// The callbacks that receive `event`, in registration order.
    pub(crate) fn matching(&self, event: &DatabaseEvent) -> Vec<Arc<Entry>> {
        lock(&self.entries).values().filter(|entry| entry.subscription.matches(event)).cloned().collect()
    }

    /// Removes callbacks that have not run for `threshold`, except those kept when idle; returns
    /// how many.
    pub(crate) fn remove_idle(&self, threshold: Duration) -> usize {
        let now = Instant::now();
        let mut entries = lock(&self.entries);
        let before = entries.len();
        entries.retain(|_, entry| entry.subscription.is_kept_when_idle() || entry.idle_for(now) < threshold);
        let removed = before - entries.len();
        self.removals.inactive.fetch_add(removed as u64, Ordering::Relaxed);
        removed
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("callbacks", &self.len()).field("limit", &self.limit).finish()
    }
}

/// No user code runs under these locks, so a poisoned one still holds consistent data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventType;

    fn noop() -> Callback {
        Box::new(|_| Box::pin(async { Ok(()) }))
    }

    #[test]
    fn enforces_the_limit_and_counts_removals() {
        let registry = Registry::new(2);
        let a = registry.insert(Subscription::all(), noop()).unwrap();
        let b = registry.insert(Subscription::table("users"), noop()).unwrap();
        assert!(matches!(
            registry.insert(Subscription::all(), noop()),
            Err(SignalError::TooManyCallbacks { limit: 2 })
        ));
        assert!(registry.remove(a, Removal::Unsubscribed));
        assert!(!registry.remove(a, Removal::Unsubscribed));
        registry.insert(Subscription::all(), noop()).unwrap();
        assert!(registry.remove(b, Removal::Failing));
        assert_eq!(registry.removals.unsubscribed.load(Ordering::Relaxed), 1);
        assert_eq!(registry.removals.failing.load(Ordering::Relaxed), 1);
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn matching_keeps_registration_order() {
        let registry = Registry::new(10);
        let a = registry.insert(Subscription::all(), noop()).unwrap();
        registry.insert(Subscription::table("orders"), noop()).unwrap();
        let c = registry.insert(Subscription::table("users"), noop()).unwrap();
        let event = DatabaseEvent::new(EventType::Create, "users", "1", serde_json::Value::Null);
        let ids: Vec<_> = registry.matching(&event).iter().map(|e| e.id).collect();
        assert_eq!(ids, [a, c]);
    }

    #[test]
    fn failure_streaks_reset_on_success() {
        let registry = Registry::new(1);
        registry.insert(Subscription::all(), noop()).unwrap();
        let event = DatabaseEvent::new(EventType::Create, "users", "1", serde_json::Value::Null);
        let entry = registry.matching(&event).remove(0);
        assert_eq!(entry.failed(), 1);
        assert_eq!(entry.failed(), 2);
        entry.succeeded();
        assert_eq!(entry.failed(), 1);
    }

    #[test]
    fn idle_removal_spares_kept_callbacks() {
        let registry = Registry::new(10);
        registry.insert(Subscription::all(), noop()).unwrap();
        let kept = registry.insert(Subscription::all().keep_when_idle(), noop()).unwrap();
        assert_eq!(registry.remove_idle(Duration::from_secs(3600)), 0);
        assert_eq!(registry.remove_idle(Duration::ZERO), 1);
        assert!(registry.contains(kept));
        assert_eq!(registry.removals.inactive.load(Ordering::Relaxed), 1);
    }
}

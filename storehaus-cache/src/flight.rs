//! Single flight: concurrent misses for one key in one process run one load.
//!
//! The first caller of a key becomes the leader and loads; later callers of the same key wait
//! for the leader's outcome. The key a caller joins under includes the epochs it read, so a
//! caller that started after a write never joins a load that started before it.
//!
//! The map holds a flight only while its leader runs: the leader removes it when it finishes
//! and, through `Drop`, when it is cancelled; waiters of a cancelled leader see the channel
//! close and load for themselves.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

/// What a leader shares with its waiters.
#[derive(Debug, Clone)]
pub(crate) enum Outcome<E> {
    /// The loaded value, encoded; each waiter decodes its own copy.
    Found(Arc<[u8]>),
    /// The load found nothing.
    Absent,
    /// The load failed with this error.
    Failed(E),
    /// The value could not be encoded; waiters load for themselves.
    Unshared,
}

type Channel<E> = watch::Sender<Option<Outcome<E>>>;

/// The flights of one manager.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
}

/// How a caller takes part in the flight of its key.
pub(crate) enum Role<'a, E> {
    /// Load, then call [`Leader::finish`].
    Leader(Leader<'a, E>),
    /// Wait for the leader with [`wait`].
    Waiter(watch::Receiver<Option<Outcome<E>>>),
    /// Another call is loading the key with different types; load without sharing.
    Alone,
}

pub(crate) struct Leader<'a, E> {
    flights: &'a Flights,
    key: String,
    channel: Arc<Channel<E>>,
}

impl Flights {
    /// Flights running now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Joins the flight of `key`, starting it when there is none.
    pub(crate) fn join<E: Clone + Send + Sync + 'static>(&self, key: String) -> Role<'_, E> {
        let mut map = self.lock();
        if let Some(existing) = map.get(&key) {
            return match existing.downcast_ref::<Channel<E>>() {
                Some(channel) => Role::Waiter(channel.subscribe()),
                None => Role::Alone,
            };
        }
        let channel: Arc<Channel<E>> = Arc::new(watch::channel(None).0);
        map.insert(key.clone(), channel.clone());
        Role::Leader(Leader { flights: self, key, channel })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<dyn Any + Send + Sync>>> {
        // Every update is one insert or remove, so a poisoned map is still consistent.
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<E> Leader<'_, E> {
    /// Ends the flight and hands `outcome` to every waiter.
    pub(crate) fn finish(self, outcome: Outcome<E>) {
        self.remove();
        self.channel.send_replace(Some(outcome));
    }

    fn remove(&self) {
        let mut map = self.flights.lock();
        let ours =
            map.get(&self.key).is_some_and(|entry| std::ptr::addr_eq(Arc::as_ptr(entry), Arc::as_ptr(&self.channel)));
        if ours {
            map.remove(&self.key);
        }
    }
}

impl<E> Drop for Leader<'_, E> {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The leader's outcome, or `None` when the leader was cancelled before it finished.
pub(crate) async fn wait<E: Clone>(mut receiver: watch::Receiver<Option<Outcome<E>>>) -> Option<Outcome<E>> {
    let outcome = receiver.wait_for(Option::is_some).await.ok()?;
    outcome.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_get_the_outcome_and_the_map_empties() {
        let flights = Flights::default();
        let Role::Leader(leader) = flights.join::<String>("k".into()) else { panic!("first caller leads") };
        let Role::Waiter(waiter) = flights.join::<String>("k".into()) else { panic!("second caller waits") };
        assert!(matches!(flights.join::<u8>("k".into()), Role::Alone));
        assert_eq!(flights.len(), 1);
        leader.finish(Outcome::Failed("boom".to_owned()));
        assert_eq!(flights.len(), 0);
        assert!(matches!(wait(waiter).await, Some(Outcome::Failed(e)) if e == "boom"));
    }

    #[tokio::test]
    async fn a_cancelled_leader_releases_its_waiters() {
        let flights = Flights::default();
        let leader = flights.join::<String>("k".into());
        let Role::Waiter(waiter) = flights.join::<String>("k".into()) else { panic!("second caller waits") };
        drop(leader);
        assert_eq!(flights.len(), 0);
        assert!(wait(waiter).await.is_none());
        assert!(matches!(flights.join::<String>("k".into()), Role::Leader(_)));
    }
}

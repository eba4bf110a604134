//! The change events a signal manager delivers, collected for suites that check them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storehaus::signals::{CallbackResult, DatabaseEvent, SignalManager, Subscription};

/// Every event a manager delivers, in delivery order, with when it arrived.
#[derive(Debug, Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<(DatabaseEvent, Instant)>>>);

impl Inbox {
    /// An inbox receiving every event `manager` delivers from now on.
    pub fn attached(manager: &SignalManager) -> Inbox {
        Inbox::attached_for(manager, Subscription::all())
    }

    /// An inbox receiving the events of `subscription` that `manager` delivers from now on.
    pub fn attached_for(manager: &SignalManager, subscription: Subscription) -> Inbox {
        let inbox = Inbox::default();
        manager.add_callback_for(subscription, inbox.recorder()).unwrap();
        inbox
    }

    /// A callback (for a manager or a durable consumer) that puts each event in this inbox and
    /// succeeds.
    pub fn recorder(&self) -> impl Fn(DatabaseEvent) -> std::future::Ready<CallbackResult> + Send + Sync + 'static {
        let inbox = self.clone();
        move |event| {
            inbox.push(event);
            std::future::ready(Ok(()))
        }
    }

    /// Puts an event in the inbox, as received now.
    pub fn push(&self, event: DatabaseEvent) {
        self.0.lock().unwrap().push((event, Instant::now()));
    }

    /// The record ids of every event received so far, in order.
    pub fn record_ids(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|(event, _)| event.record_id.clone()).collect()
    }

    /// Every event received so far.
    pub fn events(&self) -> Vec<DatabaseEvent> {
        self.0.lock().unwrap().iter().map(|(event, _)| event.clone()).collect()
    }

    /// When each event arrived, in delivery order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.0.lock().unwrap().iter().map(|(_, at)| *at).collect()
    }

    /// Every event, once at least `count` arrived (or `limit` passed).
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<DatabaseEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        while self.len() < count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.events()
    }

    /// Events received so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Whether none arrived yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events after the first `from`, once more than `from` arrived (or `limit` passed).
    pub async fn after(&self, from: usize, limit: Duration) -> Vec<DatabaseEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        while self.len() <= from && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut events = self.events();
        events.split_off(from.min(events.len()))
    }

    /// The events after the first `from`, once `count` more arrived (or 10 s passed) and a
    /// `quiet` spell showed that no further one comes.
    pub async fn settled_after(&self, from: usize, count: usize, quiet: Duration) -> Vec<DatabaseEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.len() < from + count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(quiet).await;
        let mut events = self.events();
        events.split_off(from.min(events.len()))
    }
}

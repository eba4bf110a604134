//! The change events a signal manager delivers, collected for suites that check them.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use storehaus::signals::{DatabaseEvent, SignalManager, Subscription};

/// Every event a manager delivers, in delivery order.
#[derive(Debug, Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<DatabaseEvent>>>);

impl Inbox {
    /// An inbox receiving every event `manager` delivers from now on.
    pub fn attached(manager: &SignalManager) -> Inbox {
        Inbox::attached_for(manager, Subscription::all())
    }

    /// An inbox receiving the events of `subscription` that `manager` delivers from now on.
    pub fn attached_for(manager: &SignalManager, subscription: Subscription) -> Inbox {
        let inbox = Inbox::default();
        let sink = inbox.clone();
        manager
            .add_callback_for(subscription, move |event| {
                let sink = sink.clone();
                async move {
                    sink.0.lock().unwrap().push(event);
                    Ok(())
                }
            })
            .unwrap();
        inbox
    }

    /// Every event received so far.
    pub fn events(&self) -> Vec<DatabaseEvent> {
        self.0.lock().unwrap().clone()
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
        self.0.lock().unwrap()[from..].to_vec()
    }

    /// The events after the first `from`, once `count` more arrived (or 10 s passed) and a
    /// `quiet` spell showed that no further one comes.
    pub async fn settled_after(&self, from: usize, count: usize, quiet: Duration) -> Vec<DatabaseEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.len() < from + count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(quiet).await;
        self.0.lock().unwrap()[from..].to_vec()
    }
}

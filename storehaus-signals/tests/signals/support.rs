//! Helpers shared by the suites: a manager over a `MemorySource`, events, recorders, polling.

use serde_json::json;
use std::future::Ready;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storehaus_signals::{CallbackResult, DatabaseEvent, EventType, MemorySource, SignalConfig, SignalManager};

/// Long enough for a loaded machine; waits end as soon as their condition holds.
const PATIENCE: Duration = Duration::from_secs(30);

/// Settings that keep tests quick and free of surprise removals: a one-second heartbeat, no
/// inactivity removal, cleanup out of the way.
pub fn config() -> SignalConfig {
    SignalConfig {
        heartbeat_seconds: 1,
        callback_timeout_seconds: 10,
        auto_remove_inactive_callbacks: false,
        cleanup_interval_seconds: 3600,
        ..SignalConfig::default()
    }
}

pub async fn start(config: SignalConfig) -> (Arc<MemorySource>, Arc<SignalManager>) {
    let source = Arc::new(MemorySource::new());
    let manager = SignalManager::start(config, source.clone()).await.expect("manager starts");
    wait_until("the listener to connect", || manager.get_stats().listener_connected).await;
    (source, manager)
}

pub fn event(event_type: EventType, table: &str) -> DatabaseEvent {
    DatabaseEvent::new(event_type, table, "1", json!({}))
}

pub fn create(table: &str) -> DatabaseEvent {
    event(EventType::Create, table)
}

/// Polls `done` every 10 ms; panics after [`PATIENCE`].
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn wait_delivered(manager: &SignalManager, n: u64) {
    wait_until(&format!("{n} events delivered"), || manager.get_stats().events_delivered >= n).await;
}

/// Records the ids of the events a callback received.
#[derive(Debug, Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<i64>>>);

impl Seen {
    pub fn ids(&self) -> Vec<i64> {
        self.0.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn callback(&self) -> impl Fn(DatabaseEvent) -> Ready<CallbackResult> + Send + Sync + 'static {
        let seen = self.clone();
        move |event| {
            seen.0.lock().unwrap().push(event.id);
            std::future::ready(Ok(()))
        }
    }
}

//! The change events of `demo_authors`, checked against the demo's committed writes.

use crate::Res;
use std::time::Duration;
use storehaus::prelude::Uuid;
use storehaus::signals::EventType;
use tokio::sync::mpsc;

/// How long a committed write's event may take to arrive.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The events of `demo_authors` as the subscription delivers them, and those the demo's committed
/// writes should have produced, in order.
pub struct Events {
    receiver: mpsc::UnboundedReceiver<(EventType, String)>,
    expected: Vec<(EventType, String)>,
    received: Vec<(EventType, String)>,
}

impl Events {
    pub fn new(receiver: mpsc::UnboundedReceiver<(EventType, String)>) -> Self {
        Events { receiver, expected: Vec::new(), received: Vec::new() }
    }

    pub fn expect(&mut self, kind: EventType, id: Uuid) {
        self.expected.push((kind, id.to_string()));
    }

    /// The events that arrived so far.
    pub fn received(&self) -> &[(EventType, String)] {
        &self.received
    }

    /// Waits until the expected events have arrived (at most [`EVENT_TIMEOUT`]), then checks that
    /// exactly they arrived, in order: a rolled-back write's event would come before later ones.
    pub async fn settle(&mut self) -> Res {
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        while self.received.len() < self.expected.len() {
            match tokio::time::timeout_at(deadline, self.receiver.recv()).await {
                Ok(Some(event)) => self.received.push(event),
                Ok(None) | Err(_) => break,
            }
        }
        if self.received != self.expected {
            let (expected, received) = (&self.expected, &self.received);
            return Err(format!("signals: expected the events {expected:?}, received {received:?}").into());
        }
        Ok(())
    }

    /// Fails if any event arrives within `window`: used while a transaction is still open.
    pub async fn quiet(&mut self, window: Duration) -> Res {
        match tokio::time::timeout(window, self.receiver.recv()).await {
            Ok(Some(event)) => Err(format!("signals: {event:?} arrived before its transaction committed").into()),
            Ok(None) | Err(_) => Ok(()),
        }
    }
}

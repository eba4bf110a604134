//! The doorbell of a [`MemorySource`](super::MemorySource).

use crate::{BoxFuture, Doorbell, SourceError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// The source's end of one doorbell.
#[derive(Debug, Default)]
pub(super) struct Bell {
    notify: Notify,
    broken: AtomicBool,
}

impl Bell {
    /// Rings; rings before the next wait fold into one, as `NOTIFY` does within a transaction.
    pub(super) fn ring(&self) {
        self.notify.notify_one();
    }

    /// Cuts the connection: the subscriber's next (or current) wait fails.
    pub(super) fn break_off(&self) {
        self.broken.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }

    fn check(&self) -> Result<(), SourceError> {
        if self.broken.load(Ordering::SeqCst) { Err("the in-memory doorbell was dropped".into()) } else { Ok(()) }
    }
}

/// The subscriber's end; the source counts it as subscribed until it is dropped.
#[derive(Debug)]
pub(super) struct MemoryDoorbell(pub(super) Arc<Bell>);

impl Doorbell for MemoryDoorbell {
    fn ring(&mut self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            self.0.check()?;
            self.0.notify.notified().await;
            self.0.check()
        })
    }

    fn heartbeat(&mut self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move { self.0.check() })
    }
}

//! [`SharedStats`]: what a shared store has done so far.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one built [`SharedStore`](super::SharedStore), shared by all its scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedStats {
    /// Calls made to the storage.
    pub operations: u64,
    /// Calls that failed (unreachable, timed out or refused).
    pub failures: u64,
    /// Events published.
    pub published: u64,
    /// Events and stream messages handed to the application.
    pub delivered: u64,
    /// Events and stream messages that did not decode and were not handed over.
    pub invalid_payloads: u64,
    /// Event handlers that panicked.
    pub handler_failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    operations: AtomicU64,
    failures: AtomicU64,
    published: AtomicU64,
    delivered: AtomicU64,
    invalid_payloads: AtomicU64,
    handler_failures: AtomicU64,
}

impl Stats {
    pub(crate) fn count(&self, ok: bool) {
        self.operations.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn delivered(&self, n: u64) {
        self.delivered.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn invalid(&self) {
        self.invalid_payloads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handler_failed(&self) {
        self.handler_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SharedStats {
        SharedStats {
            operations: self.operations.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            invalid_payloads: self.invalid_payloads.load(Ordering::Relaxed),
            handler_failures: self.handler_failures.load(Ordering::Relaxed),
        }
    }
}

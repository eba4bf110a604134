//! Invalidations that could not reach the backend.
//!
//! A committed write whose invalidation failed leaves its table here; until a retry bumps the
//! table's epoch and generation, this process neither reads nor fills that table's entries, so
//! it cannot serve what the write replaced. Retries ride on later calls (one at a time), which
//! the backend refuses at once while it backs off, so they add no connection attempts.
//!
//! An open circuit breaker refuses an invalidation like an unreachable backend, so it lands
//! here too; and since a table's reads retry its pending invalidation before anything else,
//! the first of them after the breaker lets calls through again flushes it (as the probe, or
//! after whichever call closed the breaker) before the table's entries are used.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A table to invalidate: its epoch key, generation key and the sequence number of its failure.
pub(super) type PendingTable = (String, String, u64);

#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Table epoch key → (generation key, sequence number of the latest failure).
    tables: Mutex<HashMap<String, (String, u64)>>,
    any: AtomicBool,
    next: AtomicU64,
    /// Held while a retry runs.
    retrying: tokio::sync::Mutex<()>,
}

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Acquire)
    }

    pub(super) fn contains(&self, table_epoch: &str) -> bool {
        !self.is_empty() && self.lock().contains_key(table_epoch)
    }

    pub(super) fn add(&self, table_epoch: &str, generation: &str) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(table_epoch.to_owned(), (generation.to_owned(), seq));
        self.any.store(true, Ordering::Release);
    }

    /// Starts a retry unless one is running: the guard and the tables to invalidate.
    pub(super) fn begin_retry(&self) -> Option<(tokio::sync::MutexGuard<'_, ()>, Vec<PendingTable>)> {
        let guard = self.retrying.try_lock().ok()?;
        let tables: Vec<_> = self.lock().iter().map(|(e, (g, seq))| (e.clone(), g.clone(), *seq)).collect();
        (!tables.is_empty()).then_some((guard, tables))
    }

    /// Forgets the tables a retry invalidated, unless they failed again since it started.
    pub(super) fn done(&self, tables: &[PendingTable]) {
        let mut map = self.lock();
        for (epoch, _, seq) in tables {
            if map.get(epoch).is_some_and(|(_, current)| current == seq) {
                map.remove(epoch);
            }
        }
        self.any.store(!map.is_empty(), Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (String, u64)>> {
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

//! What a sync is asked to do and what it reports, and the counters' statistics.

use crate::error::{Result, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters a sync hands over per database transaction when [`SyncOptions::batch_size`] is 0.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// The largest [`SyncOptions::batch_size`].
pub const MAX_BATCH_SIZE: usize = 10_000;

/// The longest sync pattern, in bytes.
const MAX_PATTERN_LEN: usize = 1024;

/// What [`Counters::sync`](super::Counters::sync) does.
///
/// ```
/// use storehaus::counters::SyncOptions;
///
/// let preview = SyncOptions::default().dry_run().pattern("user:*:downloads");
/// assert!(preview.dry_run);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Report what would be synced and change nothing.
    pub dry_run: bool,
    /// Sync only the counters whose `kind:id:key` matches this glob (`*`, `?`, `[...]`):
    /// `"user:*"`, `"user:42:*"`, `"*:downloads"`. All of them when `None`.
    pub pattern: Option<String>,
    /// Counters per database transaction (and per cache scan step); 0 means
    /// [`DEFAULT_BATCH_SIZE`], at most [`MAX_BATCH_SIZE`].
    pub batch_size: usize,
}

impl SyncOptions {
    /// Only reports.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Only the counters matching `pattern`.
    pub fn pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }

    /// `n` counters per transaction.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    pub(crate) fn validated_batch(&self) -> Result<usize> {
        if self.batch_size > MAX_BATCH_SIZE {
            return Err(StoreError::validation(
                "batch_size",
                format!("a sync batch is at most {MAX_BATCH_SIZE} counters, not {}", self.batch_size),
            ));
        }
        if let Some(pattern) = &self.pattern
            && (pattern.len() > MAX_PATTERN_LEN || pattern.contains('\0'))
        {
            return Err(StoreError::validation(
                "pattern",
                format!("a pattern is at most {MAX_PATTERN_LEN} bytes, without NUL"),
            ));
        }
        Ok(if self.batch_size == 0 { DEFAULT_BATCH_SIZE } else { self.batch_size })
    }
}

/// What a sync did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// Counters handed over to the database (for a dry run: with something to hand over).
    pub keys: u64,
    /// The sum of the increments handed over (values given to `set` are not increments).
    pub delta_total: i64,
    /// Row writes (inserts and updates) the sync made; 0 for a dry run. A counter whose earlier
    /// hand-over was still pending is written twice (that amount, then what came since); a
    /// hand-over another sync had already applied is not written again.
    pub rows_written: u64,
    /// How long the sync took.
    pub elapsed: Duration,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// What [`Counters::stats`](super::Counters::stats) reports, since the counters were built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CounterStats {
    /// Increments buffered in the cache.
    pub buffered: u64,
    /// Increments written straight to the database (direct mode and fallbacks).
    pub direct: u64,
    /// Of those, increments written to the database because the cache failed.
    pub fallbacks: u64,
    /// Increments whose cache answer was lost, found applied there after all and undone there
    /// (they had been counted in the database).
    pub settled: u64,
    /// Syncs that completed.
    pub syncs: u64,
    /// Syncs that failed (their hand-overs are finished by a later sync).
    pub failed_syncs: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub buffered: AtomicU64,
    pub direct: AtomicU64,
    pub fallbacks: AtomicU64,
    pub settled: AtomicU64,
    pub syncs: AtomicU64,
    pub failed_syncs: AtomicU64,
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CounterStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CounterStats {
            buffered: read(&self.buffered),
            direct: read(&self.direct),
            fallbacks: read(&self.fallbacks),
            settled: read(&self.settled),
            syncs: read(&self.syncs),
            failed_syncs: read(&self.failed_syncs),
        }
    }
}

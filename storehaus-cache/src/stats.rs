//! Counters of what the cache did, for metrics and tests.

use std::sync::atomic::{AtomicU64, Ordering};

use storehaus_resilience::{BreakerState, BreakerStats};

/// A snapshot of a [`CacheManager`](crate::CacheManager)'s counters since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads answered from the cache, remembered absences included.
    pub hits: u64,
    /// Reads the cache could not answer.
    pub misses: u64,
    /// Backend calls that failed, timeouts not included.
    pub errors: u64,
    /// Backend calls that took longer than `timeout_ms`.
    pub timeouts: u64,
    /// Values (or absences) written to the cache after a load.
    pub fills: u64,
    /// Fills refused because a write invalidated the entry while it was being loaded.
    pub stale_fills_refused: u64,
    /// Loaded rows and query results not kept because their entry exceeds `max_entry_bytes`
    /// (they were still returned to the caller).
    pub oversized_skipped: u64,
    /// Rows and tables invalidated.
    pub invalidations: u64,
    /// Invalidations that could not reach the backend and were queued for a retry.
    pub invalidations_deferred: u64,
    /// Callers that waited for another caller's load of the same key instead of loading.
    pub single_flight_joins: u64,
    /// Loads running now (a gauge, not a counter).
    pub in_flight: u64,
    /// Connection attempts of the backend (0 for the in-memory backend).
    pub connect_attempts: u64,
    /// The circuit breaker's state now (a gauge).
    pub breaker: BreakerState,
    /// Times the circuit breaker opened.
    pub breaker_opened: u64,
    /// Backend calls refused at once because the breaker was open or probing, and store reads
    /// refused by [`check_available`](crate::CacheManager::check_available); counted neither as
    /// errors nor as timeouts.
    pub short_circuited: u64,
    /// Reads answered by a [`NearCache`](crate::NearCache) of this manager, without a backend
    /// call (not counted in `hits`).
    pub near_hits: u64,
    /// Reads a near cache could not answer (they went on to the backend).
    pub near_misses: u64,
    /// Keys announced invalidated by any process, as heard by this manager's invalidation feed.
    pub near_invalidations_heard: u64,
    /// Times the invalidation feed was lost; near caches are bypassed until it is back.
    pub near_feed_lost: u64,
    /// Whether the invalidation feed is in place now, so near caches are used (a gauge).
    pub near_feed_live: bool,
}

impl Default for CacheStats {
    /// Every count at 0, the breaker closed.
    fn default() -> Self {
        CacheStats {
            hits: 0,
            misses: 0,
            errors: 0,
            timeouts: 0,
            fills: 0,
            stale_fills_refused: 0,
            oversized_skipped: 0,
            invalidations: 0,
            invalidations_deferred: 0,
            single_flight_joins: 0,
            in_flight: 0,
            connect_attempts: 0,
            breaker: BreakerState::Closed,
            breaker_opened: 0,
            short_circuited: 0,
            near_hits: 0,
            near_misses: 0,
            near_invalidations_heard: 0,
            near_feed_lost: 0,
            near_feed_live: false,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) fills: AtomicU64,
    pub(crate) stale_fills_refused: AtomicU64,
    pub(crate) oversized_skipped: AtomicU64,
    pub(crate) invalidations: AtomicU64,
    pub(crate) invalidations_deferred: AtomicU64,
    pub(crate) single_flight_joins: AtomicU64,
    pub(crate) near_hits: AtomicU64,
    pub(crate) near_misses: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(
        &self,
        in_flight: u64,
        connect_attempts: u64,
        breaker: BreakerStats,
        near_feed_live: bool,
    ) -> CacheStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            errors: get(&self.errors),
            timeouts: get(&self.timeouts),
            fills: get(&self.fills),
            stale_fills_refused: get(&self.stale_fills_refused),
            oversized_skipped: get(&self.oversized_skipped),
            invalidations: get(&self.invalidations),
            invalidations_deferred: get(&self.invalidations_deferred),
            single_flight_joins: get(&self.single_flight_joins),
            in_flight,
            connect_attempts,
            breaker: breaker.state,
            breaker_opened: breaker.opened,
            short_circuited: breaker.short_circuited,
            near_hits: get(&self.near_hits),
            near_misses: get(&self.near_misses),
            near_invalidations_heard: 0,
            near_feed_lost: 0,
            near_feed_live,
        }
    }
}

//! Counters of a manager and [`SignalStats`], the snapshot users read.

use crate::Position;
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use storehaus_resilience::BreakerState;

/// What a [`SignalManager`](crate::SignalManager) has done since it started.
///
/// Counts are totals since start; `callbacks_registered`, `events_queued`, `listener_connected`,
/// `listener_breaker`, `position` and `lag` describe the moment of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignalStats {
    /// Events dispatched: every callback they matched has finished (or timed out). Events that
    /// matched no callback count too.
    pub events_delivered: u64,
    /// Events read from the log and waiting to be dispatched (at most `queue_capacity`).
    pub events_queued: usize,
    /// Callbacks registered now.
    pub callbacks_registered: usize,
    /// Callback runs that finished, whatever their outcome.
    pub callbacks_run: u64,
    /// Runs that returned `Ok(())`.
    pub callbacks_succeeded: u64,
    /// Runs that returned an error, panicked, timed out, or (on a channel) got a payload that did
    /// not deserialize.
    pub callbacks_failed: u64,
    /// Runs stopped by `callback_timeout_seconds`; also counted in `callbacks_failed`.
    pub callbacks_timed_out: u64,
    /// Callbacks removed after `max_consecutive_failures` failures in a row.
    pub callbacks_removed_failing: u64,
    /// Callbacks removed for inactivity.
    pub callbacks_removed_inactive: u64,
    /// Callbacks removed through their handle or [`SignalManager::remove_callback`](crate::SignalManager::remove_callback).
    pub callbacks_unsubscribed: u64,
    /// Times the listener lost its event source (a failed read, subscribe or heartbeat, or a
    /// dropped doorbell) and reconnected.
    pub listener_reconnects: u64,
    /// Whether the listener is subscribed to the doorbell and has caught up at least once since.
    pub listener_connected: bool,
    /// Where the listener's circuit breaker stands; see
    /// [`SignalManager::listener_breaker`](crate::SignalManager::listener_breaker).
    pub listener_breaker: BreakerState,
    /// Times the listener's circuit breaker opened (a failed probe opens it again, and counts).
    pub listener_breaker_opened: u64,
    /// Position in the log after the last event dispatched.
    pub position: Position,
    /// For the last event dispatched, how long after its commit (by the database's clock) the
    /// dispatch began; grows when callbacks are slower than writers.
    pub lag: Duration,
    /// Events deleted from the log by retention.
    pub events_pruned: u64,
    /// Pruning runs that failed (retried at the next cleanup interval).
    pub prune_failures: u64,
}

impl Default for SignalStats {
    /// Nothing done yet, the breaker closed.
    fn default() -> Self {
        SignalStats {
            events_delivered: 0,
            events_queued: 0,
            callbacks_registered: 0,
            callbacks_run: 0,
            callbacks_succeeded: 0,
            callbacks_failed: 0,
            callbacks_timed_out: 0,
            callbacks_removed_failing: 0,
            callbacks_removed_inactive: 0,
            callbacks_unsubscribed: 0,
            listener_reconnects: 0,
            listener_connected: false,
            listener_breaker: BreakerState::Closed,
            listener_breaker_opened: 0,
            position: Position::default(),
            lag: Duration::ZERO,
            events_pruned: 0,
            prune_failures: 0,
        }
    }
}

impl SignalStats {
    /// Callbacks the manager removed by itself: for failing or for inactivity.
    pub fn callbacks_removed(&self) -> u64 {
        self.callbacks_removed_failing + self.callbacks_removed_inactive
    }
}

/// The live counters behind [`SignalStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) events_delivered: AtomicU64,
    /// Counted after the send and uncounted at the receive, so it can dip below zero for a moment.
    pub(crate) events_queued: AtomicIsize,
    pub(crate) callbacks_run: AtomicU64,
    pub(crate) callbacks_succeeded: AtomicU64,
    pub(crate) callbacks_failed: AtomicU64,
    pub(crate) callbacks_timed_out: AtomicU64,
    pub(crate) listener_reconnects: AtomicU64,
    pub(crate) listener_connected: AtomicBool,
    pub(crate) events_pruned: AtomicU64,
    pub(crate) prune_failures: AtomicU64,
    lag_micros: AtomicU64,
    position: Mutex<Position>,
}

impl Counters {
    pub(crate) fn set_position(&self, position: Position) {
        *self.position.lock().unwrap_or_else(PoisonError::into_inner) = position;
    }

    /// Clock skew between the database server and this host can make the difference negative;
    /// that reads as no lag.
    pub(crate) fn record_lag(&self, committed: DateTime<Utc>) {
        let micros = (Utc::now() - committed).num_microseconds().unwrap_or(i64::MAX).max(0);
        self.lag_micros.store(micros as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SignalStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SignalStats {
            // Acquire pairs with the dispatcher's release: the counts and position of every
            // event counted here are visible below.
            events_delivered: self.events_delivered.load(Ordering::Acquire),
            events_queued: self.events_queued.load(Ordering::Relaxed).max(0) as usize,
            callbacks_run: load(&self.callbacks_run),
            callbacks_succeeded: load(&self.callbacks_succeeded),
            callbacks_failed: load(&self.callbacks_failed),
            callbacks_timed_out: load(&self.callbacks_timed_out),
            listener_reconnects: load(&self.listener_reconnects),
            listener_connected: self.listener_connected.load(Ordering::Relaxed),
            position: *self.position.lock().unwrap_or_else(PoisonError::into_inner),
            lag: Duration::from_micros(load(&self.lag_micros)),
            events_pruned: load(&self.events_pruned),
            prune_failures: load(&self.prune_failures),
            ..SignalStats::default()
        }
    }
}

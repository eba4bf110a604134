//! The dispatcher: runs the callbacks of each queued event, one event at a time.

use super::Shared;
use super::listener::Item;
use crate::callback::{Entry, Removal};
use crate::{DatabaseEvent, Position};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, mpsc};

/// Runs until the listener stops and the queue is drained.
pub(crate) async fn dispatch_all(shared: Arc<Shared>, mut queue: mpsc::Receiver<Item>) {
    while let Some(item) = queue.recv().await {
        match item {
            Item::Event(event, next) => {
                shared.counters.events_queued.fetch_sub(1, Ordering::Relaxed);
                dispatch(&shared, event, next).await;
            }
            Item::Advance(position) => shared.counters.set_position(position),
        }
    }
}

/// Runs every matching callback concurrently and returns when all have finished or timed out,
/// so callbacks see the events in log order.
///
/// Each run is a task of its own: a panic stays in it, runs use every worker thread, and a run
/// still finishes (within its timeout) when shutdown stops the dispatcher mid-event.
async fn dispatch(shared: &Arc<Shared>, event: DatabaseEvent, next: Option<Position>) {
    shared.counters.record_lag(event.timestamp);
    let entries = shared.registry.matching(&event);
    let mut runs = Vec::with_capacity(entries.len());
    // The last run takes the event itself, saving a copy of its payload.
    let mut event = Some(event);
    let last = entries.len().saturating_sub(1);
    for (i, entry) in entries.into_iter().enumerate() {
        let event = if i == last { event.take() } else { event.clone() };
        let Some(event) = event else { break };
        let guard = shared.in_flight.enter();
        runs.push(tokio::spawn(run(Arc::clone(shared), entry, event, guard)));
    }
    for run in runs {
        let _ = run.await;
    }
    // Position first, so a reader who sees the count also sees the position after it.
    if let Some(next) = next {
        shared.counters.set_position(next);
    }
    shared.counters.events_delivered.fetch_add(1, Ordering::Release);
}

/// One run of one callback, with its outcome recorded before the task ends.
async fn run(shared: Arc<Shared>, entry: Arc<Entry>, event: DatabaseEvent, _in_flight: InFlightGuard) {
    let event_id = event.id;
    let timeout = shared.config.callback_timeout();
    entry.touch();
    let outcome = tokio::time::timeout(timeout, AssertUnwindSafe(entry.call(event)).catch_unwind()).await;
    let counters = &shared.counters;
    counters.callbacks_run.fetch_add(1, Ordering::Relaxed);
    let failure = match outcome {
        Ok(Ok(Ok(()))) => {
            counters.callbacks_succeeded.fetch_add(1, Ordering::Relaxed);
            entry.succeeded();
            return;
        }
        Ok(Ok(Err(error))) => error.to_string(),
        Ok(Err(_panic)) => "the callback panicked".to_owned(),
        Err(_elapsed) => {
            counters.callbacks_timed_out.fetch_add(1, Ordering::Relaxed);
            format!("timed out after {timeout:?}")
        }
    };
    counters.callbacks_failed.fetch_add(1, Ordering::Relaxed);
    let streak = entry.failed();
    tracing::warn!(callback = entry.id.0, event = event_id, failures_in_a_row = streak, error = %failure, "signal callback failed");
    let config = &shared.config;
    if config.remove_failing_callbacks
        && streak >= config.max_consecutive_failures
        && shared.registry.remove(entry.id, Removal::Failing)
    {
        tracing::warn!(
            callback = entry.id.0,
            failures_in_a_row = streak,
            "signal callback removed after failing repeatedly"
        );
    }
}

/// Callback runs still going, so shutdown can wait for them.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    pub(crate) fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(Arc::clone(self))
    }

    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a run ending in between still wakes us.
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Counts one run as in flight until dropped, also when the task is cancelled.
#[derive(Debug)]
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

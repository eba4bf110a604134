//! The listener: reads committed events from the source into the dispatch queue, reconnecting
//! with backoff whenever the source fails.

use super::Shared;
use super::backoff::{Backoff, MAX_DELAY, MIN_DELAY};
use crate::{DatabaseEvent, Doorbell, Position, SourceError};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the listener hands to the dispatcher.
#[derive(Debug)]
pub(crate) enum Item {
    /// An event; the last of a batch carries the batch's end, recorded once it is dispatched.
    Event(DatabaseEvent, Option<Position>),
    /// The source moved the position without returning events.
    Advance(Position),
}

/// The queue was closed: the dispatcher is gone, and so is any reason to read.
struct Closed;

/// Shortest time a subscribe may take before it counts as failed: opening a connection can be
/// slow on a busy server, and a subscribe stuck on a silent network would otherwise stall the
/// listener for good.
const MIN_SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// `call`, failing as a lost connection when it takes longer than `limit`.
async fn bounded<T>(
    limit: Duration,
    what: &str,
    call: impl Future<Output = Result<T, SourceError>>,
) -> Result<T, SourceError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(format!("the event source did not answer a {what} within {limit:?}").into()),
    }
}

/// Runs until the dispatcher stops. `position` is where reading starts.
pub(crate) async fn listen(shared: Arc<Shared>, mut position: Position, queue: mpsc::Sender<Item>) {
    let mut backoff = Backoff::new(MIN_DELAY, MAX_DELAY);
    loop {
        let error = match session(&shared, &mut position, &queue, &mut backoff).await {
            Ok(Closed) => return,
            Err(error) => error,
        };
        shared.counters.listener_connected.store(false, Ordering::Relaxed);
        shared.counters.listener_reconnects.fetch_add(1, Ordering::Relaxed);
        let delay = backoff.next_delay();
        tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "signal listener lost its event source; reconnecting");
        tokio::time::sleep(delay).await;
    }
}

/// One connection to the source: subscribe, catch up, then read whenever the doorbell rings or
/// half the heartbeat interval passes. Returns only on a source error or when the queue closes.
///
/// `position` only moves past events already in the queue, so a new session continues exactly
/// where the failed one stopped: nothing is skipped and nothing is queued twice.
///
/// A connection that goes silent is noticed within one heartbeat interval, whatever the listener
/// was doing: a read or a check gets half the interval, and so does a quiet wait for a ring.
async fn session(
    shared: &Shared,
    position: &mut Position,
    queue: &mpsc::Sender<Item>,
    backoff: &mut Backoff,
) -> Result<Closed, SourceError> {
    let heartbeat = shared.config.heartbeat();
    let half = heartbeat / 2;
    // Subscribed before catching up, so a commit made during the catch-up still rings.
    let subscribe_limit = heartbeat.max(MIN_SUBSCRIBE_TIMEOUT);
    let mut doorbell = bounded(subscribe_limit, "subscribe", shared.source.subscribe()).await?;
    let mut caught_up = false;
    loop {
        if let Err(closed) = catch_up(shared, position, queue, half).await? {
            return Ok(closed);
        }
        if !caught_up {
            caught_up = true;
            backoff.reset();
            shared.counters.listener_connected.store(true, Ordering::Relaxed);
        }
        wait_for_news(doorbell.as_mut(), half).await?;
    }
}

/// Reads and queues batches until one is empty. Waiting for room in the queue is what makes a
/// slow consumer slow the reading down instead of growing a buffer.
async fn catch_up(
    shared: &Shared,
    position: &mut Position,
    queue: &mpsc::Sender<Item>,
    limit: Duration,
) -> Result<Result<(), Closed>, SourceError> {
    loop {
        let batch = bounded(limit, "read", shared.source.read(*position, shared.config.read_batch_size)).await?;
        let empty = batch.events.is_empty();
        if empty && batch.next != *position && queue.send(Item::Advance(batch.next)).await.is_err() {
            return Ok(Err(Closed));
        }
        let last = batch.events.len().saturating_sub(1);
        for (i, event) in batch.events.into_iter().enumerate() {
            let next = (i == last).then_some(batch.next);
            if queue.send(Item::Event(event, next)).await.is_err() {
                return Ok(Err(Closed));
            }
            shared.counters.events_queued.fetch_add(1, Ordering::Relaxed);
        }
        *position = batch.next;
        if empty {
            return Ok(Ok(()));
        }
    }
}

/// Waits for a ring; after a quiet `interval`, checks the connection instead (a check that takes
/// longer than `interval` counts as lost) and returns so the log is read anyway, which picks up
/// events whose ring was lost.
async fn wait_for_news(doorbell: &mut dyn Doorbell, interval: Duration) -> Result<(), SourceError> {
    if let Ok(rang) = tokio::time::timeout(interval, doorbell.ring()).await {
        return rang;
    }
    bounded(interval, "heartbeat", doorbell.heartbeat()).await
}

//! The listener: reads committed events from the source into the dispatch queue, reconnecting
//! with backoff whenever the source fails and leaving it alone while its circuit breaker is open;
//! at shutdown, reads what was committed before it.

use super::backoff::{Backoff, MAX_DELAY, MIN_DELAY};
use super::{Phase, Shared};
use crate::{DatabaseEvent, Doorbell, Position, SourceError};
use futures_util::future::{self, Either};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use storehaus_resilience::{BreakerState, Permit};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

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

/// Why a session ended, other than by a source error.
enum Ended {
    Closed,
    /// The manager is shutting down: what was committed before is to be read, then nothing more.
    Draining,
}

/// How long to wait before reading again, at shutdown, when events committed before it wait
/// behind a transaction still writing events.
const HELD_BACK_PAUSE: Duration = Duration::from_millis(25);

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

/// Runs until the dispatcher stops, or until `phase` turns to [`Phase::Draining`] and the events
/// committed before are queued ([`drain`]). `position` is where reading starts.
///
/// Every failed session counts against the circuit breaker. While it is closed, a failed session
/// is followed by a jittered backoff; once it is open, no session starts until its open period
/// has passed, and then one probes: the breaker closes once that session has caught up, and
/// opens again if it fails first.
///
/// Returning drops the queue's sender, so the dispatcher ends once it has dispatched the rest.
pub(crate) async fn listen(
    shared: Arc<Shared>,
    mut position: Position,
    queue: mpsc::Sender<Item>,
    mut phase: watch::Receiver<Phase>,
) {
    let mut backoff = Backoff::new(MIN_DELAY, MAX_DELAY);
    loop {
        let mut permit = match shared.breaker.allow() {
            Ok(permit) => Some(permit),
            Err(open) => {
                tracing::debug!(
                    retry_in_ms = open.retry_in.as_millis() as u64,
                    "signal listener's circuit breaker is open"
                );
                // Zero only while another call probes, which the listener, the breaker's only
                // caller, never leaves running.
                let wait = open.retry_in.max(MIN_DELAY);
                if unless_draining(&mut phase, tokio::time::sleep(wait)).await.is_none() {
                    break;
                }
                continue;
            }
        };
        let error = match session(&shared, &mut position, &queue, &mut backoff, &mut permit, &mut phase).await {
            Ok(Ended::Closed) => return,
            Ok(Ended::Draining) => break,
            Err(error) => error,
        };
        shared.counters.listener_connected.store(false, Ordering::Relaxed);
        shared.counters.listener_reconnects.fetch_add(1, Ordering::Relaxed);
        // A session that caught up reported its success already; its failure is a new call's.
        match permit.take().map_or_else(|| shared.breaker.allow().ok(), Some) {
            Some(permit) => permit.failure(),
            None => tracing::debug!("signal listener's circuit breaker opened meanwhile"),
        }
        if shared.breaker.state() != BreakerState::Closed {
            tracing::warn!(%error, "signal listener lost its event source; circuit breaker open, retrying after its open period");
            continue;
        }
        let delay = backoff.next_delay();
        tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "signal listener lost its event source; reconnecting");
        if unless_draining(&mut phase, tokio::time::sleep(delay)).await.is_none() {
            break;
        }
    }
    drain(&shared, &mut position, &queue).await;
}

/// One connection to the source: subscribe, catch up, then read whenever the doorbell rings or
/// half the heartbeat interval passes. Returns only on a source error, when the queue closes, or
/// when the manager starts draining.
///
/// `position` only moves past events already in the queue, so a new session continues exactly
/// where the failed one stopped: nothing is skipped and nothing is queued twice. For the same
/// reason a drain interrupts a subscribe, a wait for a ring or a read, never a batch half queued.
///
/// A connection that goes silent is noticed within one heartbeat interval, whatever the listener
/// was doing: a read or a check gets half the interval, and so does a quiet wait for a ring.
///
/// The first catch-up reports success on the breaker's `permit` (taking it); a failure is left
/// for the caller to report.
async fn session<'b>(
    shared: &'b Shared,
    position: &mut Position,
    queue: &mpsc::Sender<Item>,
    backoff: &mut Backoff,
    permit: &mut Option<Permit<'b>>,
    phase: &mut watch::Receiver<Phase>,
) -> Result<Ended, SourceError> {
    let heartbeat = shared.config.heartbeat();
    let half = heartbeat / 2;
    // Subscribed before catching up, so a commit made during the catch-up still rings.
    let subscribe_limit = heartbeat.max(MIN_SUBSCRIBE_TIMEOUT);
    let subscribe = bounded(subscribe_limit, "subscribe", shared.source.subscribe());
    let Some(doorbell) = unless_draining(phase, subscribe).await else {
        return Ok(Ended::Draining);
    };
    let mut doorbell = doorbell?;
    let mut caught_up = false;
    loop {
        if catch_up(shared, position, queue, half, Until::Draining(phase)).await?.is_err() {
            return Ok(Ended::Closed);
        }
        if draining(phase) {
            return Ok(Ended::Draining);
        }
        if !caught_up {
            caught_up = true;
            backoff.reset();
            if let Some(permit) = permit.take() {
                permit.success();
            }
            shared.counters.listener_connected.store(true, Ordering::Relaxed);
        }
        match unless_draining(phase, wait_for_news(doorbell.as_mut(), half)).await {
            Some(news) => news?,
            None => return Ok(Ended::Draining),
        }
    }
}

/// Queues what was committed before the shutdown: reads from the listener's own position up to
/// the source's [`last_committed`](crate::EventSource::last_committed), as a session's catch-up
/// does, so nothing is skipped and nothing is queued twice.
///
/// Bounded like the rest of the listener, so a source that is down cannot hold the shutdown: each
/// call gets half the heartbeat interval, a failed one ends the drain, and events held back
/// behind a transaction still writing events are waited for one heartbeat interval at most. What is not
/// read stays in the log.
async fn drain(shared: &Shared, position: &mut Position, queue: &mpsc::Sender<Item>) {
    match read_to_last_committed(shared, position, queue).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "events committed before the signal manager's shutdown are held back by a transaction still writing events; \
             they stay in the log"
        ),
        Err(error) => tracing::warn!(
            %error,
            "the signal manager could not read the events committed before its shutdown; they stay in the log"
        ),
    }
}

/// The reading of [`drain`]; `false` when events stayed held back for a heartbeat interval.
async fn read_to_last_committed(
    shared: &Shared,
    position: &mut Position,
    queue: &mpsc::Sender<Item>,
) -> Result<bool, SourceError> {
    let heartbeat = shared.config.heartbeat();
    let half = heartbeat / 2;
    let target = bounded(half, "read", shared.source.last_committed()).await?;
    let mut held_back_since = None;
    loop {
        if catch_up(shared, position, queue, half, Until::Reached(target)).await?.is_err() || *position >= target {
            return Ok(true);
        }
        // The last read came back short of the target: a transaction still writing events holds back
        // events committed after it began.
        let since = *held_back_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= heartbeat {
            return Ok(false);
        }
        tokio::time::sleep(HELD_BACK_PAUSE).await;
    }
}

/// What ends a catch-up, besides a batch that comes back empty.
enum Until<'a> {
    /// The manager starts draining: checked between batches, and a read under way is dropped
    /// (it has queued nothing yet, so the position stays exact).
    Draining(&'a mut watch::Receiver<Phase>),
    /// The position reaches this one.
    Reached(Position),
}

/// Reads and queues batches until one is empty or `until` says so. Waiting for room in the queue
/// is what makes a slow consumer slow the reading down instead of growing a buffer.
async fn catch_up(
    shared: &Shared,
    position: &mut Position,
    queue: &mpsc::Sender<Item>,
    limit: Duration,
    mut until: Until<'_>,
) -> Result<Result<(), Closed>, SourceError> {
    loop {
        let read = bounded(limit, "read", shared.source.read(*position, shared.config.read_batch_size));
        let batch = match &mut until {
            Until::Draining(phase) => match unless_draining(phase, read).await {
                Some(batch) => batch?,
                None => return Ok(Ok(())),
            },
            Until::Reached(_) => read.await?,
        };
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
        if !empty {
            shared.news.send_modify(|news| *news = news.wrapping_add(1));
        }
        let enough = match &until {
            Until::Draining(phase) => draining(phase),
            Until::Reached(target) => *position >= *target,
        };
        if empty || enough {
            return Ok(Ok(()));
        }
    }
}

/// Whether the manager has started draining.
fn draining(phase: &watch::Receiver<Phase>) -> bool {
    *phase.borrow() == Phase::Draining
}

/// `work`, unless the manager starts draining first: then `None`, and `work` is dropped.
async fn unless_draining<T>(phase: &mut watch::Receiver<Phase>, work: impl Future<Output = T>) -> Option<T> {
    let started = async {
        // A manager dropped without a shutdown stops its tasks without draining.
        if phase.wait_for(|phase| *phase == Phase::Draining).await.is_err() {
            future::pending::<()>().await;
        }
    };
    match future::select(std::pin::pin!(work), std::pin::pin!(started)).await {
        Either::Left((done, _)) => Some(done),
        Either::Right(_) => None,
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

//! [`MemorySource`]: an event log kept in memory, for tests and single-process use.

mod doorbell;

use crate::{Batch, BoxFuture, DatabaseEvent, Doorbell, EventSource, EventType, Position, SourceError};
use doorbell::{Bell, MemoryDoorbell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

/// An [`EventSource`] whose log lives in this process: events appended here reach the
/// [`SignalManager`](crate::SignalManager)s reading it like committed database events.
///
/// It also lets tests break things on purpose: failed reads and subscribes
/// ([`fail_next_reads`](Self::fail_next_reads), [`fail_next_subscribes`](Self::fail_next_subscribes)),
/// cut doorbells ([`drop_doorbell`](Self::drop_doorbell)) and lost rings
/// ([`append_without_ring`](Self::append_without_ring)).
///
/// ```
/// use storehaus_signals::{DatabaseEvent, EventType, MemorySource};
///
/// let source = MemorySource::new();
/// let id = source.append(DatabaseEvent::new(EventType::Create, "users", "7", serde_json::json!({"name": "Ada"})));
/// assert_eq!(id, 1);
/// assert_eq!(source.len(), 1);
/// ```
#[derive(Debug, Default)]
pub struct MemorySource {
    log: Mutex<Log>,
    bells: Mutex<Vec<Weak<Bell>>>,
    failing_reads: AtomicUsize,
    failing_subscribes: AtomicUsize,
    reads: AtomicU64,
    events_read: AtomicU64,
    subscribes: AtomicU64,
}

#[derive(Debug, Default)]
struct Log {
    events: VecDeque<DatabaseEvent>,
    last_id: i64,
}

impl MemorySource {
    /// An empty log.
    pub fn new() -> Self {
        MemorySource::default()
    }

    /// Appends one event as one committed transaction and rings; returns the id it was given
    /// (ids start at 1 and only grow). The event's `timestamp` is kept.
    pub fn append(&self, event: DatabaseEvent) -> i64 {
        let id = self.push([event])[0];
        self.ring();
        id
    }

    /// Appends the events of one committed transaction: readers see all of them or none, and
    /// the doorbell rings once. Returns their ids.
    pub fn append_committed(&self, events: impl IntoIterator<Item = DatabaseEvent>) -> Vec<i64> {
        let ids = self.push(events);
        self.ring();
        ids
    }

    /// Appends without ringing, as if the notification were lost: listeners find the event at
    /// their next heartbeat read.
    pub fn append_without_ring(&self, event: DatabaseEvent) -> i64 {
        self.push([event])[0]
    }

    /// Rings every open doorbell without appending anything.
    pub fn ring(&self) {
        for bell in self.open_bells() {
            bell.ring();
        }
    }

    /// Makes the next `n` reads fail, as a lost database connection would.
    pub fn fail_next_reads(&self, n: usize) {
        self.failing_reads.store(n, Ordering::SeqCst);
    }

    /// Makes the next `n` subscribes fail.
    pub fn fail_next_subscribes(&self, n: usize) {
        self.failing_subscribes.store(n, Ordering::SeqCst);
    }

    /// Cuts every open doorbell: their waits and heartbeats fail from now on, as when the
    /// listening connection is killed. Doorbells opened later work.
    pub fn drop_doorbell(&self) {
        for bell in self.open_bells() {
            bell.break_off();
        }
    }

    /// Doorbells open now (listeners subscribed and not yet gone).
    pub fn subscriber_count(&self) -> usize {
        self.open_bells().len()
    }

    /// Events in the log.
    pub fn len(&self) -> usize {
        lock(&self.log).events.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the log, oldest first.
    pub fn events(&self) -> Vec<DatabaseEvent> {
        lock(&self.log).events.iter().cloned().collect()
    }

    /// Reads served so far (failed ones excluded).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    /// Subscribes asked for so far, failed ones included: how often listeners tried to connect.
    pub fn subscribes(&self) -> u64 {
        self.subscribes.load(Ordering::SeqCst)
    }

    /// Events handed out by reads so far; shows how far readers have read ahead.
    pub fn events_read(&self) -> u64 {
        self.events_read.load(Ordering::SeqCst)
    }

    fn push(&self, events: impl IntoIterator<Item = DatabaseEvent>) -> Vec<i64> {
        let mut log = lock(&self.log);
        let mut ids = Vec::new();
        for mut event in events {
            log.last_id += 1;
            event.id = log.last_id;
            ids.push(event.id);
            log.events.push_back(event);
        }
        ids
    }

    fn open_bells(&self) -> Vec<Arc<Bell>> {
        let mut bells = lock(&self.bells);
        bells.retain(|bell| bell.strong_count() > 0);
        bells.iter().filter_map(Weak::upgrade).collect()
    }

    /// Takes one injected failure, if any are left.
    fn take_failure(counter: &AtomicUsize) -> bool {
        counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

/// The position just after event `id`. Kept in one place because [`Position`] is the source's
/// own format.
fn position_after(id: i64) -> Position {
    Position(0, id)
}

fn id_before(position: Position) -> i64 {
    position.1
}

impl EventSource for MemorySource {
    fn tail(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        Box::pin(async move { Ok(position_after(lock(&self.log).last_id)) })
    }

    fn read(&self, after: Position, limit: usize) -> BoxFuture<'_, Result<Batch, SourceError>> {
        Box::pin(async move {
            if Self::take_failure(&self.failing_reads) {
                return Err("injected read failure".into());
            }
            let after_id = id_before(after);
            let log = lock(&self.log);
            // Ids ascend along the deque, so the first event past `after` is found by bisection.
            let start = log.events.partition_point(|event| event.id <= after_id);
            let events: Vec<DatabaseEvent> = log.events.range(start..).take(limit).cloned().collect();
            drop(log);
            let next = events.last().map_or(after, |event| position_after(event.id));
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.events_read.fetch_add(events.len() as u64, Ordering::SeqCst);
            Ok(Batch { events, next })
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<Box<dyn Doorbell>, SourceError>> {
        Box::pin(async move {
            self.subscribes.fetch_add(1, Ordering::SeqCst);
            if Self::take_failure(&self.failing_subscribes) {
                return Err("injected subscribe failure".into());
            }
            let bell = Arc::new(Bell::default());
            lock(&self.bells).push(Arc::downgrade(&bell));
            let doorbell: Box<dyn Doorbell> = Box::new(MemoryDoorbell(bell));
            Ok(doorbell)
        })
    }

    fn prune(&self, age: Duration) -> BoxFuture<'_, Result<u64, SourceError>> {
        Box::pin(async move {
            let Some(cutoff) =
                chrono::Duration::from_std(age).ok().and_then(|age| chrono::Utc::now().checked_sub_signed(age))
            else {
                return Ok(0);
            };
            let mut log = lock(&self.log);
            let before = log.events.len();
            log.events.retain(|event| event.timestamp >= cutoff);
            Ok((before - log.events.len()) as u64)
        })
    }

    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            self.append(DatabaseEvent::new(EventType::Channel, channel, "", payload));
            Ok(())
        })
    }
}

/// No user code runs under these locks, so a poisoned one still holds consistent data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

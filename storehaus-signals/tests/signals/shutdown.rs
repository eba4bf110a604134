//! Stopping a manager: explicitly, after delivering what was committed before, and by dropping
//! it.

use crate::support::{Seen, config, create, start, wait_delivered, wait_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};
use storehaus_signals::{
    Batch, BoxFuture, Doorbell, EventSource, MemorySource, Position, SignalConfig, SignalError, SignalManager,
    SourceError,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_delivery_and_ends_the_tasks() {
    let (source, manager) = start(config()).await;
    let seen = Seen::default();
    manager.add_callback(seen.callback()).unwrap();
    source.append(create("users"));
    wait_delivered(&manager, 1).await;
    assert_eq!(source.subscriber_count(), 1);

    manager.shutdown().await;
    assert!(manager.is_shut_down());
    assert_eq!(source.subscriber_count(), 0, "the listener's doorbell is gone");
    assert!(!manager.get_stats().listener_connected);
    assert!(matches!(manager.add_callback(|_| async { Ok(()) }), Err(SignalError::ShutDown)));

    source.append(create("users"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen.ids(), [1]);
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_running_callbacks() {
    let (source, manager) = start(config()).await;
    let started = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let (s, f) = (started.clone(), finished.clone());
    manager
        .add_callback(move |_| {
            let (started, finished) = (s.clone(), f.clone());
            async move {
                started.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                finished.store(true, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap();
    source.append(create("users"));
    wait_until("the callback to start", || started.load(Ordering::SeqCst)).await;
    manager.shutdown().await;
    assert!(finished.load(Ordering::SeqCst), "shutdown returned while a callback was running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_manager_stops_its_tasks() {
    let (source, manager) = start(config()).await;
    assert_eq!(source.subscriber_count(), 1);
    drop(manager);
    wait_until("the listener to unsubscribe", || source.subscriber_count() == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_an_event_written_just_before_it_once() {
    let (source, manager) = start(config()).await;
    let seen = Seen::default();
    manager.add_callback(seen.callback()).unwrap();
    source.append(create("users"));
    manager.shutdown().await;
    assert_eq!(seen.ids(), [1], "the callback ran once when shutdown returned");
    let stats = manager.get_stats();
    assert_eq!((stats.events_delivered, stats.callbacks_run), (1, 1));
    assert_eq!(stats.position, source.tail().await.unwrap(), "a successor resumes after it");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen.ids(), [1], "and never again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_a_backlog_and_events_whose_ring_was_lost() {
    // Small batches and a small queue, so the backlog is partly queued and partly unread.
    let config = SignalConfig { read_batch_size: 7, queue_capacity: 5, ..config() };
    let (source, manager) = start(config).await;
    let seen = Seen::default();
    let record = seen.callback();
    manager
        .add_callback(move |event| {
            let recorded = record(event);
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                recorded.await
            }
        })
        .unwrap();
    for i in 0..200 {
        if i % 3 == 0 {
            source.append_without_ring(create("users"));
        } else {
            source.append(create("users"));
        }
    }
    // The last one without a ring: only the drain can find it before the next heartbeat.
    source.append_without_ring(create("users"));
    manager.shutdown().await;
    assert_eq!(seen.ids(), (1..=201).collect::<Vec<i64>>(), "every event, once, in order");
    assert_eq!(manager.get_stats().events_delivered, 201);
}

/// A fault of [`Faulty`] (`0`, the default, is none): every read hangs, as on a network that
/// drops every packet.
const STALLED: u8 = 1;
/// The last committed event is never readable, as if a transaction still running held it back.
const HELD_BACK: u8 = 2;

/// A [`MemorySource`] that can be made to misbehave in ways it cannot by itself.
#[derive(Debug, Default)]
struct Faulty {
    log: MemorySource,
    fault: AtomicU8,
}

impl EventSource for Faulty {
    fn tail(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        self.log.tail()
    }

    fn last_committed(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        match self.fault.load(Ordering::SeqCst) {
            STALLED => Box::pin(std::future::pending()),
            HELD_BACK => Box::pin(async { Ok(Position(0, i64::MAX)) }),
            _ => self.log.last_committed(),
        }
    }

    fn read(&self, after: Position, limit: usize) -> BoxFuture<'_, Result<Batch, SourceError>> {
        match self.fault.load(Ordering::SeqCst) {
            STALLED => Box::pin(std::future::pending()),
            _ => self.log.read(after, limit),
        }
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<Box<dyn Doorbell>, SourceError>> {
        self.log.subscribe()
    }

    fn prune(&self, age: Duration) -> BoxFuture<'_, Result<u64, SourceError>> {
        self.log.prune(age)
    }

    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), SourceError>> {
        self.log.publish(channel, payload)
    }
}

/// A manager on a [`Faulty`] source with a one-second heartbeat, connected, with `seen` attached
/// and one event delivered.
async fn start_faulty(seen: &Seen) -> (Arc<Faulty>, Arc<SignalManager>) {
    let source = Arc::new(Faulty::default());
    let manager = SignalManager::start(config(), source.clone()).await.unwrap();
    manager.add_callback(seen.callback()).unwrap();
    source.log.append(create("users"));
    wait_delivered(&manager, 1).await;
    (source, manager)
}

/// Timer and scheduling slack on a loaded machine, on top of the bounds under test.
const SLACK: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_returns_within_a_heartbeat_when_the_source_hangs() {
    let seen = Seen::default();
    let (source, manager) = start_faulty(&seen).await;
    let heartbeat = Duration::from_secs(manager.config().heartbeat_seconds);
    source.fault.store(STALLED, Ordering::SeqCst);
    source.log.append(create("users"));

    let started = Instant::now();
    manager.shutdown().await;
    let took = started.elapsed();
    assert!(took <= heartbeat + SLACK, "shutdown took {took:?} with a heartbeat of {heartbeat:?}");
    assert_eq!(seen.ids(), [1], "what could not be read was not delivered");
    assert_eq!(source.log.len(), 2, "and stays in the log");
    assert_eq!(source.log.subscriber_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_held_back_events_one_heartbeat_at_most() {
    let seen = Seen::default();
    let (source, manager) = start_faulty(&seen).await;
    let heartbeat = Duration::from_secs(manager.config().heartbeat_seconds);
    source.fault.store(HELD_BACK, Ordering::SeqCst);
    source.log.append_without_ring(create("users"));

    let started = Instant::now();
    manager.shutdown().await;
    let took = started.elapsed();
    assert!(took >= heartbeat, "gave up on held-back events after {took:?}");
    assert!(took <= heartbeat + SLACK, "shutdown took {took:?} with a heartbeat of {heartbeat:?}");
    assert_eq!(seen.ids(), [1, 2], "what was readable was delivered");
}

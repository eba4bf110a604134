//! The listener: reconnection and catch-up, lost rings, backpressure, pruning.

use crate::support::{Seen, config, create, start, wait_delivered, wait_until};
use chrono::Utc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use storehaus_signals::{SignalConfig, SignalManager};

/// Waits until the listener is subscribed and caught up after `reconnects` reconnections, so the
/// next injected fault meets a live connection.
async fn wait_connected(manager: &SignalManager, reconnects: u64) {
    wait_until(&format!("the listener to be connected after {reconnects} reconnects"), || {
        let stats = manager.get_stats();
        stats.listener_connected && stats.listener_reconnects == reconnects
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_failures_lose_nothing_and_deliver_nothing_twice() {
    let (source, manager) = start(config()).await;
    let seen = Seen::default();
    manager.add_callback(seen.callback()).unwrap();

    let mut reconnects = 0;
    for round in 0..4 {
        for _ in 0..25 {
            source.append(create("users"));
        }
        match round {
            0 => {
                source.fail_next_reads(3);
                reconnects += 3;
            }
            1 => {
                source.drop_doorbell();
                reconnects += 1;
            }
            2 => {
                // The connection drops, and the first two attempts to come back fail too.
                source.fail_next_subscribes(2);
                source.drop_doorbell();
                reconnects += 3;
            }
            _ => {
                source.fail_next_reads(1);
                reconnects += 1;
            }
        }
        for _ in 0..25 {
            source.append(create("users"));
        }
        wait_connected(&manager, reconnects).await;
    }
    wait_delivered(&manager, 200).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(seen.ids(), (1..=200).collect::<Vec<i64>>());
    let stats = manager.get_stats();
    assert_eq!(stats.listener_reconnects, 8);
    assert_eq!(stats.events_delivered, 200);
    assert_eq!(source.subscriber_count(), 1, "every lost doorbell was dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_ring_is_picked_up_by_the_heartbeat_read() {
    let (source, manager) = start(config()).await;
    let seen = Seen::default();
    manager.add_callback(seen.callback()).unwrap();
    source.append_without_ring(create("users"));
    wait_delivered(&manager, 1).await;
    assert_eq!(seen.ids(), [1]);
    assert_eq!(manager.get_stats().listener_reconnects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_bounds_memory_and_still_gets_everything() {
    const BATCH: u64 = 100;
    const QUEUE: u64 = 50;
    const EVENTS: i64 = 10_000;
    // Read but not yet dispatched: a batch in the listener's hands, a full queue, one event in dispatch.
    const BOUND: u64 = BATCH + QUEUE + 1;
    let config = SignalConfig {
        read_batch_size: BATCH as usize,
        queue_capacity: QUEUE as usize,
        callback_timeout_seconds: 120,
        ..config()
    };
    let (source, manager) = start(config).await;
    let (open, gate) = tokio::sync::watch::channel(false);
    let seen: Arc<Mutex<Vec<i64>>> = Arc::default();
    let record = seen.clone();
    manager
        .add_callback(move |event| {
            let mut gate = gate.clone();
            let seen = record.clone();
            async move {
                gate.wait_for(|open| *open).await?;
                seen.lock().unwrap().push(event.id);
                tokio::task::yield_now().await;
                Ok(())
            }
        })
        .unwrap();

    for _ in 0..EVENTS {
        source.append(create("users"));
    }
    // The listener fills what it may hold and then stops reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = manager.get_stats();
    assert_eq!(stats.events_delivered, 0);
    assert!(stats.events_queued as u64 <= QUEUE, "{} events queued", stats.events_queued);
    assert!(source.events_read() <= BOUND, "read {} events ahead of a blocked callback", source.events_read());

    open.send_replace(true);
    let mut most_held = 0;
    wait_until("every event delivered", || {
        let read = source.events_read();
        let delivered = manager.get_stats().events_delivered;
        most_held = most_held.max(read.saturating_sub(delivered));
        delivered == EVENTS as u64
    })
    .await;
    assert!(most_held <= BOUND, "held {most_held} events at once");
    assert_eq!(*seen.lock().unwrap(), (1..=EVENTS).collect::<Vec<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_are_pruned_on_schedule() {
    let config = SignalConfig { cleanup_interval_seconds: 1, event_retention_seconds: 3600, ..config() };
    let (source, manager) = start(config).await;
    let mut old = create("users");
    old.timestamp = Utc::now() - chrono::Duration::hours(2);
    source.append(old);
    source.append(create("users"));
    wait_delivered(&manager, 2).await;
    wait_until("the old event to be pruned", || manager.get_stats().events_pruned == 1).await;
    assert_eq!(source.len(), 1);
    assert_eq!(source.events()[0].id, 2);
}

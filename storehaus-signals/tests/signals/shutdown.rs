//! Stopping a manager: explicitly, and by dropping it.

use crate::support::{Seen, config, create, start, wait_delivered, wait_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use storehaus_signals::SignalError;

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

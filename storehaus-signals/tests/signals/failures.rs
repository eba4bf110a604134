//! Timeouts, failures, panics, and the removal of failing and inactive callbacks.

use crate::support::{Seen, config, create, start, wait_delivered, wait_until};
use serde_json::json;
use std::time::Duration;
use storehaus_signals::{DatabaseEvent, EventType, SignalConfig, SignalError, Subscription};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_counts_as_a_failure() {
    let (source, manager) = start(SignalConfig { callback_timeout_seconds: 1, ..config() }).await;
    let other = Seen::default();
    manager
        .add_callback(|_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
        .unwrap();
    manager.add_callback(other.callback()).unwrap();
    source.append(create("users"));
    source.append(create("users"));
    wait_delivered(&manager, 2).await;

    let stats = manager.get_stats();
    assert_eq!(stats.callbacks_timed_out, 2);
    assert_eq!(stats.callbacks_failed, 2);
    assert_eq!(stats.callbacks_succeeded, 2);
    assert_eq!(other.ids(), [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_counts_as_a_failure_and_delivery_goes_on() {
    let (source, manager) = start(config()).await;
    let other = Seen::default();
    manager.add_callback(|event| async move { if event.id == 1 { panic!("callback bug") } else { Ok(()) } }).unwrap();
    manager.add_callback(other.callback()).unwrap();
    source.append(create("users"));
    source.append(create("users"));
    wait_delivered(&manager, 2).await;
    assert_eq!(manager.get_stats().callbacks_failed, 1);
    assert_eq!(other.ids(), [1, 2]);
}

/// An event whose callback below fails or succeeds as its payload says.
fn outcome(ok: bool) -> DatabaseEvent {
    DatabaseEvent::new(EventType::Update, "jobs", "1", json!({ "ok": ok }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_after_consecutive_failures_and_a_success_resets_the_streak() {
    let (source, manager) = start(SignalConfig { max_consecutive_failures: 3, ..config() }).await;
    let handle = manager
        .add_callback(
            |event| async move { if event.payload["ok"] == true { Ok(()) } else { Err("job failed".into()) } },
        )
        .unwrap();

    for ok in [false, false, true, false, false] {
        source.append(outcome(ok));
    }
    wait_delivered(&manager, 5).await;
    assert!(handle.is_active(), "the success in between reset the streak");

    source.append(outcome(false));
    wait_delivered(&manager, 6).await;
    assert!(!handle.is_active(), "three failures in a row remove it");

    source.append(outcome(true));
    wait_delivered(&manager, 7).await;
    let stats = manager.get_stats();
    assert_eq!(stats.callbacks_run, 6);
    assert_eq!(stats.callbacks_failed, 5);
    assert_eq!(stats.callbacks_removed_failing, 1);
    assert_eq!(stats.callbacks_registered, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_callbacks_stay_when_removal_is_off() {
    let config = SignalConfig { remove_failing_callbacks: false, max_consecutive_failures: 1, ..config() };
    let (source, manager) = start(config).await;
    let handle = manager.add_callback(|_| async { Err("nope".into()) }).unwrap();
    for _ in 0..3 {
        source.append(create("users"));
    }
    wait_delivered(&manager, 3).await;
    assert!(handle.is_active());
    assert_eq!(manager.get_stats().callbacks_failed, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_callbacks_are_removed_unless_kept() {
    let config = SignalConfig {
        auto_remove_inactive_callbacks: true,
        inactive_callback_threshold_seconds: 1,
        cleanup_interval_seconds: 1,
        ..config()
    };
    let (_source, manager) = start(config).await;
    let idle = manager.add_callback_for(Subscription::table("quiet"), |_| async { Ok(()) }).unwrap();
    let kept = manager.add_callback_for(Subscription::table("quiet").keep_when_idle(), |_| async { Ok(()) }).unwrap();

    wait_until("the idle callback to be removed", || !idle.is_active()).await;
    assert!(kept.is_active());
    let stats = manager.get_stats();
    assert_eq!(stats.callbacks_removed_inactive, 1);
    assert_eq!(stats.callbacks_removed(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_callbacks_is_enforced() {
    let (_source, manager) = start(SignalConfig { max_callbacks: 2, ..config() }).await;
    let first = manager.add_callback(|_| async { Ok(()) }).unwrap();
    manager.add_callback(|_| async { Ok(()) }).unwrap();
    match manager.add_callback(|_| async { Ok(()) }) {
        Err(SignalError::TooManyCallbacks { limit: 2 }) => {}
        other => panic!("expected TooManyCallbacks, got {other:?}"),
    }
    assert!(manager.remove_callback(first.id()));
    manager.add_callback(|_| async { Ok(()) }).unwrap();
    assert_eq!(manager.callback_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_are_refused_at_start() {
    let source = std::sync::Arc::new(storehaus_signals::MemorySource::new());
    let config = SignalConfig { queue_capacity: 0, ..config() };
    match storehaus_signals::SignalManager::start(config, source).await {
        Err(SignalError::Config(err)) => assert_eq!(err.key, "signal.queue_capacity"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

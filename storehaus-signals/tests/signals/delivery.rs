//! What reaches which callback, in which order, and what the stats say about it.

use crate::support::{Seen, config, create, event, start, wait_delivered};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storehaus_signals::{EventSource, EventType, MemorySource, Position, SignalManager, Subscription};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_callback_gets_every_event_in_order() {
    let (source, manager) = start(config()).await;
    let seen: Vec<Seen> = (0..3).map(|_| Seen::default()).collect();
    for s in &seen {
        manager.add_callback(s.callback()).unwrap();
    }
    for i in 0..100 {
        if i % 10 == 0 {
            source.append_committed((0..5).map(|_| create("orders")));
        } else {
            source.append(create("users"));
        }
    }
    wait_delivered(&manager, 140).await;
    let expected: Vec<i64> = (1..=140).collect();
    for s in &seen {
        assert_eq!(s.ids(), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_filter_by_table_and_event_type() {
    let (source, manager) = start(config()).await;
    let users = Seen::default();
    let creates = Seen::default();
    let user_updates = Seen::default();
    let either = Seen::default();
    manager.add_callback_for(Subscription::table("users"), users.callback()).unwrap();
    manager.add_callback_for(Subscription::all().events([EventType::Create]), creates.callback()).unwrap();
    let updates = Subscription::table("users").events([EventType::Update, EventType::SoftDelete]);
    manager.add_callback_for(updates, user_updates.callback()).unwrap();
    manager.add_callback_for(Subscription::tables(["orders", "items"]), either.callback()).unwrap();

    source.append(event(EventType::Create, "users")); // 1
    source.append(event(EventType::Update, "users")); // 2
    source.append(event(EventType::Create, "orders")); // 3
    source.append(event(EventType::SoftDelete, "users")); // 4
    source.append(event(EventType::Delete, "items")); // 5
    source.append(event(EventType::Update, "other")); // 6
    wait_delivered(&manager, 6).await;

    assert_eq!(users.ids(), [1, 2, 4]);
    assert_eq!(creates.ids(), [1, 3]);
    assert_eq!(user_updates.ids(), [2, 4]);
    assert_eq!(either.ids(), [3, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_stops_delivery_and_dropping_the_handle_does_not() {
    let (source, manager) = start(config()).await;
    let leaving = Seen::default();
    let staying = Seen::default();
    let handle = manager.add_callback(leaving.callback()).unwrap();
    drop(manager.add_callback(staying.callback()).unwrap());

    source.append(create("users"));
    wait_delivered(&manager, 1).await;
    assert!(handle.is_active());
    assert!(handle.unsubscribe());
    assert!(!handle.unsubscribe(), "a second unsubscribe finds nothing");
    assert!(!handle.is_active());

    source.append(create("users"));
    wait_delivered(&manager, 2).await;
    assert_eq!(leaving.ids(), [1]);
    assert_eq!(staying.ids(), [1, 2]);
    assert_eq!(manager.callback_count(), 1);
    assert_eq!(manager.get_stats().callbacks_unsubscribed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_of_one_event_run_concurrently() {
    let (source, manager) = start(config()).await;
    let spans: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    for _ in 0..2 {
        let spans = spans.clone();
        manager
            .add_callback(move |_| {
                let spans = spans.clone();
                async move {
                    let began = Instant::now();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    spans.lock().unwrap().push((began, Instant::now()));
                    Ok(())
                }
            })
            .unwrap();
    }
    source.append(create("users"));
    wait_delivered(&manager, 1).await;
    let spans = spans.lock().unwrap().clone();
    assert_eq!(spans.len(), 2);
    let first_start = spans.iter().map(|s| s.0).min().unwrap();
    let last_end = spans.iter().map(|s| s.1).max().unwrap();
    let took = last_end - first_start;
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(350),
        "two 200 ms callbacks took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_event_waits_for_every_callback_of_the_previous_one() {
    let (source, manager) = start(config()).await;
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let slow_log = log.clone();
    manager
        .add_callback(move |event| {
            let log = slow_log.clone();
            async move {
                if event.id == 1 {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                log.lock().unwrap().push(format!("slow {}", event.id));
                Ok(())
            }
        })
        .unwrap();
    let fast_log = log.clone();
    manager
        .add_callback(move |event| {
            fast_log.lock().unwrap().push(format!("fast {}", event.id));
            async { Ok(()) }
        })
        .unwrap();
    source.append(create("users"));
    source.append(create("users"));
    wait_delivered(&manager, 2).await;
    let log = log.lock().unwrap().clone();
    let slow_1 = log.iter().position(|l| l == "slow 1").unwrap();
    let fast_2 = log.iter().position(|l| l == "fast 2").unwrap();
    assert!(slow_1 < fast_2, "event 2 was dispatched before event 1 finished: {log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_delivers_new_events_and_start_from_replays_the_log() {
    let source = Arc::new(MemorySource::new());
    source.append(create("users"));
    source.append(create("users"));

    let from_now = SignalManager::start(config(), source.clone()).await.unwrap();
    let replay = SignalManager::start_from(config(), source.clone(), Position::default()).unwrap();
    let new_only = Seen::default();
    let everything = Seen::default();
    from_now.add_callback(new_only.callback()).unwrap();
    replay.add_callback(everything.callback()).unwrap();

    source.append(create("users"));
    wait_delivered(&from_now, 1).await;
    wait_delivered(&replay, 3).await;
    assert_eq!(new_only.ids(), [3]);
    // The replaying manager may have dispatched the first events before its callback existed.
    assert!(everything.ids().ends_with(&[3]));
    assert_eq!(from_now.get_stats().position, source.tail().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_deliveries_runs_and_outcomes() {
    let (source, manager) =
        start(storehaus_signals::SignalConfig { remove_failing_callbacks: false, ..config() }).await;
    let fine = Seen::default();
    manager.add_callback(fine.callback()).unwrap();
    manager.add_callback(|_| async { Err("always".into()) }).unwrap();
    let quiet = manager.add_callback_for(Subscription::table("nothing"), |_| async { Ok(()) }).unwrap();

    for _ in 0..10 {
        source.append(create("users"));
    }
    wait_delivered(&manager, 10).await;
    quiet.unsubscribe();

    let stats = manager.get_stats();
    assert_eq!(stats.events_delivered, 10);
    assert_eq!(stats.events_queued, 0);
    assert_eq!(stats.callbacks_registered, 2);
    assert_eq!(stats.callbacks_run, 20);
    assert_eq!(stats.callbacks_succeeded, 10);
    assert_eq!(stats.callbacks_failed, 10);
    assert_eq!(stats.callbacks_timed_out, 0);
    assert_eq!(stats.callbacks_removed(), 0);
    assert_eq!(stats.callbacks_unsubscribed, 1);
    assert_eq!(stats.listener_reconnects, 0);
    assert!(stats.listener_connected);
    assert_eq!(stats.position, source.tail().await.unwrap());
    assert!(stats.lag < Duration::from_secs(10), "lag {:?}", stats.lag);
    assert_eq!(fine.len(), 10);
}

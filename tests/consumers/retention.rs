//! Retention keeps the events a registered consumer has not reached, up to its maximum lag;
//! past it they are pruned and the consumer is told which it missed.

use super::*;

fn pruning_fast() -> SignalConfig {
    SignalConfig {
        heartbeat_seconds: 2,
        event_retention_seconds: 1,
        cleanup_interval_seconds: 1,
        ..SignalConfig::default()
    }
}

async fn event_count(storehaus: &StoreHaus) -> i64 {
    raw::int(storehaus, "SELECT count(*) FROM \"storehaus_events\"").await
}

on_both_backends! {
    async fn events_a_stopped_consumer_has_not_reached_are_kept_until_its_maximum_lag(db) {
        let s = setup_with(&db, pruning_fast()).await;
        let calls = Inbox::default();
        let start = |max_lag: Duration| s.manager.consumer("archive").max_lag(max_lag).start(calls.recorder());
        let consumer = start(Duration::from_secs(4)).await.unwrap();
        let handled = s.orders.create(order("handled"), None).await.unwrap();
        assert_eq!(calls.wait_for(1, Duration::from_secs(10)).await.len(), 1);
        consumer.stop().await;

        for i in 0..5 {
            s.orders.create(order(&format!("waiting{i}")), None).await.unwrap();
        }
        let last = last_event_id(&s.storehaus).await;
        // Past the retention (1 s) and several prunes later, the five wait for the consumer; the
        // event it handled is gone.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(event_count(&s.storehaus).await, 5, "kept for the consumer, the handled one pruned");

        // Past its maximum lag (4 s) they go, and the partition is moved past them.
        assert!(eventually(Duration::from_secs(10), async || event_count(&s.storehaus).await == 0).await);
        assert_eq!(positions(&s.storehaus, "archive").await, [last]);
        let missed: (Option<i64>, Option<i64>) =
            raw::rows(&s.storehaus, "SELECT \"missed_after\", \"missed_through\" FROM \"storehaus_consumer_positions\"")
                .await
                .remove(0);
        assert_eq!(missed.1, Some(last), "the range it missed is recorded: {missed:?}");
        assert!(missed.0.is_some_and(|after| after < last));

        // Started again, it reports what it missed and forgets the record; it handles new events.
        let again = start(Duration::from_secs(4)).await.unwrap();
        assert!(eventually(Duration::from_secs(5), async || again.stats().missed_ranges == 1).await);
        let cleared: Option<i64> =
            raw::rows::<(Option<i64>,)>(&s.storehaus, "SELECT \"missed_through\" FROM \"storehaus_consumer_positions\"")
                .await
                .remove(0)
                .0;
        assert_eq!(cleared, None);
        let later = s.orders.create(order("later"), None).await.unwrap();
        assert_eq!(calls.wait_for(2, Duration::from_secs(10)).await.len(), 2);
        assert_eq!(calls.record_ids(), [handled.id.to_string(), later.id.to_string()]);
        again.stop().await;
        s.manager.shutdown().await;
    }

    async fn a_removed_consumer_holds_nothing_back(db) {
        let s = setup_with(&db, pruning_fast()).await;
        let consumer = s.manager.consumer("gone").start(|_| async { Ok(()) }).await.unwrap();
        consumer.stop().await;
        s.orders.create(order("a"), None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(event_count(&s.storehaus).await, 1, "kept for the stopped consumer");

        assert!(s.manager.remove_consumer("gone").await.unwrap());
        assert!(!s.manager.remove_consumer("gone").await.unwrap());
        assert!(eventually(Duration::from_secs(5), async || event_count(&s.storehaus).await == 0).await);
        let rows = raw::int(&s.storehaus, "SELECT count(*) FROM \"storehaus_consumer_positions\"").await;
        assert_eq!(rows, 0);
        s.manager.shutdown().await;
    }
}

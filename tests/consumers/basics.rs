//! A consumer handles each event once, keeps its position in the database, and resumes there.

use super::*;
use storehaus::signals::{EventType, SignalError};
use storehaus::testing::TestSqlite;

on_both_backends! {
    async fn a_restarted_consumer_resumes_at_its_saved_position(db) {
        let s = setup(&db).await;
        let calls = Inbox::default();
        let consumer = recording_consumer(&s.manager, "mail", &calls).await;

        let mut written = Vec::new();
        for i in 0..10 {
            written.push(s.orders.create(order(&format!("c{i}")), None).await.unwrap().id.to_string());
        }
        assert_eq!(calls.wait_for(10, Duration::from_secs(10)).await.len(), 10);
        consumer.stop().await;
        assert_eq!(positions(&s.storehaus, "mail").await, [last_event_id(&s.storehaus).await], "saved at stop");

        for i in 10..15 {
            written.push(s.orders.create(order(&format!("c{i}")), None).await.unwrap().id.to_string());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(calls.len(), 10, "a stopped consumer handles nothing");

        let again = recording_consumer(&s.manager, "mail", &calls).await;
        assert_eq!(calls.wait_for(15, Duration::from_secs(10)).await.len(), 15);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(calls.record_ids(), written, "each event once, in log order, across the restart");
        assert_eq!(again.stats().handled, 5);
        again.stop().await;
        s.manager.shutdown().await;
    }

    async fn a_new_consumer_starts_at_the_end_unless_asked_for_the_beginning(db) {
        let s = setup(&db).await;
        // A first consumer, so that SQLite keeps its durable log from here on.
        let opener = s.manager.consumer("opener").start(|_| async { Ok(()) }).await.unwrap();
        let before = s.orders.create(order("before"), None).await.unwrap();

        let at_end = Inbox::default();
        let from_start = Inbox::default();
        let end_consumer = recording_consumer(&s.manager, "at-end", &at_end).await;
        let start_consumer = s
            .manager
            .consumer("from-start")
            .from_beginning()
            .start(from_start.recorder())
            .await
            .unwrap();
        let after = s.orders.create(order("after"), None).await.unwrap();

        assert_eq!(from_start.wait_for(2, Duration::from_secs(10)).await.len(), 2);
        assert_eq!(at_end.wait_for(1, Duration::from_secs(10)).await.len(), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(from_start.record_ids(), [before.id.to_string(), after.id.to_string()]);
        assert_eq!(at_end.record_ids(), [after.id.to_string()]);
        end_consumer.stop().await;
        start_consumer.stop().await;
        opener.stop().await;
        s.manager.shutdown().await;
    }

    async fn events_outside_the_subscription_are_passed_over(db) {
        let s = setup(&db).await;
        let calls = Inbox::default();
        let consumer = s
            .manager
            .consumer("creates-only")
            .subscription(Subscription::table("orders").events([EventType::Create]))
            .start(calls.recorder())
            .await
            .unwrap();
        let created = s.orders.create(order("a"), None).await.unwrap();
        s.orders.delete(&created.id).await.unwrap();
        let second = s.orders.create(order("b"), None).await.unwrap();

        assert_eq!(calls.wait_for(2, Duration::from_secs(10)).await.len(), 2);
        let last = last_event_id(&s.storehaus).await;
        assert!(eventually(Duration::from_secs(5), async || positions(&s.storehaus, "creates-only").await == [last]).await);
        assert_eq!(calls.record_ids(), [created.id.to_string(), second.id.to_string()]);
        assert_eq!(consumer.stats().passed_over, 1, "the delete");
        consumer.stop().await;
        s.manager.shutdown().await;
    }
}

#[tokio::test]
async fn bad_settings_are_refused_and_register_nothing() {
    let Some(db) = TestDatabase::new().await else { return };
    let s = setup(&db).await;
    let start = |builder: storehaus::signals::ConsumerBuilder| builder.start(|_| async { Ok(()) });
    let refusals = [
        start(s.manager.consumer("")).await.err(),
        start(s.manager.consumer("nul\0name")).await.err(),
        start(s.manager.consumer("x".repeat(201))).await.err(),
        start(s.manager.consumer("p").partitions(0)).await.err(),
        start(s.manager.consumer("p").partitions(257)).await.err(),
        start(s.manager.consumer("a").max_attempts(0)).await.err(),
        start(s.manager.consumer("t").timeout(Duration::ZERO)).await.err(),
        start(s.manager.consumer("b").retry_backoff(Duration::from_secs(2), Duration::from_secs(1))).await.err(),
    ];
    for refusal in refusals {
        assert!(matches!(refusal, Some(SignalError::InvalidConsumer { .. })), "{refusal:?}");
    }
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM storehaus_consumers").fetch_one(pg(&s.storehaus)).await.unwrap();
    assert_eq!(registered, 0);
    s.manager.shutdown().await;
}

/// On SQLite the durable log and the consumers' tables appear with the first registration;
/// before it, writes copy nothing and there is nothing to list.
#[tokio::test]
async fn sqlite_creates_its_durable_log_with_the_first_consumer() {
    let db = TestSqlite::new();
    let s = setup(&db).await;
    let tables = "SELECT count(*) FROM sqlite_master WHERE name LIKE 'storehaus_%'";
    s.orders.create(order("before"), None).await.unwrap();
    assert_eq!(raw::int(&s.storehaus, tables).await, 0);
    assert!(s.manager.dead_letters("mail").unwrap().list().await.unwrap().is_empty());
    assert!(!s.manager.remove_consumer("mail").await.unwrap());

    let calls = Inbox::default();
    let consumer = recording_consumer(&s.manager, "mail", &calls).await;
    assert!(raw::int(&s.storehaus, tables).await >= 6);
    let after = s.orders.create(order("after"), None).await.unwrap();
    assert_eq!(calls.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    assert_eq!(calls.record_ids(), [after.id.to_string()], "the write before the registration is not in the log");
    assert_eq!(raw::int(&s.storehaus, "SELECT count(*) FROM \"storehaus_events\"").await, 1);
    consumer.stop().await;
    s.manager.shutdown().await;
}

on_both_backends! {
    /// `mark_handled` is true the first time per consumer and event, only once a transaction
    /// that recorded it committed; other consumers keep their own records.
    async fn mark_handled_is_true_once_per_consumer_and_event(db) {
        let s = setup(&db).await;
        let calls = Inbox::default();
        let consumer = recording_consumer(&s.manager, "mail", &calls).await;
        s.orders.create(order("a"), None).await.unwrap();
        assert_eq!(calls.wait_for(1, Duration::from_secs(10)).await.len(), 1);
        let event = calls.events()[0].clone();

        let rolled_back = s.storehaus.begin().await.unwrap();
        assert!(rolled_back.mark_handled("mail", &event).await.unwrap());
        rolled_back.rollback().await.unwrap();

        let first = s.storehaus.begin().await.unwrap();
        assert!(first.mark_handled("mail", &event).await.unwrap(), "the rolled-back record does not count");
        assert!(!first.mark_handled("mail", &event).await.unwrap(), "twice in one transaction");
        first.commit().await.unwrap();

        let again = s.storehaus.begin().await.unwrap();
        assert!(!again.mark_handled("mail", &event).await.unwrap());
        assert!(again.mark_handled("search-index", &event).await.unwrap(), "per consumer");
        again.commit().await.unwrap();
        let sql = format!("SELECT count(*) FROM \"storehaus_handled_events\" WHERE \"event_id\" = {}", event.id);
        let records = raw::int(&s.storehaus, &sql).await;
        assert_eq!(records, 2);
        consumer.stop().await;
        s.manager.shutdown().await;
    }
}

//! Counters given a signal manager announce the rows a sync (or a direct write) changes on
//! `storehaus_counters`: one event per row, and none for buffered increments or dry runs.

use super::*;
use storehaus_suite::inbox::Inbox;

/// How long a test waits for an event that must not come.
const QUIET: Duration = Duration::from_millis(500);

/// The kinds of `events`, each checked to be on the counters' table.
fn kinds(events: &[DatabaseEvent]) -> Vec<EventType> {
    events
        .iter()
        .map(|event| {
            assert_eq!(event.table_name, TABLE, "{event:?}");
            event.event_type
        })
        .collect()
}

on_both_envs! {
    async fn a_sync_announces_each_row_it_changes(env) {
        let manager = env.storehaus.signal_manager(SignalConfig::default()).await.unwrap();
        let inbox = Inbox::attached(&manager);
        let counters = env.builder().signals(manager.clone()).build().await.unwrap();

        counters.increment(&user(1), "downloads", 1).await.unwrap();
        counters.increment(&user(1), "downloads", 1).await.unwrap();
        counters.increment(&user(1), "views", 1).await.unwrap();
        counters.increment(&user(2), "downloads", 1).await.unwrap();
        counters.sync(SyncOptions::default().dry_run()).await.unwrap();
        assert!(inbox.settled_after(0, 0, QUIET).await.is_empty(), "buffered increments and a dry run announce nothing");

        sync(&counters).await;
        let created = inbox.settled_after(0, 3, QUIET).await;
        assert_eq!(kinds(&created), vec![EventType::Create; 3], "one event per new row: {created:?}");

        counters.increment(&user(1), "downloads", 5).await.unwrap();
        counters.increment(&user(2), "downloads", 5).await.unwrap();
        sync(&counters).await;
        let updated = inbox.settled_after(3, 2, QUIET).await;
        assert_eq!(kinds(&updated), vec![EventType::Update; 2], "one event per changed row: {updated:?}");

        sync(&counters).await;
        assert!(inbox.settled_after(5, 0, QUIET).await.is_empty(), "a sync with nothing to hand over announces nothing");
        manager.shutdown().await;
    }

    async fn a_direct_write_announces_its_row(env) {
        let manager = env.storehaus.signal_manager(SignalConfig::default()).await.unwrap();
        let inbox = Inbox::attached(&manager);
        let direct = Counters::builder(env.storehaus.pool().clone()).direct().signals(manager.clone()).build().await.unwrap();
        direct.increment(&user(1), "downloads", 1).await.unwrap();
        let first = inbox.settled_after(0, 1, QUIET).await;
        assert_eq!(kinds(&first).len(), 1, "{first:?}");
        direct.increment(&user(1), "downloads", 1).await.unwrap();
        let second = inbox.settled_after(1, 1, QUIET).await;
        assert_eq!(kinds(&second), vec![EventType::Update], "{second:?}");
        manager.shutdown().await;
    }
}

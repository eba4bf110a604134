//! Counters given a signal manager announce the rows a sync (or a direct write) changes on
//! `storehaus_counters`: one event per row, and none for buffered increments or dry runs.

use super::*;
use std::sync::Mutex;
use storehaus::signals::Subscription;

/// Every event the manager delivers, in delivery order.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<DatabaseEvent>>>);

impl Inbox {
    fn attach(&self, manager: &SignalManager) {
        let inbox = self.clone();
        manager
            .add_callback_for(Subscription::all(), move |event| {
                let inbox = inbox.clone();
                async move {
                    inbox.0.lock().unwrap().push(event);
                    Ok(())
                }
            })
            .unwrap();
    }

    /// The events after the first `from`, once `count` more arrived and a quiet spell showed no
    /// further one comes (or 10 s passed).
    async fn next(&self, from: usize, count: usize) -> Vec<DatabaseEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.0.lock().unwrap().len() < from + count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(QUIET).await;
        self.0.lock().unwrap()[from..].to_vec()
    }
}

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
        let inbox = Inbox::default();
        inbox.attach(&manager);
        let counters = env.builder().signals(manager.clone()).build().await.unwrap();

        counters.increment(&user(1), "downloads", 1).await.unwrap();
        counters.increment(&user(1), "downloads", 1).await.unwrap();
        counters.increment(&user(1), "views", 1).await.unwrap();
        counters.increment(&user(2), "downloads", 1).await.unwrap();
        counters.sync(SyncOptions::default().dry_run()).await.unwrap();
        assert!(inbox.next(0, 0).await.is_empty(), "buffered increments and a dry run announce nothing");

        sync(&counters).await;
        let created = inbox.next(0, 3).await;
        assert_eq!(kinds(&created), vec![EventType::Create; 3], "one event per new row: {created:?}");

        counters.increment(&user(1), "downloads", 5).await.unwrap();
        counters.increment(&user(2), "downloads", 5).await.unwrap();
        sync(&counters).await;
        let updated = inbox.next(3, 2).await;
        assert_eq!(kinds(&updated), vec![EventType::Update; 2], "one event per changed row: {updated:?}");

        sync(&counters).await;
        assert!(inbox.next(5, 0).await.is_empty(), "a sync with nothing to hand over announces nothing");
        manager.shutdown().await;
    }

    async fn a_direct_write_announces_its_row(env) {
        let manager = env.storehaus.signal_manager(SignalConfig::default()).await.unwrap();
        let inbox = Inbox::default();
        inbox.attach(&manager);
        let direct = Counters::builder(env.storehaus.pool().clone()).direct().signals(manager.clone()).build().await.unwrap();
        direct.increment(&user(1), "downloads", 1).await.unwrap();
        let first = inbox.next(0, 1).await;
        assert_eq!(kinds(&first).len(), 1, "{first:?}");
        direct.increment(&user(1), "downloads", 1).await.unwrap();
        let second = inbox.next(1, 1).await;
        assert_eq!(kinds(&second), vec![EventType::Update], "{second:?}");
        manager.shutdown().await;
    }
}

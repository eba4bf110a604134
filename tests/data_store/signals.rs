//! Writes of a data store given a signal manager announce themselves on `storehaus_data`; a
//! refused write announces nothing.

use super::*;
use storehaus_suite::inbox::Inbox;

/// How long a test waits for an event that must not come.
const QUIET: Duration = Duration::from_millis(500);

on_both_backends! {
    async fn every_write_kind_emits_an_event_on_the_data_table(db) {
        let storehaus = db.storehaus().await;
        let manager = storehaus.signal_manager(SignalConfig::default()).await.unwrap();
        let inbox = Inbox::attached(&manager);
        let data = storehaus.data_store().await.unwrap().with_signals(manager.clone());
        let cart = data.for_owner(user(1)).in_namespace("cart");
        let mut backup = Vec::new();
        cart.set("seed", 1, None).await.unwrap();
        cart.export(&mut backup).await.unwrap();
        data.set("expiring", 1, Some(Duration::from_secs(1))).await.unwrap();

        type Write<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>;
        let writes: Vec<(&str, Write<'_>)> = vec![
            ("set (new key)", Box::pin(async { cart.set("theme", "dark", None).await })),
            ("set (existing key)", Box::pin(async { cart.set("theme", "light", None).await })),
            ("set_many", Box::pin(async { cart.set_many([("a", 1), ("b", 2)], None).await.map(drop) })),
            ("touch", Box::pin(async { cart.touch("a", Some(Duration::from_secs(60))).await.map(drop) })),
            ("increment", Box::pin(async { cart.increment("total", 2).await.map(drop) })),
            ("decrement", Box::pin(async { cart.decrement("total", 1).await.map(drop) })),
            ("list_push", Box::pin(async { cart.list_push("items", "x").await.map(drop) })),
            ("list_remove", Box::pin(async { cart.list_remove("items", "x").await.map(drop) })),
            ("list_clear", Box::pin(async { cart.list_clear("items").await.map(drop) })),
            ("delete", Box::pin(async { cart.delete("theme").await.map(drop) })),
            ("delete_many", Box::pin(async { cart.delete_many(["a", "b"]).await.map(drop) })),
            ("clear", Box::pin(async { cart.clear().await.map(drop) })),
            ("import", Box::pin(async { cart.import(backup.as_slice(), true).await.map(drop) })),
            ("cleanup_expired", Box::pin(async {
                outlive(1.0).await;
                assert_eq!(cart.cleanup_expired(100).await?, 1);
                Ok(())
            })),
        ];
        // The two sets above: `seed` and `expiring`.
        let mut seen = 1 + inbox.after(1, Duration::from_secs(10)).await.len();
        assert_eq!(seen, 2, "the first sets emitted {seen} events");
        for (what, write) in writes {
            write.await.unwrap_or_else(|e| panic!("{what}: {e}"));
            let events = inbox.after(seen, Duration::from_secs(10)).await;
            assert!(!events.is_empty(), "{what} emitted no event");
            for event in &events {
                assert_eq!(event.table_name, TABLE, "{what}: {event:?}");
            }
            seen += events.len();
        }
        manager.shutdown().await;
    }

    async fn a_refused_write_emits_nothing(db) {
        let storehaus = db.storehaus().await;
        let manager = storehaus.signal_manager(SignalConfig::default()).await.unwrap();
        let inbox = Inbox::attached(&manager);
        let data = storehaus.data_store().await.unwrap().with_signals(manager.clone());
        data.set("word", "text", None).await.unwrap();
        let seen = inbox.after(0, Duration::from_secs(10)).await.len();
        assert_validation(data.set("a..b", 1, None).await);
        assert_validation(data.increment("word", 1).await);
        assert_validation(data.set("k", "\0", None).await);
        tokio::time::sleep(QUIET).await;
        assert_eq!(inbox.len(), seen, "a refused write emitted an event");
        manager.shutdown().await;
    }
}

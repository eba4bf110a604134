//! The data store's operations, each once, on PostgreSQL and on SQLite; rows are checked with
//! raw SQL where the database holds the answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use storehaus::data::{DataStore, Expiry, ImportReport};
use storehaus::prelude::*;
use storehaus::signals::{DatabaseEvent, EventType, Subscription};
use storehaus_suite::{TestBackend, on_both_backends, raw};

async fn data<B: TestBackend>(db: &B) -> (StoreHaus, DataStore) {
    let storehaus = db.storehaus().await;
    let data = storehaus.data_store().await.unwrap();
    (storehaus, data)
}

async fn rows(storehaus: &StoreHaus) -> i64 {
    raw::int(storehaus, r#"SELECT COUNT(*) FROM "storehaus_data""#).await
}

fn is_validation(result: Result<impl std::fmt::Debug, StoreError>, field: &str) {
    match result {
        Err(StoreError::Validation { field: Some(f), .. }) if f == field => {}
        other => panic!("expected a validation error on `{field}`, got {other:?}"),
    }
}

on_both_backends! {
    async fn set_get_has_delete_clear(db) {
        let (storehaus, data) = data(&db).await;
        data.set("config.app.name", "shop", None).await.unwrap();
        assert_eq!(data.get::<String>("config.app.name").await.unwrap().as_deref(), Some("shop"));
        assert_eq!(data.get_or("missing", 7i64).await.unwrap(), 7);
        assert!(data.has("config.app.name").await.unwrap());
        assert!(matches!(data.get::<i64>("config.app.name").await, Err(StoreError::Decode { .. })));
        // `set` replaces the value.
        data.set("config.app.name", json!({"v": 2}), None).await.unwrap();
        assert_eq!(data.get::<serde_json::Value>("config.app.name").await.unwrap(), Some(json!({"v": 2})));
        assert_eq!(rows(&storehaus).await, 1);
        let stored = raw::texts(&storehaus, r#"SELECT "key" FROM "storehaus_data" WHERE "owner_kind" = '' AND "namespace" = ''"#).await;
        assert_eq!(stored, [Some("config.app.name".to_owned())]);
        assert!(data.delete("config.app.name").await.unwrap());
        assert!(!data.delete("config.app.name").await.unwrap());
        assert!(!data.has("config.app.name").await.unwrap());

        let user = data.for_owner(Owner::new("user", 42)).in_namespace("cart");
        user.set("total", 3, None).await.unwrap();
        user.in_namespace("cart.saved").set("total", 9, None).await.unwrap();
        data.set("total", 1, None).await.unwrap();
        assert_eq!(user.clear().await.unwrap(), 1);
        assert_eq!(user.in_namespace("cart.saved").get::<i64>("total").await.unwrap(), Some(9));
        assert_eq!(data.get::<i64>("total").await.unwrap(), Some(1));
        assert_eq!((user.owner().kind(), user.namespace()), ("user", "cart"));
    }

    async fn invalid_input_writes_nothing(db) {
        let (storehaus, data) = data(&db).await;
        for key in ["", ".a", "a.", "a..b", "a\0b"] {
            is_validation(data.set(key, 1, None).await, "key");
        }
        is_validation(data.set(&"k".repeat(256), 1, None).await, "key");
        is_validation(data.in_namespace("a..b").set("k", 1, None).await, "namespace");
        is_validation(data.in_namespace("a..b").keys().await, "namespace");
        is_validation(data.for_owner(Owner::new("", 5)).set("k", 1, None).await, "owner");
        is_validation(data.set("k", "nul\0inside", None).await, "value");
        is_validation(data.set_many([("ok", 1), ("bad..key", 2)], None).await, "key");
        assert_eq!(rows(&storehaus).await, 0);
        // Hostile but valid keys are stored as given.
        let keys = ["it's", "50%_off", "a\"b", "ключ.值"];
        for key in keys {
            data.set(key, key, None).await.unwrap();
        }
        for key in keys {
            assert_eq!(data.get::<String>(key).await.unwrap().as_deref(), Some(key));
        }
        data.set("big", "x".repeat(1 << 20), None).await.unwrap();
        assert_eq!(data.get::<String>("big").await.unwrap().map(|v| v.len()), Some(1 << 20));
    }

    async fn retrieval_and_nesting(db) {
        let (_storehaus, data) = data(&db).await;
        data.set_many(
            [("config.app.name", json!("shop")), ("config.app.debug", json!(true)), ("a%b", json!(1)), ("abc", json!(2)), ("a_c", json!(3))],
            None,
        )
        .await
        .unwrap();
        assert_eq!(data.keys().await.unwrap(), ["a%b", "a_c", "abc", "config.app.debug", "config.app.name"]);
        assert_eq!(data.all().await.unwrap().len(), 5);
        assert_eq!(data.keys_starting_with("a%").await.unwrap(), ["a%b"]);
        assert_eq!(data.keys_starting_with("a_").await.unwrap(), ["a_c"]);
        is_validation(data.keys_starting_with("a\0").await, "prefix");
        assert_eq!(data.starting_with("config.").await.unwrap().len(), 2);
        assert_eq!(data.nested_from("config").await.unwrap(), json!({"app": {"name": "shop", "debug": true}}));
        assert_eq!(data.nested_from("nothing").await.unwrap(), json!({}));
        assert_eq!(data.nested().await.unwrap()["config"]["app"]["name"], json!("shop"));
    }

    async fn bulk_operations(db) {
        let (storehaus, data) = data(&db).await;
        let entries: Vec<(String, i64)> = (0..2500).map(|i| (format!("k{i}"), i)).collect();
        assert_eq!(data.set_many(entries, None).await.unwrap(), 2500);
        assert_eq!(rows(&storehaus).await, 2500);
        let found = data.get_many::<i64>(["k1", "k2", "nope"]).await.unwrap();
        assert_eq!(found.into_iter().collect::<Vec<_>>(), [("k1".to_owned(), 1), ("k2".to_owned(), 2)]);
        assert_eq!(data.delete_many(["k1", "k2", "nope"]).await.unwrap(), 2);
        assert_eq!(rows(&storehaus).await, 2498);
    }

    async fn expiry_hides_entries_at_once(db) {
        let (storehaus, data) = data(&db).await;
        data.set("token", "t", Some(Duration::from_secs(1))).await.unwrap();
        data.set("kept", "k", Some(Duration::from_secs(3600))).await.unwrap();
        data.set("forever", "f", None).await.unwrap();
        assert!(matches!(data.ttl("token").await.unwrap(), Some(Expiry::In(left)) if left <= Duration::from_secs(1)));
        assert_eq!(data.ttl("forever").await.unwrap(), Some(Expiry::Never));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(data.get::<String>("token").await.unwrap(), None);
        assert!(!data.has("token").await.unwrap());
        assert_eq!(data.keys().await.unwrap(), ["forever", "kept"]);
        assert!(!data.all().await.unwrap().contains_key("token"));
        assert!(data.nested().await.unwrap().get("token").is_none());
        assert_eq!(data.ttl("token").await.unwrap(), None);
        assert!(!data.touch("token", None).await.unwrap());
        assert!(data.touch("kept", None).await.unwrap());
        assert_eq!(data.ttl("kept").await.unwrap(), Some(Expiry::Never));
        // An expired entry is replaced by a write as if missing.
        assert_eq!(rows(&storehaus).await, 3);
        assert_eq!(data.cleanup_expired(1).await.unwrap(), 1);
        assert_eq!(rows(&storehaus).await, 2);
        assert_eq!(data.cleanup_expired(100).await.unwrap(), 0);
    }

    async fn counters(db) {
        let (_storehaus, data) = data(&db).await;
        assert_eq!(data.increment("n", 5).await.unwrap(), 5);
        assert_eq!(data.decrement("n", 7).await.unwrap(), -2);
        data.set("s", "text", None).await.unwrap();
        is_validation(data.increment("s", 1).await, "value");
        assert_eq!(data.get::<String>("s").await.unwrap().as_deref(), Some("text"));
        data.set("f", 1.5, None).await.unwrap();
        is_validation(data.increment("f", 1).await, "value");
        data.set("max", i64::MAX, None).await.unwrap();
        is_validation(data.increment("max", 1).await, "value");
        assert_eq!(data.get::<i64>("max").await.unwrap(), Some(i64::MAX));
        is_validation(data.decrement("x", i64::MIN).await, "value");
        // An existing entry keeps its expiry.
        data.set("ttl", 1, Some(Duration::from_secs(600))).await.unwrap();
        assert_eq!(data.increment("ttl", 1).await.unwrap(), 2);
        assert!(matches!(data.ttl("ttl").await.unwrap(), Some(Expiry::In(_))));

        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let data = data.clone();
                tokio::spawn(async move {
                    for _ in 0..100 {
                        data.increment("hits", 1).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(data.get::<i64>("hits").await.unwrap(), Some(5000));
    }

    async fn lists(db) {
        let (_storehaus, data) = data(&db).await;
        assert_eq!(data.list_push("l", "a").await.unwrap(), 1);
        assert_eq!(data.list_push("l", json!({"x": 1})).await.unwrap(), 2);
        assert_eq!(data.list_push("l", "a").await.unwrap(), 3);
        assert_eq!(data.list_remove("l", "a").await.unwrap(), 2);
        assert_eq!(data.list_remove("l", "zzz").await.unwrap(), 0);
        assert_eq!(data.list::<serde_json::Value>("l").await.unwrap(), [json!({"x": 1})]);
        assert!(data.list_clear("l").await.unwrap());
        assert!(data.list::<serde_json::Value>("l").await.unwrap().is_empty());
        assert!(!data.list_clear("missing").await.unwrap());
        assert!(data.list::<String>("missing").await.unwrap().is_empty());
        data.set("n", 1, None).await.unwrap();
        is_validation(data.list_push("n", 2).await, "value");
        assert_eq!(data.get::<i64>("n").await.unwrap(), Some(1));

        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let data = data.clone();
                tokio::spawn(async move { data.list_push("many", i).await.unwrap() })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let mut items = data.list::<i64>("many").await.unwrap();
        items.sort_unstable();
        assert_eq!(items, (0..20).collect::<Vec<_>>());
    }

    async fn export_and_import(db) {
        let (_storehaus, data) = data(&db).await;
        let user = data.for_owner(Owner::new("user", 42)).in_namespace("cart");
        user.set("total", 3, Some(Duration::from_secs(3600))).await.unwrap();
        data.set("theme", "dark", None).await.unwrap();
        let mut scope_file = Vec::new();
        assert_eq!(user.export(&mut scope_file).await.unwrap(), 1);
        let mut file = Vec::new();
        assert_eq!(data.export_all(&mut file).await.unwrap(), 2);
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(text.starts_with(r#"{"format":"storehaus-data/1","entries":["#), "{text}");

        let other = B::open().await.expect("a second database");
        let (_s2, fresh) = self::data(&other).await;
        let report = fresh.import(file.as_slice(), true).await.unwrap();
        assert_eq!((report.written, report.skipped), (2, 0));
        assert_eq!(fresh.all().await.unwrap(), data.all().await.unwrap());
        let fresh_user = fresh.for_owner(Owner::new("user", 42)).in_namespace("cart");
        assert_eq!(fresh_user.all().await.unwrap(), user.all().await.unwrap());
        assert!(matches!(fresh_user.ttl("total").await.unwrap(), Some(Expiry::In(_))));

        fresh.set("theme", "light", None).await.unwrap();
        let report = fresh.import(file.as_slice(), false).await.unwrap();
        assert_eq!((report.written, report.skipped), (0, 2));
        assert_eq!(fresh.get::<String>("theme").await.unwrap().as_deref(), Some("light"));
        is_validation_any(fresh.import(&b"{\"format\":\"storehaus-data/1\",\"entries\":[{}]}"[..], true).await);
        assert_eq!(fresh.get::<String>("theme").await.unwrap().as_deref(), Some("light"));
    }

    async fn writes_emit_signals(db) {
        let storehaus = db.storehaus().await;
        let signals = storehaus.signal_manager(SignalConfig { heartbeat_seconds: 1, ..SignalConfig::default() }).await.unwrap();
        let inbox: Arc<Mutex<Vec<DatabaseEvent>>> = Arc::default();
        let sink = inbox.clone();
        signals
            .add_callback_for(Subscription::all(), move |event| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push(event);
                    Ok(())
                }
            })
            .unwrap();
        let data = storehaus.data_store().await.unwrap().with_signals(signals.clone());
        data.set("flag", true, None).await.unwrap();
        data.set("flag", false, None).await.unwrap();
        data.increment("n", 1).await.unwrap();
        data.delete("flag").await.unwrap();
        data.set_many([("a", 1)], None).await.unwrap();
        let mut file = Vec::new();
        data.export(&mut file).await.unwrap();
        data.import(file.as_slice(), true).await.unwrap();
        let mut events = Vec::new();
        for _ in 0..200 {
            events = inbox.lock().unwrap().clone();
            if events.len() >= 7 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let kinds: Vec<EventType> = events.iter().filter(|e| e.table() == Some("storehaus_data")).map(|e| e.event_type).collect();
        use EventType::{Create, Delete, Update};
        assert_eq!(kinds, [Create, Update, Create, Delete, Create, Update, Update]);
        assert_eq!(events[0].payload["key"], json!("flag"));
        storehaus.close().await;
    }

    async fn cache_never_serves_stale_values(db) {
        let (storehaus, data) = data(&db).await;
        let manager = Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap());
        let cached = data.with_cache(CacheParams::new(manager.clone(), 60, "test"));
        cached.set("k", 1, None).await.unwrap();
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(1));
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(1));
        assert!(manager.stats().hits >= 1);
        cached.set("k", 2, None).await.unwrap();
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(2));
        cached.increment("k", 1).await.unwrap();
        assert!(cached.has("k").await.unwrap());
        assert_eq!(cached.get::<i64>("k").await.unwrap(), Some(3));
        cached.set("short", 1, Some(Duration::from_secs(1))).await.unwrap();
        assert_eq!(cached.get::<i64>("short").await.unwrap(), Some(1));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(cached.get::<i64>("short").await.unwrap(), None);
        cached.clear().await.unwrap();
        assert!(!cached.has("k").await.unwrap());
        assert_eq!(rows(&storehaus).await, 1); // the expired entry waits for cleanup
    }

    async fn data_store_migrates_once(db) {
        let storehaus = db.storehaus().await;
        let (a, b) = tokio::join!(storehaus.data_store(), storehaus.data_store());
        a.unwrap().set("k", 1, None).await.unwrap();
        assert_eq!(b.unwrap().get::<i64>("k").await.unwrap(), Some(1));
        let again = DataStore::new(storehaus.pool().clone()).await.unwrap();
        assert!(again.has("k").await.unwrap());
    }
}

fn is_validation_any(result: Result<ImportReport, StoreError>) {
    assert!(matches!(result, Err(StoreError::Validation { .. })), "{result:?}");
}

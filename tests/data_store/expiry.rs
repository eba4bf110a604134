//! Entries with a time to live: invisible to every read once expired (before any cleanup),
//! `set` replacing the TTL, `touch` and `ttl`.

use super::*;

const ONE_SECOND: Option<Duration> = Some(Duration::from_secs(1));

/// `Some(Expiry::In(d))` with `low < d <= high`.
#[track_caller]
fn assert_left(expiry: Option<Expiry>, low: Duration, high: Duration) {
    match expiry {
        Some(Expiry::In(left)) => assert!(low < left && left <= high, "{left:?} is not in ({low:?}, {high:?}]"),
        other => panic!("expected Some(Expiry::In(..)), got {other:?}"),
    }
}

on_both_backends! {
    async fn an_expired_entry_is_gone_from_every_read_before_any_cleanup(db) {
        let (storehaus, data) = data(&db).await;
        data.set("config.token", "abc123", ONE_SECOND).await.unwrap();
        data.set("config.site", "kept", None).await.unwrap();
        data.set("recent", json!([1]), ONE_SECOND).await.unwrap();
        assert_eq!(data.get::<String>("config.token").await.unwrap().as_deref(), Some("abc123"));
        assert_left(data.ttl("config.token").await.unwrap(), Duration::ZERO, Duration::from_secs(1));

        outlive(1.0).await;
        assert_eq!(data.get::<String>("config.token").await.unwrap(), None);
        assert_eq!(data.get_or("config.token", "default".to_owned()).await.unwrap(), "default");
        assert!(!data.has("config.token").await.unwrap());
        assert_eq!(data.keys().await.unwrap(), keys(&["config.site"]));
        assert_eq!(data.all().await.unwrap(), map(&[("config.site", json!("kept"))]));
        assert_eq!(data.keys_starting_with("config").await.unwrap(), keys(&["config.site"]));
        assert_eq!(data.starting_with("config.t").await.unwrap(), BTreeMap::new());
        assert_eq!(data.nested().await.unwrap(), json!({"config": {"site": "kept"}}));
        assert_eq!(data.nested_from("config").await.unwrap(), json!({"site": "kept"}));
        let found: BTreeMap<String, Value> = data.get_many(["config.token", "config.site", "recent"]).await.unwrap();
        assert_eq!(found, map(&[("config.site", json!("kept"))]));
        assert_eq!(data.ttl("config.token").await.unwrap(), None);
        assert!(data.list::<i64>("recent").await.unwrap().is_empty());
        assert!(!data.touch("config.token", None).await.unwrap(), "touch does not revive an expired entry");
        assert!(!data.delete("config.token").await.unwrap());
        assert!(!data.list_clear("recent").await.unwrap());
        // Nothing was cleaned up: the rows are still there, only invisible.
        assert_eq!(rows(&storehaus).await, 3);
    }

    async fn writes_treat_an_expired_entry_as_missing(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("count", 10, ONE_SECOND).await.unwrap();
        data.set("list", json!(["old"]), ONE_SECOND).await.unwrap();
        data.set("word", "not a number", ONE_SECOND).await.unwrap();
        outlive(1.0).await;
        assert_eq!(data.increment("count", 1).await.unwrap(), 1);
        assert_eq!(data.ttl("count").await.unwrap(), Some(Expiry::Never));
        assert_eq!(data.increment("word", 2).await.unwrap(), 2);
        assert_eq!(data.list_push("list", "new").await.unwrap(), 1);
        assert_eq!(data.list::<String>("list").await.unwrap(), keys(&["new"]));
        assert_eq!(data.list_remove("list", "old").await.unwrap(), 0);
    }

    async fn set_replaces_the_ttl_with_the_new_one(db) {
        let (_storehaus, data) = data(&db).await;
        data.set("token", "a", ONE_SECOND).await.unwrap();
        data.set("token", "b", None).await.unwrap();
        assert_eq!(data.ttl("token").await.unwrap(), Some(Expiry::Never));
        data.set("forever", "a", None).await.unwrap();
        data.set("forever", "b", ONE_SECOND).await.unwrap();
        assert_left(data.ttl("forever").await.unwrap(), Duration::ZERO, Duration::from_secs(1));
        outlive(1.0).await;
        assert_eq!(data.get::<String>("token").await.unwrap().as_deref(), Some("b"));
        assert_eq!(data.get::<String>("forever").await.unwrap(), None);
        // An expired key can be set again.
        data.set("forever", "c", None).await.unwrap();
        assert_eq!(data.get::<String>("forever").await.unwrap().as_deref(), Some("c"));
    }

    async fn touch_sets_a_new_expiry_from_now(db) {
        let (storehaus, data) = data(&db).await;
        assert!(!data.touch("missing", Some(Duration::from_secs(60))).await.unwrap());
        assert_eq!(rows(&storehaus).await, 0, "touch creates nothing");
        data.set("session", "s1", ONE_SECOND).await.unwrap();
        assert!(data.touch("session", Some(Duration::from_secs(3600))).await.unwrap());
        assert_left(data.ttl("session").await.unwrap(), Duration::from_secs(3590), Duration::from_secs(3600));
        outlive(1.0).await;
        assert_eq!(data.get::<String>("session").await.unwrap().as_deref(), Some("s1"));
        assert!(data.touch("session", None).await.unwrap());
        assert_eq!(data.ttl("session").await.unwrap(), Some(Expiry::Never));
        assert!(data.touch("session", ONE_SECOND).await.unwrap());
        outlive(1.0).await;
        assert!(!data.has("session").await.unwrap());
    }

    async fn ttl_tells_never_from_missing(db) {
        let (_storehaus, data) = data(&db).await;
        assert_eq!(data.ttl("k").await.unwrap(), None);
        data.set("k", 1, None).await.unwrap();
        assert_eq!(data.ttl("k").await.unwrap(), Some(Expiry::Never));
        data.set("k", 1, Some(Duration::from_secs(90))).await.unwrap();
        assert_left(data.ttl("k").await.unwrap(), Duration::from_secs(80), Duration::from_secs(90));
    }
}

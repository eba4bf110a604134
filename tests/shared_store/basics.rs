//! Key-value, counters and batches: TTLs, touch and expire, decrements, batch order, and
//! stored values that do not decode.

use std::time::Duration;

use serde_json::json;
use storehaus::cache::shared::{BatchEntry, Namespace};

use crate::{UserCreated, expect_code, on_both};

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(600);

on_both! {
    /// A TTL is honoured; a value without one never expires.
    async fn kv_ttl(env) {
        let store = env.store();
        store.kv().set("short", &UserCreated::new(1), Some(SHORT)).await.unwrap();
        store.kv().set("forever", &UserCreated::new(2), None).await.unwrap();
        assert_eq!(store.kv().get("short").await.unwrap(), Some(UserCreated::new(1)));
        let left = store.kv().ttl("short").await.unwrap().expect("it expires");
        assert!(left <= SHORT && left > Duration::ZERO, "{left:?} left");
        assert_eq!(store.kv().ttl("forever").await.unwrap(), None);
        assert_eq!(env.raw_ttl(&store.key(Namespace::Kv, "forever")).await, None);
        tokio::time::sleep(SHORT * 2).await;
        assert_eq!(store.kv().get::<UserCreated>("short").await.unwrap(), None);
        assert!(!store.kv().exists("short").await.unwrap());
        assert!(!env.raw_exists(&store.key(Namespace::Kv, "short")).await);
        assert_eq!(store.kv().ttl("short").await.unwrap(), None);
        assert!(store.kv().exists("forever").await.unwrap());

        // A new set without a TTL removes the old one.
        store.kv().set("again", &1, Some(LONG)).await.unwrap();
        store.kv().set("again", &2, None).await.unwrap();
        assert_eq!(store.kv().ttl("again").await.unwrap(), None);
    }

    /// `expire` and `touch` set a new TTL on an existing key, and answer `false` for a missing one.
    async fn kv_touch_and_expire(env) {
        let store = env.store();
        assert!(!store.kv().expire("missing", LONG).await.unwrap());
        assert!(!store.kv().touch("missing", LONG).await.unwrap());
        assert!(!store.kv().exists("missing").await.unwrap(), "expire created nothing");

        store.kv().set("k", &json!({"a": 1}), Some(SHORT)).await.unwrap();
        assert!(store.kv().touch("k", LONG).await.unwrap());
        let left = env.raw_ttl(&store.key(Namespace::Kv, "k")).await.expect("it expires");
        assert!(left > Duration::from_secs(500), "touch did not refresh: {left:?}");
        assert!(store.kv().expire("k", SHORT).await.unwrap());
        tokio::time::sleep(SHORT * 2).await;
        assert!(!store.kv().exists("k").await.unwrap());

        store.kv().set("gone", &1, None).await.unwrap();
        assert!(store.kv().remove("gone").await.unwrap());
        assert!(!store.kv().remove("gone").await.unwrap());
    }

    /// Counters count up and down from a missing 0, expire, and reset.
    async fn counters(env) {
        let store = env.store();
        assert_eq!(store.counter().get("credits").await.unwrap(), 0);
        assert_eq!(store.counter().increment("credits", 100).await.unwrap(), 100);
        assert_eq!(store.counter().decrement("credits", 10).await.unwrap(), 90);
        assert_eq!(store.counter().decrement("credits", 1).await.unwrap(), 89);
        assert_eq!(store.counter().decrement("debt", 5).await.unwrap(), -5);
        assert_eq!(store.counter().get("credits").await.unwrap(), 89);
        assert_eq!(env.raw_get(&store.key(Namespace::Counter, "credits")).await.as_deref(), Some(&b"89"[..]));

        assert!(!store.counter().expire("missing", LONG).await.unwrap());
        assert!(store.counter().expire("credits", SHORT).await.unwrap());
        tokio::time::sleep(SHORT * 2).await;
        assert_eq!(store.counter().get("credits").await.unwrap(), 0);

        assert!(store.counter().reset("debt").await.unwrap());
        assert!(!store.counter().reset("debt").await.unwrap());
        assert_eq!(store.counter().get("debt").await.unwrap(), 0);

        store.counter().increment("max", i64::MAX).await.unwrap();
        expect_code(store.counter().increment("max", 1).await, "STORE_OPERATION_FAILED");
        assert_eq!(store.counter().get("max").await.unwrap(), i64::MAX, "an overflow changes nothing");

        env.raw_set(&store.key(Namespace::Counter, "text"), b"abc").await;
        expect_code(store.counter().increment("text", 1).await, "STORE_OPERATION_FAILED");
        expect_code(store.counter().get("text").await, "STORE_INVALID_PAYLOAD");
        assert_eq!(env.raw_get(&store.key(Namespace::Counter, "text")).await.as_deref(), Some(&b"abc"[..]));

        // Counters and values of the same name are different keys.
        store.kv().set("credits", &"text", None).await.unwrap();
        assert_eq!(store.counter().increment("credits", 1).await.unwrap(), 1);
    }

    /// Batch reads answer in key order with `None` for missing keys; batch writes set each TTL.
    async fn batch_get_and_set(env) {
        let store = env.store();
        let (one, two) = (UserCreated::new(1), UserCreated::new(2));
        store
            .batch()
            .set(&[BatchEntry::new("user:1", &one).ttl(SHORT), BatchEntry::new("user:2", &two)])
            .await
            .unwrap();
        let read = store.batch().get::<UserCreated>(&["user:2", "missing", "user:1", "user:2"]).await.unwrap();
        assert_eq!(read, vec![Some(two.clone()), None, Some(one.clone()), Some(two.clone())]);
        assert_eq!(store.kv().get("user:1").await.unwrap(), Some(one));
        assert!(env.raw_ttl(&store.key(Namespace::Kv, "user:1")).await.is_some());
        assert_eq!(env.raw_ttl(&store.key(Namespace::Kv, "user:2")).await, None);
        tokio::time::sleep(SHORT * 2).await;
        let read = store.batch().get::<UserCreated>(&["user:1".to_owned(), "user:2".to_owned()]).await.unwrap();
        assert_eq!(read, vec![None, Some(two)]);

        let empty: [&str; 0] = [];
        assert_eq!(store.batch().get::<u32>(&empty).await.unwrap(), Vec::<Option<u32>>::new());
        let entries: Vec<BatchEntry<u32>> = Vec::new();
        store.batch().set(&entries).await.unwrap();
    }

    /// A stored value that does not decode as the type asked for is `STORE_INVALID_PAYLOAD`.
    async fn undecodable_values(env) {
        let store = env.store();
        store.kv().set("text", &"not a user", None).await.unwrap();
        let error = expect_code(store.kv().get::<UserCreated>("text").await, "STORE_INVALID_PAYLOAD");
        assert!(!error.is_transient());
        expect_code(store.batch().get::<UserCreated>(&["text"]).await, "STORE_INVALID_PAYLOAD");
        env.raw_set(&store.key(Namespace::Kv, "garbage"), b"{not json").await;
        expect_code(store.kv().get::<serde_json::Value>("garbage").await, "STORE_INVALID_PAYLOAD");
        assert_eq!(store.kv().get::<String>("text").await.unwrap().as_deref(), Some("not a user"));
    }
}

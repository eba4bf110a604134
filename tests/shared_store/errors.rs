//! Errors and their codes: scopes, events, arguments, configuration, an unreachable Redis.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use storehaus::cache::shared::{BatchEntry, SharedStore, SharedStoreError, StreamAppend};
use storehaus::cache::{CacheConfig, CacheManager};
use storehaus_suite::redis::free_port;

use crate::{UserCreated, expect_code, on_both};

const TTL: Duration = Duration::from_secs(60);

on_both! {
    /// An undeclared kind is refused once any kind is declared; bad kinds and ids are input errors.
    async fn scope_errors(env) {
        let store = env.builder().scope_kind("organization", true).scope_kind("workspace", false).build().unwrap();
        let error = expect_code(store.scope("team", "t1"), "STORE_UNKNOWN_SCOPE");
        assert_eq!(error, SharedStoreError::UnknownScope { kind: "team".into() });
        expect_code(store.scope("organization", ""), "STORE_INVALID_INPUT");
        expect_code(store.scope("organization", "a\0b"), "STORE_INVALID_INPUT");
        expect_code(store.scope("", "x"), "STORE_INVALID_INPUT");
        let org = store.scope("organization", "o1").unwrap();
        expect_code(org.scope("organization", "o2"), "STORE_INVALID_INPUT");

        let open = env.store();
        expect_code(open.scope("org:x", "1"), "STORE_INVALID_INPUT");
        expect_code(open.scope("kv", "1"), "STORE_INVALID_INPUT");
        assert!(open.scope("anything", "1").is_ok(), "with no kind declared any kind is accepted");
    }

    /// A store without its required scope refuses every call, and changes nothing.
    async fn missing_required_scope(env) {
        let store = env.builder().scope_kind("organization", true).scope_kind("workspace", false).build().unwrap();
        let code = "STORE_MISSING_SCOPE";
        let error = expect_code(store.kv().get::<u32>("k").await, code);
        assert_eq!(error, SharedStoreError::MissingScope { kind: "organization".into() });
        expect_code(store.kv().set("k", &1, None).await, code);
        expect_code(store.counter().increment("c", 1).await, code);
        expect_code(store.claim().once("c", "me", TTL).await, code);
        expect_code(store.batch().get::<u32>(&["k"]).await, code);
        expect_code(store.events().publish("e", &1).await, code);
        expect_code(store.events().subscribe::<u32, _, _>("e", |_| async {}).await, code);
        expect_code(store.streams().append("s", &1, StreamAppend::default()).await, code);
        expect_code(store.streams().group("g", "c").ensure("s", "0").await, code);
        expect_code(store.dev().scan("*", 0, 10).await, code);
        let workspace_only = store.scope("workspace", "w1").unwrap();
        expect_code(workspace_only.kv().exists("k").await, code);

        let org = store.scope("organization", "o1").unwrap();
        org.kv().set("k", &1, None).await.unwrap();
        assert_eq!(org.scope("workspace", "w1").unwrap().kv().get::<u32>("k").await.unwrap(), None);
        assert_eq!(org.kv().get::<u32>("k").await.unwrap(), Some(1));
    }

    /// With `strict_events`, only registered channels (groups included) can be used.
    async fn strict_events(env) {
        let store = env.builder()
            .event::<UserCreated>("user:created")
            .event_group("user:notifications", |group| group.event::<String>("email"))
            .strict_events()
            .build()
            .unwrap();
        let error = expect_code(store.events().publish("user:deleted", &json!({})).await, "STORE_UNKNOWN_EVENT");
        assert_eq!(error, SharedStoreError::UnknownEvent { channel: "user:deleted".into() });
        expect_code(store.events().subscribe::<u32, _, _>("user:deleted", |_| async {}).await, "STORE_UNKNOWN_EVENT");
        store.events().publish("user:created", &UserCreated::new(1)).await.unwrap();
        store.events().publish("user:notifications:email", &"hi").await.unwrap();
        expect_code(store.events().publish("user:notifications:email", &5).await, "STORE_INVALID_PAYLOAD");
        expect_code(store.events().publish("user:notifications", &"hi").await, "STORE_UNKNOWN_EVENT");
    }

    /// Empty names, NUL bytes, zero TTLs, oversized names and batches are refused.
    async fn invalid_input(env) {
        let store = env.store();
        let code = "STORE_INVALID_INPUT";
        let long = "k".repeat(1025);
        for key in ["", "a\0b", long.as_str()] {
            expect_code(store.kv().set(key, &1, None).await, code);
            expect_code(store.kv().get::<u32>(key).await, code);
            expect_code(store.counter().increment(key, 1).await, code);
            expect_code(store.claim().once(key, "me", TTL).await, code);
            expect_code(store.events().publish(key, &1).await, code);
            expect_code(store.streams().append(key, &1, StreamAppend::default()).await, code);
            expect_code(store.batch().get::<u32>(&[key]).await, code);
        }
        store.kv().set(&"k".repeat(1024), &1, None).await.unwrap();
        assert!(store.kv().remove(&"k".repeat(1024)).await.unwrap());

        expect_code(store.kv().set("k", &1, Some(Duration::ZERO)).await, code);
        expect_code(store.kv().expire("k", Duration::ZERO).await, code);
        expect_code(store.kv().touch("k", Duration::ZERO).await, code);
        expect_code(store.counter().expire("c", Duration::ZERO).await, code);
        expect_code(store.claim().once("c", "me", Duration::ZERO).await, code);
        expect_code(store.batch().set(&[BatchEntry::new("k", &1).ttl(Duration::ZERO)]).await, code);
        assert!(!store.kv().exists("k").await.unwrap(), "a refused call wrote nothing");

        let keys: Vec<String> = (0..10_001).map(|n| format!("k{n}")).collect();
        expect_code(store.batch().get::<u32>(&keys).await, code);
        assert_eq!(store.batch().get::<u32>(&keys[..10_000]).await.unwrap().len(), 10_000);
    }

    /// A TTL too long for the storage is refused like a zero one, and a refused batch writes nothing.
    async fn unusable_ttl(env) {
        let store = env.store();
        let code = "STORE_INVALID_INPUT";
        store.kv().set("k", &1, None).await.unwrap();
        store.counter().increment("n", 1).await.unwrap();
        assert!(store.claim().once("held", "me", TTL).await.unwrap().is_some());
        expect_code(store.kv().set("new", &1, Some(Duration::MAX)).await, code);
        expect_code(store.kv().expire("k", Duration::MAX).await, code);
        expect_code(store.kv().touch("k", Duration::MAX).await, code);
        expect_code(store.counter().expire("n", Duration::MAX).await, code);
        expect_code(store.claim().once("lock", "me", Duration::MAX).await, code);
        expect_code(store.claim().extend("held", "me", Duration::MAX).await, code);
        let batch = [BatchEntry::new("a", 1), BatchEntry::new("b", 1).ttl(Duration::MAX)];
        expect_code(store.batch().set(&batch).await, code);
        assert_eq!(store.batch().get::<u32>(&["new", "a", "b"]).await.unwrap(), vec![None, None, None]);
        assert!(!store.claim().release("lock", "me").await.unwrap());
    }

    /// The builder needs a usable service and prefix.
    async fn builder_config(env) {
        let bare = SharedStore::builder(Arc::clone(&env.manager));
        let error = expect_code(bare.build(), "STORE_INVALID_CONFIG");
        assert!(matches!(error, SharedStoreError::Config(_)));
        let long = "s".repeat(129);
        for service in ["", "a:b", "a\0b", long.as_str()] {
            expect_code(SharedStore::builder(Arc::clone(&env.manager)).service(service).build(), "STORE_INVALID_CONFIG");
        }
        assert!(SharedStore::builder(Arc::clone(&env.manager)).service("s".repeat(128).as_str()).build().is_ok());
        for prefix in ["", "a\0b"] {
            expect_code(env.builder().prefix(prefix).build(), "STORE_INVALID_CONFIG");
        }
        expect_code(env.builder().scope_kind("a:b", false).build(), "STORE_INVALID_CONFIG");
        expect_code(env.builder().scope_kind("kv", false).build(), "STORE_INVALID_CONFIG");
    }
}

/// Redis that does not answer: every call fails with `STORE_CONNECTION_FAILED`, transient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis() {
    let config = CacheConfig {
        redis_url: format!("redis://127.0.0.1:{}", free_port()),
        timeout_ms: 300,
        connection_timeout_ms: 300,
        ..CacheConfig::default()
    };
    let manager = Arc::new(CacheManager::new(config).unwrap());
    let store = SharedStore::builder(manager).service("api").prefix("unreachable").build().unwrap();
    let code = "STORE_CONNECTION_FAILED";
    let error = expect_code(store.kv().get::<u32>("k").await, code);
    assert!(error.is_transient());
    assert!(matches!(error, SharedStoreError::ConnectionFailed { .. }));
    expect_code(store.kv().set("k", &1, Some(Duration::from_secs(1))).await, code);
    expect_code(store.counter().increment("c", 1).await, code);
    expect_code(store.claim().once("c", "me", TTL).await, code);
    expect_code(store.events().publish("e", &1).await, code);
    expect_code(store.events().subscribe::<u32, _, _>("e", |_| async {}).await, code);
    expect_code(store.streams().append("s", &1, StreamAppend::default()).await, code);
    assert!(store.stats().failures >= 7);
}

//! Key layout: `<prefix>:<service>[:<kind>:<id>...]:<namespace>:<key>`, checked by reading the
//! storage raw under the key the seed's table names.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use storehaus::cache::shared::{Namespace, SharedStore, StreamAppend};

use crate::env::RawListener;
use crate::{Env, on_both};

const WAIT: Duration = Duration::from_secs(2);

/// Writes through `store` in every namespace and checks each full key raw; returns the keys
/// that hold values (events leave none).
async fn writes_under(env: &Env, store: &SharedStore, base: &str) -> Vec<String> {
    let kv = format!("{base}:kv:user:123");
    let counter = format!("{base}:counter:views");
    let claim = format!("{base}:claim:lock:x");
    let stream = format!("{base}:streams:events");
    let channel = format!("{base}:events:event");
    assert_eq!(store.key(Namespace::Kv, "user:123"), kv);
    assert_eq!(store.key(Namespace::Counter, "views"), counter);
    assert_eq!(store.key(Namespace::Claim, "lock:x"), claim);
    assert_eq!(store.key(Namespace::Streams, "events"), stream);
    assert_eq!(store.key(Namespace::Events, "event"), channel);

    store.kv().set("user:123", &json!({"name": "Alice"}), None).await.unwrap();
    let stored: Value = serde_json::from_slice(&env.raw_get(&kv).await.expect("GET of the kv key")).unwrap();
    assert_eq!(stored, json!({"name": "Alice"}));

    assert_eq!(store.counter().increment("views", 1).await.unwrap(), 1);
    assert_eq!(env.raw_get(&counter).await.as_deref(), Some(&b"1"[..]));

    assert!(store.claim().once("lock:x", "worker-1", Duration::from_secs(30)).await.unwrap().is_some());
    assert!(env.raw_exists(&claim).await, "EXISTS {claim}");

    store.streams().append("events", &json!({"type": "click"}), StreamAppend::default()).await.unwrap();
    assert_eq!(env.raw_stream_len(&stream).await, 1, "XLEN {stream}");

    let mut raw = env.raw_subscribe(&channel).await;
    let (seen, mut handled) = tokio::sync::mpsc::unbounded_channel();
    let subscription = store
        .events()
        .subscribe::<Value, _, _>("event", move |ctx| {
            let seen = seen.clone();
            async move {
                let _ = seen.send(ctx.data);
            }
        })
        .await
        .unwrap();
    assert_eq!(subscription.channel(), channel);
    if let Some(subscribers) = env.raw_numsub(&channel).await {
        assert!(subscribers >= 2, "PUBSUB NUMSUB {channel} = {subscribers}, the store's and the raw subscription");
    }
    store.events().publish("event", &json!({"n": 1})).await.unwrap();
    let envelope: Value = serde_json::from_slice(&raw.next(WAIT).await.expect("the raw subscriber got it")).unwrap();
    assert_eq!(envelope["type"], "event");
    assert_eq!(envelope["data"], json!({"n": 1}));
    let received = tokio::time::timeout(WAIT, handled.recv()).await.expect("the store's subscriber got it");
    assert_eq!(received, Some(json!({"n": 1})));
    subscription.unsubscribe().await;
    drop(raw);

    vec![kv, counter, claim, stream]
}

/// Every key of the test: a `SCAN` of Redis, or the store's own scan in memory.
async fn all_keys(env: &Env, store: &SharedStore) -> BTreeSet<String> {
    if env.is_redis() {
        return storehaus_suite::redis::keys_under(&env.manager, &env.prefix).await.into_iter().collect();
    }
    let mut keys = BTreeSet::new();
    let mut cursor = 0;
    loop {
        let page = store.dev().scan("*", cursor, 1000).await.unwrap();
        keys.extend(page.keys);
        if page.cursor == 0 {
            return keys;
        }
        cursor = page.cursor;
    }
}

on_both! {
    /// The seed's table, under the test's prefix: each namespace at the root, and a scope.
    async fn seed_table(env) {
        let store = env.store();
        let base = format!("{}:api", env.prefix);
        let mut expected = writes_under(env, &store, &base).await;

        let org = store.scope("org", "123").unwrap();
        let settings = format!("{base}:org:123:kv:settings");
        assert_eq!(org.key(Namespace::Kv, "settings"), settings);
        org.kv().set("settings", &json!({"theme": "dark"}), None).await.unwrap();
        assert!(env.raw_exists(&settings).await, "EXISTS {settings}");
        expected.push(settings);

        let expected: BTreeSet<String> = expected.into_iter().collect();
        assert_eq!(all_keys(env, &store).await, expected);
    }

    /// One and two levels of scopes prefix every namespace, outermost first.
    async fn nested_scopes(env) {
        let store = env.builder().scope_kind("organization", true).scope_kind("workspace", false).build().unwrap();
        let org = store.scope("organization", "org_123").unwrap();
        let ws = org.scope("workspace", "ws_456").unwrap();
        let base = format!("{}:api:organization:org_123", env.prefix);
        let mut expected = writes_under(env, &org, &base).await;
        expected.extend(writes_under(env, &ws, &format!("{base}:workspace:ws_456")).await);

        // The seed's examples of scoped keys.
        org.kv().set("settings", &json!({"theme": "dark"}), None).await.unwrap();
        ws.kv().set("config", &json!({"a": 1}), None).await.unwrap();
        for key in [format!("{base}:kv:settings"), format!("{base}:workspace:ws_456:kv:config")] {
            assert!(env.raw_exists(&key).await, "EXISTS {key}");
            expected.push(key);
        }

        let expected: BTreeSet<String> = expected.into_iter().collect();
        assert_eq!(all_keys(env, &org).await, expected);
    }

    /// Scope ids are escaped (`:` as `%3A`, `%` as `%25`); keys are written verbatim.
    async fn escaped_ids_and_verbatim_keys(env) {
        let store = env.store();
        let tenant = store.scope("tenant", "a:b%c *").unwrap();
        let key = format!("{}:api:tenant:a%3Ab%25c *:kv:x:y %z*", env.prefix);
        assert_eq!(tenant.key(Namespace::Kv, "x:y %z*"), key);
        tenant.kv().set("x:y %z*", &1, None).await.unwrap();
        assert_eq!(env.raw_get(&key).await.as_deref(), Some(&b"1"[..]));
        assert_eq!(tenant.kv().get::<i32>("x:y %z*").await.unwrap(), Some(1));
    }

    /// Events of a scope carry it in the envelope and travel on the scope's channel.
    async fn scoped_channel_envelope(env) {
        let org = env.store().scope("organization", "org_123").unwrap();
        let channel = format!("{}:api:organization:org_123:events:user:created", env.prefix);
        let mut raw: RawListener = env.raw_subscribe(&channel).await;
        assert_eq!(org.with_actor("user:1").events().publish("user:created", &json!({"id": 1})).await.unwrap(), 1);
        let envelope: Value = serde_json::from_slice(&raw.next(WAIT).await.expect("delivered")).unwrap();
        assert_eq!(envelope["type"], "user:created");
        assert_eq!(envelope["scope"], json!({"key": "organization", "identifier": "org_123"}));
        assert_eq!(envelope["actor"], "user:1");
    }
}

#[test]
fn default_prefix() {
    let manager =
        std::sync::Arc::new(storehaus::cache::CacheManager::memory(&storehaus::cache::CacheConfig::default()).unwrap());
    let store = SharedStore::builder(manager).service("api").build().unwrap();
    assert_eq!(store.prefix(), "storehaus:store");
    assert_eq!(store.service(), "api");
    assert_eq!(store.key(Namespace::Kv, "user:123"), "storehaus:store:api:kv:user:123");
    let org = store.scope("org", "123").unwrap();
    assert_eq!(org.key(Namespace::Streams, "events"), "storehaus:store:api:org:123:streams:events");
}

//! Events: ordered delivery to every subscriber, the envelope, messages of other clients,
//! payload checks, unsubscribing and scope isolation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use storehaus::cache::shared::{EventContext, Namespace, SharedStore, Unsubscribe};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::{UserCreated, expect_code, on_both};

const EVENTS: u32 = 1_000;
/// How long a message may take to arrive.
const ARRIVES: Duration = Duration::from_secs(5);
/// How long to wait before concluding that nothing arrives.
const QUIET: Duration = Duration::from_millis(300);

/// Subscribes to `channel`, handing every context to the returned receiver.
async fn listen<T>(store: &SharedStore, channel: &str) -> (Unsubscribe, UnboundedReceiver<EventContext<T>>)
where
    T: DeserializeOwned + Send + 'static,
{
    let (sender, receiver) = unbounded_channel();
    let subscription = store
        .events()
        .subscribe::<T, _, _>(channel, move |ctx| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(ctx);
            }
        })
        .await
        .expect("subscribe");
    (subscription, receiver)
}

async fn next<T>(receiver: &mut UnboundedReceiver<EventContext<T>>, wait: Duration) -> Option<EventContext<T>> {
    tokio::time::timeout(wait, receiver.recv()).await.ok().flatten()
}

/// Waits until Redis counts no subscriber of the full channel `channel` (memory counts none).
async fn unsubscribed(env: &crate::Env, channel: &str) {
    let deadline = std::time::Instant::now() + ARRIVES;
    while env.raw_numsub(channel).await.unwrap_or(0) > 0 {
        assert!(std::time::Instant::now() < deadline, "{channel} keeps a subscriber on Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A store that knows `user:created`, on the test's storage.
fn registered(env: &crate::Env) -> SharedStore {
    env.builder().event::<UserCreated>("user:created").build().unwrap()
}

on_both! {
    /// Two subscribers on separate stores (separate connections on Redis) get 1 000 events in
    /// publish order.
    async fn two_subscribers_in_order(env) {
        let first = env.store();
        let second = env.builder_on(&env.peer_manager().await).build().unwrap();
        let (_a, mut to_first) = listen::<u32>(&first, "ticks").await;
        let (_b, mut to_second) = listen::<u32>(&second, "ticks").await;
        for n in 0..EVENTS {
            assert_eq!(first.events().publish("ticks", &n).await.unwrap(), 2, "both subscribers are active");
        }
        for receiver in [&mut to_first, &mut to_second] {
            for n in 0..EVENTS {
                let ctx = next(receiver, ARRIVES).await.unwrap_or_else(|| panic!("event {n} never arrived"));
                assert_eq!(ctx.data, n);
                assert_eq!(ctx.event_type, "ticks");
            }
        }
        assert_eq!(first.stats().published, u64::from(EVENTS));
        // A delivery is counted once its handler returned, just after the last one was received.
        let counted = storehaus_suite::time_until(ARRIVES, || second.stats().delivered == u64::from(EVENTS)).await;
        assert!(counted.is_some(), "delivered: {}", second.stats().delivered);
    }

    /// The envelope: type, the innermost scope, the actor and an ISO 8601 timestamp.
    async fn envelope_fields(env) {
        let store = env.builder().scope_kind("organization", true).scope_kind("workspace", false)
            .event::<UserCreated>("user:created").build().unwrap();
        let ws = store.scope("organization", "org_1").unwrap().scope("workspace", "ws_2").unwrap();
        let (_subscription, mut received) = listen::<UserCreated>(&ws, "user:created").await;
        let mut raw = env.raw_subscribe(&ws.key(Namespace::Events, "user:created")).await;
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        ws.with_actor("user:1").events().publish("user:created", &UserCreated::new(1)).await.unwrap();

        let ctx = next(&mut received, ARRIVES).await.expect("delivered");
        assert_eq!(ctx.event_type, "user:created");
        assert_eq!(ctx.data, UserCreated::new(1));
        let scope = ctx.scope.expect("the scope is set");
        assert_eq!((scope.key.as_str(), scope.identifier.as_str()), ("workspace", "ws_2"));
        assert_eq!(ctx.actor.as_deref(), Some("user:1"));
        assert!(ctx.timestamp >= before && ctx.timestamp <= chrono::Utc::now(), "timestamp {}", ctx.timestamp);

        let envelope: Value = serde_json::from_slice(&raw.next(ARRIVES).await.expect("raw delivery")).unwrap();
        let timestamp = envelope["timestamp"].as_str().expect("a string timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(), "not ISO 8601: {timestamp}");
        assert!(timestamp.len() == 24 && timestamp.ends_with('Z') && &timestamp[19..20] == ".", "{timestamp}");
        assert_eq!(envelope["scope"], json!({"key": "workspace", "identifier": "ws_2"}));
        assert_eq!(envelope["data"], json!({"user_id": "1", "email": "user1@example.com"}));

        // Without an actor the envelope has none.
        ws.events().publish("user:created", &UserCreated::new(2)).await.unwrap();
        assert_eq!(next(&mut received, ARRIVES).await.expect("delivered").actor, None);
    }

    /// A message of another client, without an envelope, is wrapped for the subscriber.
    async fn bare_message_is_wrapped(env) {
        let org = env.store().scope("organization", "o1").unwrap();
        let (_subscription, mut received) = listen::<Value>(&org, "raw").await;
        let channel = org.key(Namespace::Events, "raw");
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        assert_eq!(env.raw_publish(&channel, br#"{"a":1}"#).await, 1);
        env.raw_publish(&channel, b"plain text").await;

        let ctx = next(&mut received, ARRIVES).await.expect("delivered");
        assert_eq!((ctx.event_type.as_str(), ctx.data), ("raw", json!({"a": 1})));
        let scope = ctx.scope.expect("the subscriber's scope");
        assert_eq!((scope.key.as_str(), scope.identifier.as_str()), ("organization", "o1"));
        assert_eq!(ctx.actor, None);
        assert!(ctx.timestamp >= before, "stamped at receipt");
        assert_eq!(next(&mut received, ARRIVES).await.expect("delivered").data, json!("plain text"));
    }

    /// A registered channel refuses a payload of the wrong shape: nothing is published.
    async fn invalid_payload_is_not_published(env) {
        let store = registered(env);
        let mut raw = env.raw_subscribe(&store.key(Namespace::Events, "user:created")).await;
        let error = expect_code(store.events().publish("user:created", &json!({"user_id": 1})).await, "STORE_INVALID_PAYLOAD");
        assert!(!error.is_transient());
        assert_eq!(raw.next(QUIET).await, None, "a refused payload was published");
        // An unregistered channel takes anything.
        store.events().publish("anything", &json!({"user_id": 1})).await.unwrap();
        store.events().publish("user:created", &UserCreated::new(1)).await.unwrap();
        let envelope: Value = serde_json::from_slice(&raw.next(ARRIVES).await.expect("delivered")).unwrap();
        assert_eq!(envelope["data"]["user_id"], "1");
    }

    /// A message that does not decode is counted and skipped; the next one is delivered.
    async fn undecodable_message_is_counted(env) {
        let store = registered(env);
        let (_subscription, mut received) = listen::<UserCreated>(&store, "user:created").await;
        let channel = store.key(Namespace::Events, "user:created");
        env.raw_publish(&channel, b"\"just text\"").await;
        let wrong = json!({"type": "user:created", "data": {"x": 1}, "timestamp": "2026-01-01T00:00:00.000Z"});
        env.raw_publish(&channel, wrong.to_string().as_bytes()).await;
        env.raw_publish(&channel, b"{broken").await;
        store.events().publish("user:created", &UserCreated::new(3)).await.unwrap();
        assert_eq!(next(&mut received, ARRIVES).await.expect("delivered").data, UserCreated::new(3));
        assert_eq!(next(&mut received, QUIET).await.map(|ctx| ctx.data), None);
        assert_eq!(store.stats().invalid_payloads, 3);
        assert_eq!(store.stats().delivered, 1);
    }

    /// After `unsubscribe` (or dropping the handle) nothing more is delivered.
    async fn unsubscribe_stops_delivery(env) {
        let store = env.store();
        let channel = store.key(Namespace::Events, "news");
        let (subscription, mut received) = listen::<u32>(&store, "news").await;
        assert_eq!(subscription.channel(), channel);
        store.events().publish("news", &1).await.unwrap();
        assert_eq!(next(&mut received, ARRIVES).await.expect("delivered").data, 1);
        subscription.unsubscribe().await;
        unsubscribed(env, &channel).await;
        assert_eq!(store.events().publish("news", &2).await.unwrap(), 0);
        assert!(next(&mut received, QUIET).await.is_none(), "delivered after unsubscribe");

        let (subscription, mut received) = listen::<u32>(&store, "news").await;
        drop(subscription);
        unsubscribed(env, &channel).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        store.events().publish("news", &3).await.unwrap();
        assert!(next(&mut received, QUIET).await.is_none(), "delivered after the handle was dropped");
    }

    /// A subscriber of one scope hears none of another scope's events, nor the root's.
    async fn scopes_do_not_hear_each_other(env) {
        let root = env.store();
        let a = root.scope("organization", "a").unwrap();
        let b = root.scope("organization", "b").unwrap();
        let nested = a.scope("workspace", "a").unwrap();
        let stores = [&root, &a, &b, &nested];
        let mut receivers = Vec::new();
        for store in stores {
            receivers.push(listen::<usize>(store, "news").await);
        }
        for (n, store) in stores.iter().enumerate() {
            assert_eq!(store.events().publish("news", &n).await.unwrap(), 1, "one subscriber per scope");
        }
        for (n, (_, receiver)) in receivers.iter_mut().enumerate() {
            assert_eq!(next(receiver, ARRIVES).await.expect("its own event").data, n);
            assert!(next(receiver, QUIET).await.is_none(), "scope {n} heard another scope's event");
        }
    }

    /// A handler that panics is counted; delivery goes on.
    async fn panicking_handler_is_counted(env) {
        let store = env.store();
        let (sender, mut received) = unbounded_channel();
        let _subscription = store
            .events()
            .subscribe::<u32, _, _>("jobs", move |ctx| {
                let sender = sender.clone();
                async move {
                    assert_ne!(ctx.data, 0, "the first job fails");
                    let _ = sender.send(ctx.data);
                }
            })
            .await
            .unwrap();
        for n in 0..3_u32 {
            store.events().publish("jobs", &n).await.unwrap();
        }
        for n in 1..3 {
            assert_eq!(tokio::time::timeout(ARRIVES, received.recv()).await.unwrap(), Some(n));
        }
        assert_eq!(store.stats().handler_failures, 1);
    }

    /// Handler calls never overlap and keep publish order, even when each one takes a while.
    async fn handlers_run_one_at_a_time(env) {
        let store = env.store();
        let running = Arc::new(AtomicUsize::new(0));
        let overlapped = Arc::new(AtomicUsize::new(0));
        let (sender, mut received) = unbounded_channel();
        let _subscription = {
            let (running, overlapped) = (Arc::clone(&running), Arc::clone(&overlapped));
            store
                .events()
                .subscribe::<u32, _, _>("slow", move |ctx| {
                    let (running, overlapped, sender) = (Arc::clone(&running), Arc::clone(&overlapped), sender.clone());
                    async move {
                        if running.fetch_add(1, Ordering::SeqCst) > 0 {
                            overlapped.fetch_add(1, Ordering::SeqCst);
                        }
                        tokio::time::sleep(Duration::from_millis(u64::from(ctx.data % 3) * 5)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                        let _ = sender.send(ctx.data);
                    }
                })
                .await
                .unwrap()
        };
        for n in 0..40_u32 {
            store.events().publish("slow", &n).await.unwrap();
        }
        for n in 0..40 {
            assert_eq!(tokio::time::timeout(ARRIVES, received.recv()).await.unwrap(), Some(n));
        }
        assert_eq!(overlapped.load(Ordering::SeqCst), 0, "handler calls overlapped");
    }

    /// Other services and other prefixes are other channels; the actor follows scopes.
    async fn services_do_not_hear_each_other(env) {
        let api = env.store().with_actor("svc");
        let billing = env.builder().service("billing").build().unwrap();
        let elsewhere = env.builder().prefix(format!("{}:other", env.prefix)).build().unwrap();
        let (_a, mut to_api) = listen::<u32>(&api, "news").await;
        let (_b, mut to_billing) = listen::<u32>(&billing, "news").await;
        let (_c, mut to_elsewhere) = listen::<u32>(&elsewhere, "news").await;
        let org = api.scope("organization", "o1").unwrap();
        assert_eq!(org.actor(), Some("svc"));
        assert_eq!(api.events().publish("news", &1).await.unwrap(), 1);
        assert_eq!(billing.events().publish("news", &2).await.unwrap(), 1);
        let ctx = next(&mut to_api, ARRIVES).await.expect("delivered");
        assert_eq!((ctx.data, ctx.actor.as_deref()), (1, Some("svc")));
        assert_eq!(next(&mut to_billing, ARRIVES).await.expect("delivered").data, 2);
        assert!(next(&mut to_elsewhere, QUIET).await.is_none());
        assert!(next(&mut to_api, Duration::ZERO).await.is_none());

        billing.kv().set("k", &2, None).await.unwrap();
        assert_eq!(api.kv().get::<u32>("k").await.unwrap(), None);
        assert_eq!(elsewhere.kv().get::<u32>("k").await.unwrap(), None);
    }
}

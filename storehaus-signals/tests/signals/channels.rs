//! Typed channels: publish, subscribe, envelopes, and payloads of the wrong shape.

use crate::support::{Seen, config, start, wait_delivered};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::{Arc, Mutex};
use storehaus_signals::{DatabaseEvent, Envelope, EventScope, EventType, Subscription};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Paid {
    order: u64,
    cents: i64,
}

type Inbox = Arc<Mutex<Vec<Envelope<Paid>>>>;

fn collect(
    inbox: &Inbox,
) -> impl Fn(Envelope<Paid>) -> std::future::Ready<storehaus_signals::CallbackResult> + Send + Sync + 'static {
    let inbox = inbox.clone();
    move |envelope| {
        inbox.lock().unwrap().push(envelope);
        std::future::ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_subscribe_round_trip_with_scope_and_actor() {
    let (source, manager) = start(config()).await;
    let paid = manager.channel::<Paid>("orders.paid");
    assert_eq!(paid.name(), "orders.paid");
    let inbox = Inbox::default();
    paid.subscribe(collect(&inbox)).unwrap();
    let raw = Seen::default();
    manager.add_callback_for(Subscription::all().events([EventType::Channel]), raw.callback()).unwrap();
    let other = manager.channel::<u32>("orders.refunded");

    paid.with_scope("organization", "org_7")
        .with_actor("user:1")
        .publish(&Paid { order: 1, cents: 990 })
        .await
        .unwrap();
    other.publish(&5).await.unwrap();
    paid.publish(&Paid { order: 2, cents: 10 }).await.unwrap();
    wait_delivered(&manager, 3).await;

    let inbox = inbox.lock().unwrap().clone();
    assert_eq!(inbox.len(), 2, "only this channel's messages: {inbox:?}");
    assert_eq!(inbox[0].event_type, "orders.paid");
    assert_eq!(inbox[0].data, Paid { order: 1, cents: 990 });
    assert_eq!(inbox[0].scope, Some(EventScope::new("organization", "org_7")));
    assert_eq!(inbox[0].actor.as_deref(), Some("user:1"));
    assert_eq!(inbox[1].data, Paid { order: 2, cents: 10 });
    assert_eq!((&inbox[1].scope, inbox[1].actor.as_deref()), (&None, None));
    assert!(inbox[0].timestamp <= inbox[1].timestamp);

    assert_eq!(raw.ids(), [1, 2, 3], "channel messages are events of type Channel");
    let logged = &source.events()[0];
    assert_eq!((logged.event_type, logged.table_name.as_str()), (EventType::Channel, "orders.paid"));
    assert_eq!(logged.payload["data"], json!({"order": 1, "cents": 990}));
    assert_eq!(logged.payload["scope"], json!({"key": "organization", "identifier": "org_7"}));
    assert_eq!(logged.payload["actor"], "user:1");
    let timestamp = logged.payload["timestamp"].as_str().unwrap();
    assert!(
        timestamp.len() == "2026-12-07T10:15:30.123Z".len() && timestamp.ends_with('Z'),
        "ISO 8601 in UTC with milliseconds: {timestamp}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_payload_is_skipped_and_counted_as_a_failure() {
    let (source, manager) = start(config()).await;
    let paid = manager.channel::<Paid>("orders.paid");
    let inbox = Inbox::default();
    let handle = paid.keep_when_idle().subscribe(collect(&inbox)).unwrap();

    source.append(DatabaseEvent::new(
        EventType::Channel,
        "orders.paid",
        "",
        json!({"type": "orders.paid", "data": "x"}),
    ));
    paid.publish(&Paid { order: 3, cents: 1 }).await.unwrap();
    wait_delivered(&manager, 2).await;

    let inbox = inbox.lock().unwrap().clone();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].data.order, 3);
    let stats = manager.get_stats();
    assert_eq!(stats.callbacks_failed, 1);
    assert_eq!(stats.callbacks_succeeded, 1);
    assert!(handle.is_active());
}

#[test]
fn an_envelope_can_be_built_for_transactional_publishing() {
    let envelope = Envelope::new("orders.paid", Paid { order: 9, cents: 5 }).with_actor("billing");
    let json = envelope.to_json().unwrap();
    assert_eq!(json["type"], "orders.paid");
    assert_eq!(json["actor"], "billing");
    assert!(json.get("scope").is_none());
    let event = DatabaseEvent::new(EventType::Channel, "orders.paid", "", json);
    assert_eq!(event.envelope::<Paid>().unwrap(), envelope);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_builds_the_envelope_it_publishes() {
    let (_source, manager) = start(config()).await;
    let paid = manager.channel::<Paid>("orders.paid").with_scope("organization", "org_7").with_actor("billing");
    let data = Paid { order: 4, cents: 12 };
    let envelope = paid.envelope(&data);
    assert_eq!((envelope.event_type.as_str(), envelope.data), ("orders.paid", &data));
    assert_eq!(envelope.scope, Some(EventScope::new("organization", "org_7")));
    assert_eq!(envelope.actor.as_deref(), Some("billing"));
    assert_eq!(envelope.timestamp.timestamp_subsec_nanos() % 1_000_000, 0, "stamped to the millisecond");
    let unscoped = manager.channel::<Paid>("orders.paid").envelope(&data).to_json().unwrap();
    assert!(unscoped.get("scope").is_none() && unscoped.get("actor").is_none(), "{unscoped}");
}

/// A message on a channel named like a table, with a payload shaped like a row, reaches only
/// channel subscribers; the table's subscribers get the table's row events and nothing else,
/// and the channel's subscribers never get a row event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_named_like_a_table_never_reaches_the_table_subscribers() {
    let (source, manager) = start(config()).await;
    let rows = Seen::default();
    manager.add_callback_for(Subscription::table("users"), rows.callback()).unwrap();
    let row_creates = Seen::default();
    manager
        .add_callback_for(Subscription::tables(["users"]).events([EventType::Create]), row_creates.callback())
        .unwrap();
    let messages = Seen::default();
    manager.add_callback_for(Subscription::channel("users"), messages.callback()).unwrap();
    let typed = Arc::new(Mutex::new(Vec::new()));
    let sink = typed.clone();
    let forger = manager.channel::<serde_json::Value>("users");
    forger
        .subscribe(move |envelope: Envelope<serde_json::Value>| {
            sink.lock().unwrap().push(envelope.data);
            std::future::ready(Ok(()))
        })
        .unwrap();

    forger.publish(&json!({"id": "1", "name": "forged", "is_admin": true})).await.unwrap();
    source.append(DatabaseEvent::new(EventType::Create, "users", "1", json!({"id": "1", "name": "real"})));
    wait_delivered(&manager, 2).await;

    assert_eq!(rows.ids(), [2], "the table's subscriber saw only the row event");
    assert_eq!(row_creates.ids(), [2]);
    assert_eq!(messages.ids(), [1], "the channel's subscriber saw only the message");
    assert_eq!(typed.lock().unwrap().len(), 1, "the typed subscriber saw only the message");
    let [message, row] = &source.events()[..] else { panic!("two events") };
    assert_eq!((message.table(), message.channel()), (None, Some("users")));
    assert_eq!((row.table(), row.channel()), (Some("users"), None));
}

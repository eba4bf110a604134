//! Change signals: callbacks that receive the Create, Update and Delete events of store writes,
//! only for committed transactions and only after the commit; a typed channel for application
//! events, published on its own or inside a transaction; a field kept out of every event
//! (`#[field(no_signal)]`); a failing callback as the statistics count it; and unsubscribing.
//!
//! ```text
//! cargo run --example signals_basic
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! then `DATABASE_URL` and the `STOREHAUS_*` variables (see docs/configuration.md). On PostgreSQL
//! the events travel through the event log `storehaus_events` and reach every connected process;
//! with `DATABASE_URL=sqlite::memory:` the same code runs with in-process signals. The table
//! `signals_orders` is recreated on every run. It exits non-zero when an event is missing, arrives
//! when it should not, or carries the wrong data.

use std::time::Duration;

use storehaus::prelude::*;
use storehaus::signals::{CallbackError, DatabaseEvent, Envelope, EventScope, EventType, Subscription};
use tokio::sync::mpsc;

#[model]
#[table(name = "signals_orders")]
pub struct Order {
    #[primary_key]
    pub id: Uuid,
    pub customer: String,
    pub total_cents: i64,
    /// The payment provider's token: stored with the order, never sent with its events.
    #[field(no_signal)]
    pub card_token: String,
}

/// An application event: not a row, but sent through the same log with the same guarantees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Shipped {
    order: Uuid,
    carrier: String,
}

/// How long a committed write's event may take to arrive.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to watch for an event that must not arrive (while a transaction is still open).
const QUIET_WINDOW: Duration = Duration::from_millis(300);

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    storehaus.auto_migrate::<Order>(true).await?;

    // One manager per process; a store announces its writes once it holds a clone of it.
    let signals = storehaus.signal_manager(config.signal.clone()).await?;
    let orders = GenericStore::<Order>::new(storehaus.pool().clone(), Some(Arc::clone(&signals)), None);
    let reach = if storehaus.pool().signals_cross_process() { "every process" } else { "this process" };
    println!("signals on {}: events reach {reach}", storehaus.pool().backend_name());

    // Callbacks hand what they receive to the program through channels, so it can wait for them.
    let (changes_tx, mut changes) = mpsc::unbounded_channel::<DatabaseEvent>();
    let every_change = signals.add_callback_for(Subscription::table(Order::TABLE.name), move |event| {
        let sent = changes_tx.send(event);
        async move { sent.map_err(|_| CallbackError::from("nobody listens to changes any more")) }
    })?;
    let (deletes_tx, mut deletes) = mpsc::unbounded_channel::<DatabaseEvent>();
    let only_deletes = Subscription::table(Order::TABLE.name).events([EventType::Delete]);
    signals.add_callback_for(only_deletes, move |event| {
        let sent = deletes_tx.send(event);
        async move { sent.map_err(|_| CallbackError::from("nobody listens to deletes any more")) }
    })?;

    // Create, update, delete: one event each, carrying the row as JSON.
    let ada = orders
        .create(Order::new(Uuid::new_v4(), "Ada".into(), 1_250, "tok_secret".into()), Some(vec!["web".into()]))
        .await?;
    let created = next(&mut changes, "the Create event").await?;
    assert_eq!(created.event_type, EventType::Create, "the first event is a Create");
    assert_eq!(created.table_name, "signals_orders", "the event names the table");
    assert_eq!(created.record_id, ada.id.to_string(), "the event names the row's key");
    assert_eq!(created.tags, ["web"], "the event carries the row's tags");
    assert_eq!(created.payload["customer"], "Ada", "the payload is the row as written");
    assert_eq!(created.payload["total_cents"], 1_250, "the payload is the row as written");
    assert!(created.payload.get("card_token").is_none(), "a no_signal field never travels with events");
    println!(
        "create: {:?} on {} for {}, payload {}",
        created.event_type, created.table_name, ada.customer, created.payload
    );

    orders.update(&ada.id, Order { total_cents: 1_500, ..ada.data().clone() }, None).await?;
    let updated = next(&mut changes, "the Update event").await?;
    assert_eq!(updated.event_type, EventType::Update, "an update emits an Update event");
    assert_eq!(updated.payload["total_cents"], 1_500, "an Update carries the row after the change");
    assert!(updated.id > created.id, "event ids grow with every event");
    println!("update: {:?}, total_cents is now {}", updated.event_type, updated.payload["total_cents"]);

    orders.delete(&ada.id).await?;
    let deleted = next(&mut changes, "the Delete event").await?;
    assert_eq!(deleted.event_type, EventType::Delete, "a delete emits a Delete event");
    assert_eq!(deleted.payload["total_cents"], 1_500, "a Delete carries the row as it was before");
    let filtered = next(&mut deletes, "the Delete event on the deletes-only callback").await?;
    assert_eq!(filtered.id, deleted.id, "the deletes-only callback skipped the Create and the Update");
    println!("delete: {:?} with the last row state; the deletes-only callback saw just this one", deleted.event_type);

    // A rolled-back transaction emits nothing; a committed one emits its events after COMMIT.
    let store = &orders;
    let declined = Order::new(Uuid::new_v4(), "Bob".into(), 990, "tok_secret".into());
    let outcome = storehaus
        .transaction(|tx| async move {
            store.with_transaction(&tx).create(declined, None).await?;
            Err::<(), _>(StoreError::validation("total_cents", "card declined"))
        })
        .await;
    assert!(outcome.is_err(), "the declined order's transaction fails");

    let tx = storehaus.begin().await?;
    let carol = orders
        .with_transaction(&tx)
        .create(Order::new(Uuid::new_v4(), "Carol".into(), 4_200, "tok_secret".into()), None)
        .await?;
    let dave = orders
        .with_transaction(&tx)
        .create(Order::new(Uuid::new_v4(), "Dave".into(), 310, "tok_secret".into()), None)
        .await?;
    quiet(&mut changes, "before the commit").await?;
    tx.commit().await?;
    // Events arrive in log order, so Bob's would have come first had it been written.
    let first = next(&mut changes, "Carol's Create").await?;
    let second = next(&mut changes, "Dave's Create").await?;
    let ids = [first.record_id.as_str(), second.record_id.as_str()];
    assert_eq!(ids, [carol.id.to_string(), dave.id.to_string()], "exactly the committed orders, in order");
    println!("transactions: nothing for the rolled-back order, Carol and Dave announced after COMMIT");

    // A typed channel: application events, with the scope they concern and the publisher's actor
    // in the envelope.
    let shipped = signals.channel::<Shipped>("signals.shipped");
    let (shipments_tx, mut shipments) = mpsc::unbounded_channel::<Envelope<Shipped>>();
    shipped.subscribe(move |envelope| {
        let sent = shipments_tx.send(envelope);
        async move { sent.map_err(|_| CallbackError::from("nobody listens to shipments any more")) }
    })?;
    let parcel = Shipped { order: carol.id, carrier: "DHL".into() };
    shipped.with_scope("warehouse", "wh_7").with_actor("picker:12").publish(&parcel).await?;
    let envelope = next(&mut shipments, "the published shipment").await?;
    assert_eq!(envelope.data, parcel, "the subscriber receives the typed message");
    assert_eq!(envelope.event_type, "signals.shipped", "the envelope names its channel");
    assert_eq!(envelope.scope, Some(EventScope::new("warehouse", "wh_7")), "the envelope carries the scope");
    assert_eq!(envelope.actor.as_deref(), Some("picker:12"), "the envelope carries the actor");
    let EventScope { key, identifier } = envelope.scope.as_ref().ok_or("the envelope lost its scope")?;
    println!(
        "channel: {:?} for {key} {identifier} by {:?} arrived as a typed Shipped",
        envelope.data.carrier, envelope.actor
    );

    // Published inside a transaction, a message shares the transaction's fate.
    let tx = storehaus.begin().await?;
    tx.publish(&shipped, &Shipped { order: dave.id, carrier: "never sent".into() }).await?;
    tx.rollback().await?;
    let tx = storehaus.begin().await?;
    let erin = orders
        .with_transaction(&tx)
        .create(Order::new(Uuid::new_v4(), "Erin".into(), 75, "tok_secret".into()), None)
        .await?;
    let erins_parcel = Shipped { order: erin.id, carrier: "UPS".into() };
    tx.publish(&shipped, &erins_parcel).await?;
    quiet(&mut shipments, "before the commit").await?;
    tx.commit().await?;
    let envelope = next(&mut shipments, "the shipment published in the committed transaction").await?;
    assert_eq!(envelope.data, erins_parcel, "the rolled-back message never arrives; the committed one does");
    let erin_created = next(&mut changes, "Erin's Create").await?;
    assert_eq!(erin_created.record_id, erin.id.to_string(), "the row written with the message is announced too");
    println!("Transaction::publish: the rolled-back message was dropped; Erin's order and parcel arrived on commit");

    // A failing callback: each failure is counted, and after `max_consecutive_failures` in a row
    // the manager removes it (unless `remove_failing_callbacks` is off).
    let before = signals.get_stats();
    let flaky = signals
        .add_callback_for(Subscription::table(Order::TABLE.name).events([EventType::Update]), |event| async move {
            Err(format!("mail server down, no receipt for order {}", event.record_id).into())
        })?;
    let failures = signals.config().max_consecutive_failures;
    for cents in 1..=i64::from(failures) {
        orders.update(&erin.id, Order { total_cents: 75 + cents, ..erin.data().clone() }, None).await?;
        next(&mut changes, "an Update of Erin's order").await?;
    }
    // The next event is dispatched only when every callback of the previous one has finished, so
    // once its Create arrives, the statistics include all the failed runs.
    let frank = orders.create(Order::new(Uuid::new_v4(), "Frank".into(), 20, "tok_secret".into()), None).await?;
    next(&mut changes, "Frank's Create").await?;
    let stats = signals.get_stats();
    let failed = stats.callbacks_failed - before.callbacks_failed;
    assert_eq!(failed, u64::from(failures), "every run of the failing callback is counted as failed");
    let removed = stats.callbacks_removed_failing - before.callbacks_removed_failing;
    let should_remove = signals.config().remove_failing_callbacks;
    assert_eq!(removed, u64::from(should_remove), "the failing callback is removed when that is configured");
    assert_eq!(flaky.is_active(), !should_remove, "the handle tells whether the callback is still registered");
    println!("failing callback: {failed} failed runs, removed for failing: {}", !flaky.is_active());
    flaky.unsubscribe();

    // Unsubscribing stops delivery; the other callbacks keep theirs.
    let unsubscribed_before = signals.get_stats().callbacks_unsubscribed;
    assert!(every_change.unsubscribe(), "the table callback was registered until now");
    assert!(!every_change.is_active(), "an unsubscribed handle is inactive");
    orders.delete(&carol.id).await?;
    orders.delete(&frank.id).await?;
    next(&mut deletes, "Carol's Delete").await?;
    // Frank's Delete is dispatched after every callback of Carol's has finished.
    next(&mut deletes, "Frank's Delete").await?;
    assert!(changes.try_recv().is_err(), "the unsubscribed callback received nothing more");
    let stats = signals.get_stats();
    assert!(stats.callbacks_unsubscribed > unsubscribed_before, "the unsubscribe is counted");
    println!("unsubscribe: the deletes-only callback saw two more deletes, the unsubscribed one nothing");

    println!(
        "stats: {} events delivered, {} callback runs ({} succeeded, {} failed, {} timed out), \
         {} callbacks registered, {} removed for failing, {} unsubscribed, lag {:?}",
        stats.events_delivered,
        stats.callbacks_run,
        stats.callbacks_succeeded,
        stats.callbacks_failed,
        stats.callbacks_timed_out,
        stats.callbacks_registered,
        stats.callbacks_removed_failing,
        stats.callbacks_unsubscribed,
        stats.lag,
    );

    signals.shutdown().await;
    storehaus.close().await;
    println!("every event arrived as expected");
    Ok(())
}

/// The next message a callback handed over, waiting at most [`EVENT_TIMEOUT`].
async fn next<T>(receiver: &mut mpsc::UnboundedReceiver<T>, what: &str) -> Res<T> {
    match tokio::time::timeout(EVENT_TIMEOUT, receiver.recv()).await {
        Ok(Some(message)) => Ok(message),
        Ok(None) => Err(format!("{what}: the callback is gone").into()),
        Err(_) => Err(format!("{what} did not arrive within {EVENT_TIMEOUT:?}").into()),
    }
}

/// Fails if a callback hands anything over within [`QUIET_WINDOW`].
async fn quiet<T: std::fmt::Debug>(receiver: &mut mpsc::UnboundedReceiver<T>, when: &str) -> Res {
    match tokio::time::timeout(QUIET_WINDOW, receiver.recv()).await {
        Ok(Some(message)) => Err(format!("{message:?} arrived {when}").into()),
        Ok(None) | Err(_) => Ok(()),
    }
}

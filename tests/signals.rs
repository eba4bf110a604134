//! Change signals on both backends: one event per affected row on every write path, delivered
//! only after commit and never after a rollback, and channel messages published in a
//! transaction only after its commit.
//!
//! On PostgreSQL the events go through the database's event log and reach every process that
//! listens; on SQLite a pool keeps them in an in-process log ([`DbPool::event_source`] is the
//! pool's `MemorySource`), so the writer and the listener share one pool (one [`StoreHaus`])
//! and a second pool on the same file hears nothing. Delivery to other processes and a killed
//! listener connection are therefore PostgreSQL-only tests.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::signals::{DatabaseEvent, EventScope, EventType, Position, Subscription};
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus_suite::{TestBackend, on_both_backends, pg, raw};

#[model]
#[table(name = "signal_items", soft_delete)]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    pub writer: i32,
    pub seq: i32,
}

fn item(name: &str) -> Item {
    Item::new(Uuid::new_v4(), name.into(), 0, 0)
}

fn config() -> SignalConfig {
    SignalConfig { heartbeat_seconds: 1, ..SignalConfig::default() }
}

/// Every event a manager delivers, in delivery order.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<DatabaseEvent>>>);

impl Inbox {
    fn attach(&self, manager: &SignalManager) {
        attach_for(self, manager, Subscription::all());
    }

    fn events(&self) -> Vec<DatabaseEvent> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until at least `n` events arrived (or `limit` passed) and returns them.
    async fn wait_for(&self, n: usize, limit: Duration) -> Vec<DatabaseEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        while self.0.lock().unwrap().len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.events()
    }

    /// The events' kinds and keys, in delivery order.
    fn kinds_and_keys(&self) -> Vec<(EventType, Uuid)> {
        self.events().iter().map(|e| (e.event_type, e.record_id.parse().unwrap())).collect()
    }
}

/// Makes `inbox` record what `subscription` matches.
fn attach_for(inbox: &Inbox, manager: &SignalManager, subscription: Subscription) {
    let inbox = inbox.clone();
    manager
        .add_callback_for(subscription, move |event| {
            let inbox = inbox.clone();
            async move {
                inbox.0.lock().unwrap().push(event);
                Ok(())
            }
        })
        .unwrap();
}

/// A pool with the `signal_items` table, a signal manager on it, a store that announces its
/// writes to that manager (on the same pool, as SQLite's in-process events require) and an
/// inbox of everything the manager delivers.
async fn setup(db: &impl TestBackend) -> (StoreHaus, Arc<SignalManager>, GenericStore<Item>, Inbox) {
    setup_with(db, config()).await
}

/// [`setup`] with a manager of the given settings.
async fn setup_with(
    db: &impl TestBackend,
    config: SignalConfig,
) -> (StoreHaus, Arc<SignalManager>, GenericStore<Item>, Inbox) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Item>(false).await.unwrap();
    let manager = storehaus.signal_manager(config).await.unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), Some(manager.clone()), None);
    let inbox = Inbox::default();
    inbox.attach(&manager);
    (storehaus, manager, store, inbox)
}

/// How long a test waits for an event that must not come.
const QUIET: Duration = Duration::from_millis(500);

on_both_backends! {
    /// create, update, tags, soft delete, restore, batches, `*_where`, upsert and force delete
    /// each announce every row they wrote, once.
    async fn every_write_path_emits_one_event_per_affected_row(db) {
        let (_storehaus, manager, store, inbox) = setup(&db).await;

        let a = store.create(item("a"), Some(vec!["t".into()])).await.unwrap();
        store.update(&a.id, Item { name: "a2".into(), ..a.clone().into_inner() }, None).await.unwrap();
        store.add_tags(&a.id, ["u"]).await.unwrap();
        store.delete(&a.id).await.unwrap();
        store.restore(&a.id).await.unwrap();
        let many = store.create_many(vec![item("m1"), item("m2"), item("m3")], None).await.unwrap();
        let starts_with_m = || QueryFilter::like("name", "m%");
        store
            .update_where(QueryBuilder::new().filter(starts_with_m()), UpdateSet::new().set("writer", json!(7)))
            .await
            .unwrap();
        store.update_many(vec![(many[0].id, Item { seq: 1, ..many[0].clone().into_inner() })]).await.unwrap();
        store.delete_where(QueryBuilder::new().filter(QueryFilter::eq("name", json!("m2")))).await.unwrap();
        store
            .restore_where(QueryBuilder::new().only_deleted().filter(QueryFilter::eq("name", json!("m2"))))
            .await
            .unwrap();
        store.delete_many(vec![many[2].id]).await.unwrap();
        let u = item("u");
        store.upsert(u.clone(), None).await.unwrap();
        store.upsert(Item { name: "u2".into(), ..u.clone() }, None).await.unwrap();
        store.force_delete(&a.id).await.unwrap();
        store.force_delete_where(QueryBuilder::new().with_deleted().filter(starts_with_m())).await.unwrap();

        use EventType::*;
        let expected: Vec<(EventType, Uuid)> = vec![
            (Create, a.id),
            (Update, a.id),
            (Update, a.id),
            (SoftDelete, a.id),
            (Restore, a.id),
            (Create, many[0].id),
            (Create, many[1].id),
            (Create, many[2].id),
            (Update, many[0].id),
            (Update, many[1].id),
            (Update, many[2].id),
            (Update, many[0].id),
            (SoftDelete, many[1].id),
            (Restore, many[1].id),
            (SoftDelete, many[2].id),
            (Create, u.id),
            (Update, u.id),
            (Delete, a.id),
            (Delete, many[0].id),
            (Delete, many[1].id),
            (Delete, many[2].id),
        ];
        let events = inbox.wait_for(expected.len(), Duration::from_secs(20)).await;
        // Rows of one statement come in the statement's order, which SQL leaves open: compare each
        // statement's rows as a set by sorting runs of the same event type on the same statement.
        let mut got: Vec<(EventType, Uuid)> =
            events.iter().map(|e| (e.event_type, e.record_id.parse().unwrap())).collect();
        let mut want = expected.clone();
        for range in [8..11, 17..21] {
            got[range.clone()].sort_by_key(|(kind, id)| (kind.as_str(), *id));
            want[range].sort_by_key(|(kind, id)| (kind.as_str(), *id));
        }
        assert_eq!(got, want);
        assert!(events.iter().all(|e| e.table_name == "signal_items"));
        assert!(events.windows(2).all(|w| w[0].id < w[1].id), "ids increase");
        assert_eq!(events[0].tags, ["t"]);
        assert_eq!(events[0].payload["name"], "a");
        assert_eq!(events[1].payload["name"], "a2");
        assert_eq!(events[2].tags, ["t", "u"]);
        assert!(!events[3].payload["__deleted_at__"].is_null());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(inbox.events().len(), expected.len(), "no extra events");
        manager.shutdown().await;
    }

    /// The write paths the test above leaves out (removing and setting tags, `save`,
    /// `upsert_many`): each announces one update (or create) per row, with the row as written.
    async fn tag_edits_save_and_upsert_many_emit_one_event_per_row(db) {
        let (_storehaus, manager, store, inbox) = setup(&db).await;

        let a = store.create(item("a"), Some(vec!["x".into(), "y".into()])).await.unwrap();
        store.remove_tags(&a.id, ["x"]).await.unwrap();
        store.set_tags(&a.id, ["z"]).await.unwrap();
        let mut record = store.get_by_id(&a.id).await.unwrap().unwrap();
        record.name = "saved".into();
        store.save(&record).await.unwrap();
        let new = item("new");
        let upserted = store
            .upsert_many(vec![Item { name: "upserted".into(), ..a.clone().into_inner() }, new.clone()], None)
            .await
            .unwrap();
        assert_eq!(upserted.len(), 2);

        use EventType::*;
        let events = inbox.wait_for(6, Duration::from_secs(10)).await;
        let mut got = inbox.kinds_and_keys();
        // The upsert's two rows come from one statement, in an order SQL leaves open.
        got[4..].sort_by_key(|(kind, id)| (kind.as_str(), *id));
        let mut want = vec![
            (Create, a.id),
            (Update, a.id),
            (Update, a.id),
            (Update, a.id),
            (Update, a.id),
            (Create, new.id),
        ];
        want[4..].sort_by_key(|(kind, id)| (kind.as_str(), *id));
        assert_eq!(got, want);
        assert_eq!(events[1].tags, ["y"], "remove_tags");
        assert_eq!(events[2].tags, ["z"], "set_tags");
        assert_eq!(events[3].payload["name"], "saved");
        let upsert_of_a = events[4..].iter().find(|e| e.record_id == a.id.to_string()).unwrap();
        assert_eq!(upsert_of_a.payload["name"], "upserted");
        assert_eq!(upsert_of_a.tags, ["z"], "an upsert without tags keeps the row's tags");
        tokio::time::sleep(QUIET).await;
        assert_eq!(inbox.events().len(), 6, "no extra events: {:?}", inbox.kinds_and_keys());
        manager.shutdown().await;
    }

    /// Insert-or-ignore announces the rows it inserted and nothing for the ones it skipped;
    /// `upsert_with` announces a creation when it inserts and an update when it updates.
    async fn insert_or_ignore_and_upsert_with_emit_only_what_they_wrote(db) {
        let (_storehaus, manager, store, inbox) = setup(&db).await;

        let a = store.create(item("a"), None).await.unwrap();
        assert!(store.create_or_ignore(Item { name: "again".into(), ..a.clone().into_inner() }, None).await.unwrap().is_none());
        let fresh = item("fresh");
        let skipped = Item { name: "skipped".into(), ..a.clone().into_inner() };
        let inserted = store.create_many_or_ignore(vec![skipped, fresh.clone()], None).await.unwrap();
        assert_eq!(inserted.len(), 1);
        let u = item("u");
        store.upsert_with(u.clone(), None, Upsert::on_key()).await.unwrap();
        store.upsert_with(Item { name: "u2".into(), ..u.clone() }, None, Upsert::on_key()).await.unwrap();

        use EventType::*;
        let events = inbox.wait_for(4, Duration::from_secs(10)).await;
        assert_eq!(inbox.kinds_and_keys(), [(Create, a.id), (Create, fresh.id), (Create, u.id), (Update, u.id)]);
        assert_eq!(events[3].payload["name"], "u2");
        tokio::time::sleep(QUIET).await;
        assert_eq!(inbox.events().len(), 4, "no event for a skipped value: {:?}", inbox.kinds_and_keys());
        manager.shutdown().await;
    }

    /// A batch of more rows than one statement holds runs in a transaction of its own: all its
    /// events after that commit, or none when a later chunk fails and it rolls back.
    async fn a_batch_in_chunks_emits_every_row_or_nothing(db) {
        let (storehaus, manager, store, inbox) = setup(&db).await;
        const ROWS: usize = 5_001;

        let rows: Vec<Item> = (0..ROWS).map(|i| item(&format!("row {i}"))).collect();
        let keys: HashSet<String> = rows.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(store.create_many(rows, None).await.unwrap().len(), ROWS);
        let events = inbox.wait_for(ROWS, Duration::from_secs(30)).await;
        assert!(events.iter().all(|e| e.event_type == EventType::Create));
        let got: HashSet<String> = events.iter().map(|e| e.record_id.clone()).collect();
        assert_eq!((events.len(), got), (ROWS, keys));

        // The last row's key is taken, so the last chunk fails and the whole call rolls back.
        let taken = store.create(item("taken"), None).await.unwrap();
        inbox.wait_for(ROWS + 1, Duration::from_secs(10)).await;
        let mut rows: Vec<Item> = (0..ROWS).map(|i| item(&format!("doomed {i}"))).collect();
        rows[ROWS - 1].id = taken.id;
        assert!(store.create_many(rows, None).await.is_err(), "the duplicate key fails the call");
        let count = raw::int(&storehaus, "SELECT COUNT(*) FROM \"signal_items\" WHERE \"name\" LIKE 'doomed%'").await;
        assert_eq!(count, 0, "the call left nothing behind");
        tokio::time::sleep(QUIET).await;
        let events = inbox.events();
        assert_eq!(events.len(), ROWS + 1, "a rolled back batch announced {} rows", events.len() - ROWS - 1);
        assert_eq!(events[ROWS].record_id, taken.id.to_string());
        manager.shutdown().await;
    }

    /// A rolled back transaction announces nothing; a committed one nothing before its commit.
    async fn a_rollback_emits_nothing(db) {
        let (storehaus, manager, store, inbox) = setup(&db).await;

        let tx = storehaus.begin().await.unwrap();
        let in_tx = store.with_transaction(&tx);
        in_tx.create(item("ghost"), None).await.unwrap();
        in_tx.create_many(vec![item("ghost2"), item("ghost3")], None).await.unwrap();
        tx.rollback().await.unwrap();
        tokio::time::sleep(QUIET).await;
        assert!(inbox.events().is_empty(), "{:?}", inbox.events());

        // A committed transaction's events arrive only after its commit.
        let tx = storehaus.begin().await.unwrap();
        let real = store.with_transaction(&tx).create(item("real"), None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(inbox.events().is_empty(), "an uncommitted write was announced");
        tx.commit().await.unwrap();
        let events = inbox.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].record_id, real.id.to_string());
        manager.shutdown().await;
    }

    /// Every write path inside one transaction: nothing before the commit, then every row's
    /// event in the order written; the same writes rolled back (also by a failing closure)
    /// announce nothing.
    async fn every_write_path_in_a_transaction_waits_for_the_commit(db) {
        let (storehaus, manager, store, inbox) = setup(&db).await;
        let seeded = store.create_many(vec![item("s1"), item("s2")], None).await.unwrap();
        inbox.wait_for(2, Duration::from_secs(10)).await;
        let seeded_ids: Vec<Uuid> = seeded.iter().map(|r| r.id).collect();
        let by_key = || QueryBuilder::new().filter(Item::columns().id.in_values(seeded_ids.iter().copied()));

        // Each round writes through every path; `commit` decides how it ends.
        let round = async |commit: bool| -> Uuid {
            let tx = storehaus.begin().await.unwrap();
            let in_tx = store.with_transaction(&tx);
            let a = in_tx.create(item("tx"), None).await.unwrap();
            in_tx.update(&a.id, Item { name: "tx2".into(), ..a.clone().into_inner() }, None).await.unwrap();
            in_tx.set_tags(&a.id, ["t"]).await.unwrap();
            in_tx.update_where(by_key(), UpdateSet::new().set("writer", json!(1))).await.unwrap();
            in_tx.delete(&a.id).await.unwrap();
            in_tx.restore(&a.id).await.unwrap();
            in_tx.delete_where(by_key()).await.unwrap();
            in_tx.restore_where(by_key().only_deleted()).await.unwrap();
            in_tx.force_delete(&a.id).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(inbox.events().len(), 2, "announced before the commit: {:?}", inbox.kinds_and_keys());
            if commit { tx.commit().await.unwrap() } else { tx.rollback().await.unwrap() }
            a.id
        };

        round(false).await;
        let store_in_closure = store.clone();
        let failed = storehaus
            .transaction(|tx| async move {
                store_in_closure.with_transaction(&tx).create(item("closure"), None).await?;
                Err::<(), _>(StoreError::validation("name", "rejected"))
            })
            .await;
        assert!(failed.is_err());
        tokio::time::sleep(QUIET).await;
        assert_eq!(inbox.events().len(), 2, "rolled back writes were announced: {:?}", inbox.kinds_and_keys());

        let a = round(true).await;
        use EventType::*;
        let (s1, s2) = (seeded_ids[0], seeded_ids[1]);
        let mut want = vec![
            (Create, s1),
            (Create, s2),
            (Create, a),
            (Update, a),
            (Update, a),
            (Update, s1),
            (Update, s2),
            (SoftDelete, a),
            (Restore, a),
            (SoftDelete, s1),
            (SoftDelete, s2),
            (Restore, s1),
            (Restore, s2),
            (Delete, a),
        ];
        inbox.wait_for(want.len(), Duration::from_secs(10)).await;
        let mut got = inbox.kinds_and_keys();
        // Rows of one statement in an order SQL leaves open.
        for range in [0..2, 5..7, 9..11, 11..13] {
            got[range.clone()].sort_by_key(|(_, id)| *id);
            want[range].sort_by_key(|(_, id)| *id);
        }
        assert_eq!(got, want);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(inbox.events().len(), want.len(), "no extra events");
        manager.shutdown().await;
    }

    /// A row's whole payload arrives, however large.
    async fn a_large_row_arrives_whole(db) {
        let (_storehaus, manager, store, inbox) = setup(&db).await;
        let big: String = (0..20_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        store.create(item(&big), None).await.unwrap();
        let events = inbox.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(events[0].payload["name"].as_str().unwrap(), big);
        manager.shutdown().await;
    }

    /// `Transaction::publish` delivers a channel message after the commit, never after a
    /// rollback; a direct publish at once.
    /// Events of a rolled-back savepoint (store writes and channel messages) are never
    /// delivered; those of a released one arrive after the outer commit, in order.
    async fn a_rolled_back_savepoint_announces_nothing(db) {
        let (storehaus, manager, store, inbox) = setup(&db).await;
        let received = Arc::new(Mutex::new(Vec::new()));
        let paid = manager.channel::<Paid>("orders.paid");
        let sink = received.clone();
        paid.subscribe(move |envelope: storehaus::signals::Envelope<Paid>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(envelope.data);
                Ok(())
            }
        })
        .unwrap();

        let tx = storehaus.begin().await.unwrap();
        let before = store.with_transaction(&tx).create(item("before"), None).await.unwrap();
        let undone = tx.begin_nested().await.unwrap();
        store.with_transaction(&undone).create(item("ghost"), None).await.unwrap();
        undone.publish(&paid, &Paid { order: 1 }).await.unwrap();
        undone.rollback().await.unwrap();
        let released = tx.begin_nested().await.unwrap();
        let kept = store.with_transaction(&released).create(item("kept"), None).await.unwrap();
        released.publish(&paid, &Paid { order: 2 }).await.unwrap();
        released.commit().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(inbox.events().is_empty(), "announced before the commit: {:?}", inbox.events());
        tx.commit().await.unwrap();

        let events = inbox.wait_for(2, Duration::from_secs(10)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while received.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(QUIET).await;
        let keys: Vec<_> = inbox
            .events()
            .iter()
            .filter(|e| e.event_type == EventType::Create)
            .map(|e| e.record_id.clone())
            .collect();
        assert_eq!(keys, [before.id.to_string(), kept.id.to_string()], "{events:?}");
        assert_eq!(*received.lock().unwrap(), [Paid { order: 2 }]);
        manager.shutdown().await;
    }

    async fn channel_messages_published_in_a_transaction_arrive_only_after_commit(db) {
        let (storehaus, manager, _store, _inbox) = setup(&db).await;
        let received = Arc::new(Mutex::new(Vec::new()));
        let paid = manager.channel::<Paid>("orders.paid").with_scope("organization", "org_1").with_actor("user:1");
        let sink = received.clone();
        paid.subscribe(move |envelope: storehaus::signals::Envelope<Paid>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((envelope.data, envelope.scope, envelope.actor));
                Ok(())
            }
        })
        .unwrap();

        let tx = storehaus.begin().await.unwrap();
        tx.publish(&paid, &Paid { order: 1 }).await.unwrap();
        tx.rollback().await.unwrap();
        let tx = storehaus.begin().await.unwrap();
        tx.publish(&paid, &Paid { order: 2 }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(received.lock().unwrap().is_empty(), "nothing before commit");
        tx.commit().await.unwrap();
        paid.publish(&Paid { order: 3 }).await.unwrap();

        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while received.lock().unwrap().len() < 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let got = received.lock().unwrap().clone();
        let scope = Some(EventScope::new("organization", "org_1"));
        let actor = Some("user:1".to_owned());
        assert_eq!(
            got,
            [(Paid { order: 2 }, scope.clone(), actor.clone()), (Paid { order: 3 }, scope, actor)],
            "the scope and actor travel with messages published in a transaction and directly"
        );
        manager.shutdown().await;
    }
}

on_both_backends! {
    /// A message on a channel named like a table, with a payload shaped like one of its rows,
    /// published directly or in a transaction, reaches the channel's subscribers only: the
    /// table's subscribers receive the rows the store wrote and nothing else.
    async fn a_channel_named_like_a_table_never_reaches_its_table_subscribers(db) {
        let (storehaus, manager, store, inbox) = setup(&db).await;
        let rows = Inbox::default();
        attach_for(&rows, &manager, Subscription::table(Item::TABLE.name));
        let messages = Inbox::default();
        attach_for(&messages, &manager, Subscription::channel(Item::TABLE.name));

        let forger = manager.channel::<serde_json::Value>(Item::TABLE.name);
        let forged = json!({"id": Uuid::new_v4(), "name": "forged", "writer": 0, "seq": 0});
        forger.publish(&forged).await.unwrap();
        let tx = storehaus.begin().await.unwrap();
        tx.publish(&forger, &forged).await.unwrap();
        tx.commit().await.unwrap();
        let real = store.create(item("real"), None).await.unwrap();

        inbox.wait_for(3, Duration::from_secs(10)).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(rows.kinds_and_keys(), [(EventType::Create, real.id)], "only the row the store wrote");
        assert_eq!(rows.events()[0].table(), Some(Item::TABLE.name));
        let messages = messages.events();
        assert_eq!(messages.len(), 2, "both messages reach the channel's subscribers");
        assert!(messages.iter().all(|m| m.table().is_none() && m.channel() == Some(Item::TABLE.name)));
        manager.shutdown().await;
    }
}

/// A model with secrets that its events must not carry.
#[model]
#[table(name = "signal_accounts", soft_delete)]
pub struct Account {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    #[field(no_signal)]
    pub password_hash: String,
    #[field(create, no_signal)]
    pub salt: String,
}

/// The text every secret of [`Account`] contains, to look for in payloads and in the log.
const SECRET: &str = "s3cr3t";

fn account(name: &str) -> Account {
    Account::new(Uuid::new_v4(), name.into(), format!("{SECRET}-hash-{name}"), format!("{SECRET}-salt-{name}"))
}

on_both_backends! {
    /// `#[field(no_signal)]` fields are absent from the payload of every event of every write
    /// path, and from the event log itself; the other fields are there.
    async fn no_signal_fields_are_absent_from_every_event_and_from_the_log(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Account>(false).await.unwrap();
        let manager = storehaus.signal_manager(config()).await.unwrap();
        let store = GenericStore::<Account>::new(storehaus.pool().clone(), Some(manager.clone()), None);
        let inbox = Inbox::default();
        inbox.attach(&manager);

        let a = store.create(account("a"), Some(vec!["t".into()])).await.unwrap();
        store.update(&a.id, Account { name: "a2".into(), ..account("a") }, None).await.unwrap();
        store.add_tags(&a.id, ["u"]).await.unwrap();
        store.set_tags(&a.id, ["v"]).await.unwrap();
        let mut record = store.get_by_id(&a.id).await.unwrap().unwrap();
        record.name = "saved".into();
        store.save(&record).await.unwrap();
        store.delete(&a.id).await.unwrap();
        store.restore(&a.id).await.unwrap();
        let many = store.create_many(vec![account("m1"), account("m2")], None).await.unwrap();
        store.update_many(vec![(many[0].id, Account { name: "m1b".into(), ..account("m1") })]).await.unwrap();
        let starts_with_m = || QueryBuilder::new().filter(QueryFilter::like("name", "m%"));
        store
            .update_where(starts_with_m(), UpdateSet::new().set("password_hash", json!(format!("{SECRET}-new"))))
            .await
            .unwrap();
        store.delete_where(starts_with_m()).await.unwrap();
        store.restore_where(starts_with_m().only_deleted()).await.unwrap();
        let u = account("u");
        store.upsert(u.clone(), None).await.unwrap();
        store.upsert(Account { name: "u2".into(), ..u.clone() }, None).await.unwrap();
        store.upsert_many(vec![account("w"), Account { name: "u3".into(), ..u.clone() }], None).await.unwrap();
        store.delete_many(vec![u.id]).await.unwrap();
        store.force_delete(&a.id).await.unwrap();
        store.force_delete_where(starts_with_m().with_deleted()).await.unwrap();
        let tx = storehaus.begin().await.unwrap();
        store.with_transaction(&tx).create(account("tx"), None).await.unwrap();
        tx.commit().await.unwrap();

        const EVENTS: usize = 25;
        let events = inbox.wait_for(EVENTS, Duration::from_secs(20)).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(inbox.events().len(), EVENTS, "{:?}", inbox.kinds_and_keys());
        for kind in [EventType::Create, EventType::Update, EventType::SoftDelete, EventType::Restore, EventType::Delete] {
            assert!(events.iter().any(|e| e.event_type == kind), "a {kind:?} event");
        }
        for event in &events {
            let payload = event.payload.as_object().expect("a row");
            assert!(payload.contains_key("name") && payload.contains_key("__tags__"), "{payload:?}");
            assert!(!payload.contains_key("password_hash") && !payload.contains_key("salt"), "{event:?}");
            assert!(!serde_json::to_string(event).unwrap().contains(SECRET), "{event:?}");
        }
        // What the log holds, as a listener starting from its beginning reads it.
        let log = storehaus.pool().event_source().await.unwrap();
        let stored = log.read(Position::default(), 1_000).await.unwrap().events;
        assert_eq!(stored.len(), EVENTS);
        assert!(stored.iter().all(|e| !e.payload.to_string().contains(SECRET)), "{stored:?}");
        if storehaus.pool().signals_cross_process() {
            let sql = format!("SELECT count(*) FROM storehaus_events WHERE payload::text LIKE '%{SECRET}%'");
            assert_eq!(raw::int(&storehaus, &sql).await, 0, "storehaus_events holds a secret");
        }
        // The rows themselves keep their secrets.
        let kept = raw::int(&storehaus, "SELECT count(*) FROM signal_accounts WHERE password_hash LIKE 's3cr3t%'").await;
        assert_eq!(kept, 3);
        manager.shutdown().await;
    }
}

/// A message published by another process on a channel named like a table never reaches the
/// table's subscribers here.
#[tokio::test]
async fn a_channel_from_another_process_never_reaches_table_subscribers() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_listening, manager, store, inbox) = setup(&db).await;
    let rows = Inbox::default();
    attach_for(&rows, &manager, Subscription::table(Item::TABLE.name));
    let (_other, other_manager, _other_store, _other_inbox) = setup(&db).await;

    let forged = json!({"id": Uuid::new_v4(), "name": "forged", "writer": 0, "seq": 0});
    other_manager.channel::<serde_json::Value>(Item::TABLE.name).publish(&forged).await.unwrap();
    let real = store.create(item("real"), None).await.unwrap();

    let events = inbox.wait_for(2, Duration::from_secs(10)).await;
    assert!(events.iter().any(|e| e.channel() == Some(Item::TABLE.name)), "the message crossed: {events:?}");
    tokio::time::sleep(QUIET).await;
    assert_eq!(rows.kinds_and_keys(), [(EventType::Create, real.id)], "only the row the store wrote");
    manager.shutdown().await;
    other_manager.shutdown().await;
}

/// Settings for the shutdown tests: the default heartbeat, so that a write transaction of some
/// other database on a busy test server, which holds back every listener of the server for as
/// long as it runs, is waited for long enough.
fn patient_config() -> SignalConfig {
    SignalConfig::default()
}

on_both_backends! {
    /// `shutdown` delivers what was committed before it: the callback of a row created just
    /// before the call has run, once, when it returns.
    async fn shutdown_right_after_a_write_delivers_its_event(db) {
        let (_storehaus, manager, store, inbox) = setup_with(&db, patient_config()).await;
        let created = store.create(item("last words"), None).await.unwrap();
        manager.shutdown().await;
        assert_eq!(inbox.kinds_and_keys(), [(EventType::Create, created.id)]);
        assert_eq!(inbox.events()[0].payload["name"], "last words");
        assert_eq!(manager.get_stats().events_delivered, 1);
        tokio::time::sleep(QUIET).await;
        assert_eq!(inbox.events().len(), 1, "delivered once");
    }

    /// `StoreHaus::close` shuts the managers it started down the same way before it closes the
    /// pool: the last write's callback has run when it returns.
    async fn close_right_after_a_write_delivers_its_event(db) {
        let (storehaus, manager, store, inbox) = setup_with(&db, patient_config()).await;
        let created = store.create(item("last words"), None).await.unwrap();
        storehaus.close().await;
        assert!(manager.is_shut_down());
        assert_eq!(inbox.kinds_and_keys(), [(EventType::Create, created.id)]);
        assert_eq!(manager.get_stats().events_delivered, 1);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Paid {
    order: i64,
}

// ---------------------------------------------------------------------------------------------
// Other processes: PostgreSQL tells every listener; SQLite only its own pool

#[tokio::test]
async fn two_processes_both_receive_every_event() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_one, manager_one, store_one, inbox_one) = setup(&db).await;
    let (_two, manager_two, store_two, inbox_two) = setup(&db).await;

    let mut written = HashSet::new();
    for n in 0..10 {
        let store = if n % 2 == 0 { &store_one } else { &store_two };
        written.insert(store.create(item(&format!("p{n}")), None).await.unwrap().id.to_string());
    }
    for inbox in [&inbox_one, &inbox_two] {
        let got: HashSet<String> =
            inbox.wait_for(10, Duration::from_secs(10)).await.into_iter().map(|e| e.record_id).collect();
        assert_eq!(got, written);
    }
    manager_one.shutdown().await;
    manager_two.shutdown().await;
}

/// SQLite's events are in-process, per pool: a second pool on the same file (as a second
/// process would open) hears nothing of the first pool's writes, while the first pool's own
/// manager hears every one.
#[tokio::test]
async fn sqlite_events_stay_in_the_pool_that_wrote_them() {
    let db = TestSqlite::new();
    let (_one, manager_one, store_one, inbox_one) = setup(&db).await;
    let (_two, manager_two, store_two, inbox_two) = setup(&db).await;

    let first = store_one.create(item("from one"), None).await.unwrap();
    let second = store_two.create(item("from two"), None).await.unwrap();
    assert_eq!(inbox_one.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    assert_eq!(inbox_two.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    tokio::time::sleep(QUIET).await;
    assert_eq!(inbox_one.kinds_and_keys(), [(EventType::Create, first.id)], "pool one hears only itself");
    assert_eq!(inbox_two.kinds_and_keys(), [(EventType::Create, second.id)], "pool two hears only itself");
    manager_one.shutdown().await;
    manager_two.shutdown().await;
}

#[tokio::test]
async fn nothing_is_lost_when_the_listener_connection_is_killed() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, manager, store, inbox) = setup(&db).await;
    const WRITERS: i32 = 4;
    const WRITES: i32 = 500;

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for seq in 0..WRITES {
                    store.create(Item::new(Uuid::new_v4(), format!("w{writer}"), writer, seq), None).await.unwrap();
                }
            })
        })
        .collect();
    // Kill the listener's connection three times while the writers run; each time a new
    // connection (the reconnected listener), never one already dying.
    let admin = pg(&storehaus).clone();
    let mut killed: Vec<i32> = Vec::new();
    while killed.len() < 3 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let listeners: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN %' AND NOT (pid = ANY($1))",
        )
        .bind(&killed)
        .fetch_all(&admin)
        .await
        .unwrap();
        for pid in listeners {
            let terminated: bool =
                sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&admin).await.unwrap();
            assert!(terminated, "listener backend {pid} was not terminated");
            killed.push(pid);
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }

    let total = (WRITERS * WRITES) as usize;
    let events = inbox.wait_for(total, Duration::from_secs(60)).await;
    let mut seen_ids = HashSet::new();
    let mut per_writer: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for event in &events {
        if seen_ids.insert(event.id) {
            let writer = event.payload["writer"].as_i64().unwrap();
            per_writer.entry(writer).or_default().push(event.payload["seq"].as_i64().unwrap());
        }
    }
    assert_eq!(seen_ids.len(), total, "every event is delivered");
    for (writer, seqs) in &per_writer {
        let expected: Vec<i64> = (0..i64::from(WRITES)).collect();
        assert_eq!(seqs, &expected, "writer {writer}'s events arrive once each, in commit order");
    }
    // The listener notices each loss and reconnects (the last one possibly after the writes ended).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while manager.get_stats().listener_reconnects < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = manager.get_stats();
    assert!(stats.listener_reconnects >= 3, "killed {killed:?}: {stats:?}");
    manager.shutdown().await;
}

/// A composite key whose parts need escaping in JSON.
#[model]
#[table(name = "signal_pairs")]
pub struct Pair {
    #[primary_key]
    pub tenant: String,
    #[primary_key]
    pub n: i64,
    pub label: String,
}

on_both_backends! {
    /// The `record_id` of a composite-key row is a JSON array of each key column's text, in key
    /// order, spelled the same on both backends, for every write path.
    async fn composite_keys_travel_as_a_json_array_of_texts(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Pair>(false).await.unwrap();
        let manager = storehaus.signal_manager(config()).await.unwrap();
        let store = GenericStore::<Pair>::new(storehaus.pool().clone(), Some(manager.clone()), None);
        let inbox = Inbox::default();
        inbox.attach(&manager);

        let tenant = "ac\"me, inc".to_owned();
        store.create(Pair { tenant: tenant.clone(), n: 7, label: "a".into() }, None).await.unwrap();
        store.create_many(vec![Pair { tenant: "b".into(), n: -1, label: "b".into() }], None).await.unwrap();
        store.update(&(tenant.clone(), 7), Pair { tenant: String::new(), n: 0, label: "a2".into() }, None).await.unwrap();
        store.delete_many(vec![("b".to_owned(), -1)]).await.unwrap();
        let events = inbox.wait_for(4, Duration::from_secs(10)).await;
        let ids: Vec<(EventType, &str)> = events.iter().map(|e| (e.event_type, e.record_id.as_str())).collect();
        let first = r#"["ac\"me, inc", "7"]"#;
        assert_eq!(ids, [
            (EventType::Create, first),
            (EventType::Create, r#"["b", "-1"]"#),
            (EventType::Update, first),
            (EventType::Delete, r#"["b", "-1"]"#),
        ]);
        let parsed: Vec<String> = serde_json::from_str(first).unwrap();
        assert_eq!(parsed, [tenant, "7".to_owned()]);
    }
}

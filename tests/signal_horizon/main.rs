//! Change signals on PostgreSQL are held back only by transactions that write events: an open
//! transaction that wrote anything else, however old, does not delay delivery, and an event
//! writer that began earlier and commits later is delivered, never skipped.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::signals::{DatabaseEvent, Subscription};
use storehaus::testing::TestDatabase;
use storehaus_suite::inbox::Inbox;
use storehaus_suite::pg;

mod concurrency;

#[model]
#[table(name = "horizon_items")]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

fn item(name: &str) -> Item {
    Item::new(Uuid::new_v4(), name.into())
}

/// A store with signals on a fresh database, its manager, and an inbox of `horizon_items` events.
async fn setup(db: &TestDatabase) -> (StoreHaus, Arc<SignalManager>, GenericStore<Item>, Inbox) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Item>(false).await.unwrap();
    let config = SignalConfig { heartbeat_seconds: 2, ..SignalConfig::default() };
    let manager = storehaus.signal_manager(config).await.unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), Some(manager.clone()), None);
    let inbox = Inbox::attached_for(&manager, Subscription::table("horizon_items"));
    (storehaus, manager, store, inbox)
}

/// The `p`-th percentile of `values` (sorted in place).
fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[index]
}

/// An unrelated session keeps a transaction that has written a row open for 10 s; 100 creates
/// committed meanwhile are each delivered within a second of their commit.
#[tokio::test]
async fn an_open_transaction_that_writes_no_events_holds_nothing_back() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, manager, store, inbox) = setup(&db).await;
    let pool = pg(&storehaus);
    sqlx::query("CREATE TABLE batch_job (n INT)").execute(pool).await.unwrap();
    let mut unrelated = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO batch_job VALUES (1)").execute(&mut *unrelated).await.unwrap();
    let opened = Instant::now();

    let mut committed = Vec::new();
    for i in 0..100 {
        let record = store.create(item(&format!("w{i}")), None).await.unwrap();
        committed.push((record.id.to_string(), Instant::now()));
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let arrived = inbox.wait_for(100, Duration::from_secs(5)).await;
    let arrivals = inbox.arrivals();
    assert!(opened.elapsed() < Duration::from_secs(10), "the unrelated transaction is still open");
    assert_eq!(arrived.len(), 100, "every commit was delivered while the unrelated transaction was open");

    let mut delays: Vec<Duration> = committed
        .iter()
        .map(|(id, at)| {
            let index = arrived.iter().position(|e| &e.record_id == id).expect("delivered");
            arrivals[index].saturating_duration_since(*at)
        })
        .collect();
    let (p50, p99) = (percentile(&mut delays, 0.50), percentile(&mut delays, 0.99));
    println!("commit -> callback with an unrelated writing transaction open: p50 {p50:?}, p99 {p99:?}");
    assert!(delays.iter().all(|d| *d < Duration::from_secs(1)), "p99 {p99:?}, max {:?}", delays.last());

    tokio::time::sleep(Duration::from_secs(10).saturating_sub(opened.elapsed())).await;
    unrelated.rollback().await.unwrap();
    manager.shutdown().await;
}

/// A transaction that wrote an event before others committed theirs, and commits after them, is
/// delivered: its smaller id holds the later ones back until it ends, then all arrive in id order.
#[tokio::test]
async fn an_earlier_event_writer_that_commits_late_is_delivered() {
    let Some(db) = TestDatabase::new().await else { return };
    earlier_writer_committing_late(&db).await;
}

/// The same where sessions default to REPEATABLE READ: a read cannot take its snapshot after the
/// horizon within one statement there, so it asks for the horizon in a statement of its own.
#[tokio::test]
async fn under_a_repeatable_read_default_an_earlier_writer_is_still_delivered() {
    let Some(db) = TestDatabase::new().await else { return };
    let admin = db.storehaus().await;
    let sql = format!("ALTER DATABASE \"{}\" SET default_transaction_isolation = 'repeatable read'", db.name());
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pg(&admin)).await.unwrap();
    admin.close().await;
    earlier_writer_committing_late(&db).await;

    let storehaus = db.storehaus().await;
    let refused = sqlx::query("SELECT * FROM storehaus_events_read(0, 1, 1, 0)").fetch_all(pg(&storehaus)).await;
    let code = refused.err().and_then(|e| e.as_database_error().and_then(|e| e.code().map(|c| c.into_owned())));
    assert_eq!(code.as_deref(), Some("0A000"), "the one-statement read refuses a transaction snapshot");
}

async fn earlier_writer_committing_late(db: &TestDatabase) {
    let (storehaus, manager, store, inbox) = setup(db).await;

    let tx = storehaus.begin().await.unwrap();
    let early = store.with_transaction(&tx).create(item("early"), None).await.unwrap();
    let mut later = Vec::new();
    for i in 0..10 {
        later.push(store.create(item(&format!("later{i}")), None).await.unwrap().id.to_string());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(inbox.is_empty(), "events behind a transaction still writing events wait for it: {:?}", inbox.events());

    tx.commit().await.unwrap();
    let events = inbox.wait_for(11, Duration::from_secs(5)).await;
    let ids: Vec<&str> = events.iter().map(|e| e.record_id.as_str()).collect();
    let mut expected = vec![early.id.to_string()];
    expected.extend(later);
    assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>(), "all delivered, in id order");
    assert_increasing(&events);
    manager.shutdown().await;
}

/// A savepoint rolled back takes its announcement with it; the transaction's next event write
/// announces again and is delivered. One announcement per transaction, however many writes.
#[tokio::test]
async fn a_rolled_back_savepoint_announces_again() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, manager, _store, inbox) = setup(&db).await;
    let pool = pg(&storehaus);
    let insert = "INSERT INTO storehaus_events (event_type, table_name, record_id, payload) \
                  VALUES ('create', 'horizon_items', $1, '{}')";
    let announcements = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1397245270 \
                         AND pid = pg_backend_pid()";

    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SAVEPOINT s").execute(&mut *tx).await.unwrap();
    sqlx::query(insert).bind("gone").execute(&mut *tx).await.unwrap();
    let inside: i64 = sqlx::query_scalar(announcements).fetch_one(&mut *tx).await.unwrap();
    sqlx::query("ROLLBACK TO SAVEPOINT s").execute(&mut *tx).await.unwrap();
    for kept in ["kept1", "kept2", "kept3"] {
        sqlx::query(insert).bind(kept).execute(&mut *tx).await.unwrap();
    }
    let after: i64 = sqlx::query_scalar(announcements).fetch_one(&mut *tx).await.unwrap();
    assert_eq!((inside, after), (1, 1), "one announcement at a time, also after three writes");
    tx.commit().await.unwrap();

    let events = inbox.wait_for(3, Duration::from_secs(5)).await;
    let ids: Vec<&str> = events.iter().map(|e| e.record_id.as_str()).collect();
    assert_eq!(ids, ["kept1", "kept2", "kept3"]);
    let left: i64 = sqlx::query_scalar(announcements).fetch_one(pool).await.unwrap();
    assert_eq!(left, 0, "the announcement ends with its transaction");
    manager.shutdown().await;
}

/// Events arrive with strictly increasing ids.
fn assert_increasing(events: &[DatabaseEvent]) {
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order: {ids:?}");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "an event came twice");
}

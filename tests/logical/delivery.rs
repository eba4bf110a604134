//! What arrives: raw SQL on tables StoreHaus does not manage as Create/Update/Delete events with
//! the row as payload and the key as record id, StoreHaus writes once with their log ids, and
//! nothing of StoreHaus's own tables.

use super::{Item, QUIET, execute, item, logical, logical_server};
use serde_json::json;
use sqlx::postgres::PgPoolCopyExt;
use std::collections::HashSet;
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::signals::EventType;
use storehaus_suite::inbox::Inbox;
use storehaus_suite::pg;

/// Spaces, both quotes, brackets, a newline, the old-key separator and non-ASCII text.
const HOSTILE: &str = "it's a \"quoted\" [bracket] value\n new-tuple: x[text]:'y' with ünïcödé ✓ and ''";

#[tokio::test]
async fn raw_writes_arrive_as_row_events_and_storehaus_writes_once() {
    let Some((_server, storehaus)) = logical_server().await else { return };
    execute(
        &storehaus,
        r#"CREATE TABLE things (id int PRIMARY KEY, name text, price numeric, active boolean, meta jsonb,
           "Odd ""Col"" [x]" text)"#,
    )
    .await;
    execute(&storehaus, "CREATE TABLE pairs (region text, n int, note text, PRIMARY KEY (region, n))").await;
    execute(&storehaus, "CREATE TABLE storehaus_private (id int PRIMARY KEY)").await;
    execute(&storehaus, "CREATE SCHEMA elsewhere").await;
    execute(&storehaus, "CREATE TABLE elsewhere.notes (id int PRIMARY KEY)").await;
    let manager = storehaus.signal_manager(logical("delivery")).await.unwrap();
    let inbox = Inbox::attached(&manager);
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), Some(manager.clone()), None);
    let db = pg(&storehaus);

    sqlx::query(r#"INSERT INTO things VALUES (1, $1, 1.5, true, '{"k": [1, "x"]}', 'odd')"#)
        .bind(HOSTILE)
        .execute(db)
        .await
        .unwrap();
    execute(&storehaus, "UPDATE things SET name = 'renamed', price = 2, active = false WHERE id = 1").await;
    execute(&storehaus, "DELETE FROM things WHERE id = 1").await;
    execute(&storehaus, "INSERT INTO pairs VALUES ('eu west', 7, NULL)").await;
    execute(&storehaus, "INSERT INTO storehaus_private VALUES (1)").await;
    execute(&storehaus, "INSERT INTO elsewhere.notes VALUES (3)").await;
    let stored = store.create(item("stored", 1), Some(vec!["t".into()])).await.unwrap();
    // The same row written around StoreHaus: a raw change.
    sqlx::query("UPDATE logical_items SET name = 'raw' WHERE id = $1").bind(stored.id).execute(db).await.unwrap();
    execute(&storehaus, "INSERT INTO things (id, name) VALUES (99, 'marker')").await;

    let events = inbox.settled_after(0, 8, QUIET).await;
    let summary: Vec<_> = events.iter().map(|e| (e.table_name.as_str(), e.event_type, e.record_id.as_str())).collect();
    let key = stored.id.to_string();
    assert_eq!(
        summary,
        [
            ("things", EventType::Create, "1"),
            ("things", EventType::Update, "1"),
            ("things", EventType::Delete, "1"),
            ("pairs", EventType::Create, r#"["eu west", "7"]"#),
            ("elsewhere.notes", EventType::Create, "3"),
            ("logical_items", EventType::Create, key.as_str()),
            ("logical_items", EventType::Update, key.as_str()),
            ("things", EventType::Create, "99"),
        ],
        "{events:#?}"
    );
    assert_eq!(
        events[0].payload,
        json!({"id": 1, "name": HOSTILE, "price": 1.5, "active": true, "meta": {"k": [1, "x"]}, "Odd \"Col\" [x]": "odd"})
    );
    assert_eq!(events[1].payload["name"], "renamed");
    assert_eq!((&events[1].payload["price"], &events[1].payload["active"]), (&json!(2), &json!(false)));
    assert_eq!(events[2].payload, json!({"id": 1}));
    assert_eq!(events[3].payload, json!({"region": "eu west", "n": 7, "note": null}));

    // The StoreHaus write is its log event, as the log transport delivers it.
    let logged = &events[5];
    assert!(logged.id > 0, "{logged:?}");
    assert_eq!(
        (logged.payload["name"].as_str(), logged.tags.as_slice()),
        (Some("stored"), ["t".to_owned()].as_slice())
    );
    let log_id: i64 = sqlx::query_scalar("SELECT max(id) FROM storehaus_events").fetch_one(db).await.unwrap();
    assert_eq!(logged.id, log_id);
    assert_eq!(events[6].payload["name"], "raw");

    // Raw events: negative ids, unique, never a log id; timestamps of their commits.
    let raw: Vec<_> = events.iter().filter(|e| e.table_name != "logical_items" || e.id < 0).collect();
    assert!(raw.iter().all(|e| e.id < 0 && e.tags.is_empty()), "{raw:#?}");
    assert_eq!(raw.iter().map(|e| e.id).collect::<HashSet<_>>().len(), raw.len());
    assert!(events.windows(2).all(|pair| pair[0].timestamp <= pair[1].timestamp));
    let age = chrono::Utc::now() - events[0].timestamp;
    assert!(age < chrono::Duration::seconds(30), "{age}");

    manager.shutdown().await;
    storehaus.close().await;
}

#[tokio::test]
async fn a_storehaus_transaction_with_raw_sql_arrives_in_commit_order() {
    let Some((_server, storehaus)) = logical_server().await else { return };
    execute(&storehaus, "CREATE TABLE audit (id bigserial PRIMARY KEY, what text)").await;
    let manager = storehaus.signal_manager(logical("mixed")).await.unwrap();
    let inbox = Inbox::attached(&manager);
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), Some(manager.clone()), None);

    let tx = storehaus.begin().await.unwrap();
    let first = store.with_transaction(&tx).create(item("first", 1), None).await.unwrap();
    let second = store.create(item("second", 2), None).await.unwrap();
    execute(&storehaus, "INSERT INTO audit (what) VALUES ('outside')").await;
    tx.commit().await.unwrap();

    let events = inbox.settled_after(0, 3, QUIET).await;
    let names: Vec<_> = events.iter().map(|e| e.payload["name"].as_str().or(e.payload["what"].as_str())).collect();
    // Commit order, not start order.
    assert_eq!(names, [Some("second"), Some("outside"), Some("first")], "{events:#?}");
    assert_eq!(events[0].record_id, second.id.to_string());
    assert_eq!(events[2].record_id, first.id.to_string());
    assert_eq!(events[1].record_id, "1");

    let wait = Duration::from_secs(5);
    store.delete(&first.id).await.unwrap();
    let deleted = inbox.after(3, wait).await;
    assert_eq!(deleted.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::Delete]);

    manager.shutdown().await;
    storehaus.close().await;
}

#[tokio::test]
async fn small_read_batches_never_split_or_skip_a_transaction() {
    let Some((_server, storehaus)) = logical_server().await else { return };
    execute(&storehaus, "CREATE TABLE numbers (n int PRIMARY KEY)").await;
    let config = SignalConfig { read_batch_size: 2, ..logical("batches") };
    let manager = storehaus.signal_manager(config).await.unwrap();
    let inbox = Inbox::attached(&manager);

    // One transaction larger than a batch, single rows, and a COPY, whose rows share one WAL record.
    execute(&storehaus, "INSERT INTO numbers SELECT g FROM generate_series(1, 5) g").await;
    for n in 6..=9 {
        sqlx::query("INSERT INTO numbers VALUES ($1)").bind(n).execute(pg(&storehaus)).await.unwrap();
    }
    let mut copy = pg(&storehaus).copy_in_raw("COPY numbers FROM STDIN").await.unwrap();
    copy.send(b"10\n11\n12\n".as_slice()).await.unwrap();
    copy.finish().await.unwrap();

    let events = inbox.settled_after(0, 12, QUIET).await;
    let keys: Vec<_> = events.iter().map(|e| e.record_id.parse::<i32>().unwrap()).collect();
    assert_eq!(keys, (1..=12).collect::<Vec<_>>());
    assert_eq!(events.iter().map(|e| e.id).collect::<HashSet<_>>().len(), 12, "{events:#?}");
    assert!(events.iter().all(|e| e.event_type == EventType::Create && e.id < 0));

    manager.shutdown().await;
    storehaus.close().await;
}

#[tokio::test]
async fn logical_messages_and_truncates_neither_arrive_nor_stall_the_reader() {
    let Some((_server, storehaus)) = logical_server().await else { return };
    execute(&storehaus, "CREATE TABLE numbers (n int PRIMARY KEY)").await;
    let config = SignalConfig { read_batch_size: 1, ..logical("messages") };
    let manager = storehaus.signal_manager(config).await.unwrap();
    let inbox = Inbox::attached(&manager);

    // More rows about no row change than one read asks for.
    for _ in 0..3 {
        execute(&storehaus, "SELECT pg_logical_emit_message(false, 'app', 'outside a transaction')").await;
        execute(&storehaus, "SELECT pg_logical_emit_message(true, 'app', 'in a transaction')").await;
    }
    execute(&storehaus, "TRUNCATE numbers").await;
    execute(&storehaus, "INSERT INTO numbers VALUES (1)").await;

    let events = inbox.settled_after(0, 1, QUIET).await;
    let summary: Vec<_> = events.iter().map(|e| (e.table_name.as_str(), e.record_id.as_str())).collect();
    assert_eq!(summary, [("numbers", "1")], "{events:#?}");

    manager.shutdown().await;
    storehaus.close().await;
}

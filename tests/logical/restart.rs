//! Nothing is lost across a restart: the slot remembers what the last manager read, and a new
//! manager with the same slot name delivers what was committed while none listened, once.

use super::{Item, QUIET, execute, item, logical, logical_server};
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus_suite::inbox::Inbox;

#[tokio::test]
async fn a_manager_with_the_same_slot_delivers_what_was_written_while_none_ran() {
    let Some((server, storehaus)) = logical_server().await else { return };
    execute(&storehaus, "CREATE TABLE notes (id int PRIMARY KEY, body text)").await;
    // The writers' side announces through the event log, as another process would.
    let emitting = storehaus.signal_manager(SignalConfig::default()).await.unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), Some(emitting.clone()), None);

    let first = StoreHaus::connect(&server.url()).await.unwrap();
    let a = first.signal_manager(logical("restart")).await.unwrap();
    let inbox_a = Inbox::attached(&a);
    let before = store.create(item("before", 0), None).await.unwrap();
    let seen = inbox_a.after(0, Duration::from_secs(5)).await;
    assert_eq!(seen.iter().map(|e| e.record_id.clone()).collect::<Vec<_>>(), [before.id.to_string()]);
    // The shutdown reads up to the end of the WAL and confirms it to the slot, without waiting.
    let stopping = Instant::now();
    a.shutdown().await;
    let stopped = stopping.elapsed();
    println!("manager on the slot shut down in {stopped:?}");
    assert!(stopped < Duration::from_secs(1), "{stopped:?}");
    first.close().await;

    // Written while no manager reads the slot.
    let gap = store.create(item("gap", 1), None).await.unwrap();
    execute(&storehaus, "INSERT INTO notes VALUES (1, 'gap')").await;
    execute(&storehaus, "UPDATE notes SET body = 'gap 2' WHERE id = 1").await;

    let second = StoreHaus::connect(&server.url()).await.unwrap();
    let b = second.signal_manager(logical("restart")).await.unwrap();
    let inbox_b = Inbox::attached(&b);
    let delivered = inbox_b.settled_after(0, 3, QUIET).await;
    let summary: Vec<_> = delivered.iter().map(|e| (e.table_name.as_str(), e.record_id.clone())).collect();
    assert_eq!(
        summary,
        [("logical_items", gap.id.to_string()), ("notes", "1".to_owned()), ("notes", "1".to_owned())],
        "{delivered:#?}"
    );
    assert_eq!(delivered[2].payload["body"], "gap 2");
    // Still one slot: the second manager took over the first one's.
    assert_eq!(super::slots(&storehaus).await, ["restart"]);

    b.shutdown().await;
    second.close().await;
    emitting.shutdown().await;
    storehaus.close().await;
}

#[tokio::test]
async fn nothing_is_lost_or_repeated_when_the_connections_are_killed() {
    let Some((server, storehaus)) = logical_server().await else { return };
    execute(&storehaus, "CREATE TABLE notes (id int PRIMARY KEY, body text)").await;
    let manager = storehaus.signal_manager(logical("reconnect")).await.unwrap();
    let inbox = Inbox::attached(&manager);
    let mut outside = PgConnection::connect(&server.url()).await.unwrap();
    sqlx::query("INSERT INTO notes VALUES (1, 'before')").execute(&mut outside).await.unwrap();
    assert_eq!(inbox.after(0, Duration::from_secs(5)).await.len(), 1);

    // Every StoreHaus connection, the listener's included, is killed; writes go on meanwhile.
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'storehaus'",
    )
    .fetch_all(&mut outside)
    .await
    .unwrap();
    assert!(!killed.is_empty());
    for id in 2..=4 {
        sqlx::query("INSERT INTO notes VALUES ($1, 'during')").bind(id).execute(&mut outside).await.unwrap();
    }

    let events = inbox.settled_after(0, 4, QUIET).await;
    let keys: Vec<_> = events.iter().map(|e| e.record_id.as_str()).collect();
    assert_eq!(keys, ["1", "2", "3", "4"], "{events:#?}");
    assert!(manager.get_stats().listener_reconnects >= 1);

    outside.close().await.unwrap();
    manager.shutdown().await;
    storehaus.close().await;
}

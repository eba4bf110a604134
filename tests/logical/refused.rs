//! Refusals that change nothing: a server without `wal_level = logical`, bad slot names, and
//! SQLite.

use super::{logical, logical_server, slots};
use storehaus::prelude::*;
use storehaus::signals::SignalTransport;
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus_suite::pg;

/// Whether the database has the event-log table.
async fn has_event_log(storehaus: &StoreHaus) -> bool {
    sqlx::query_scalar("SELECT to_regclass('storehaus_events') IS NOT NULL").fetch_one(pg(storehaus)).await.unwrap()
}

#[tokio::test]
async fn a_server_without_logical_wal_refuses_clearly_and_creates_nothing() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let wal_level: String = sqlx::query_scalar("SHOW wal_level").fetch_one(pg(&storehaus)).await.unwrap();
    if wal_level == "logical" {
        eprintln!("the shared server has wal_level = logical: nothing to refuse there");
        return;
    }
    let slot_name = format!("storehaus_refused_{}", Uuid::new_v4().simple());
    let err = storehaus.signal_manager(logical(&slot_name)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unsupported { backend: "postgres", .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("wal_level = logical") && message.contains(&format!("wal_level = {wal_level}")),
        "{message}"
    );
    assert!(!slots(&storehaus).await.contains(&slot_name));
    assert!(!has_event_log(&storehaus).await, "the event log was created");
    storehaus.close().await;
}

#[tokio::test]
async fn bad_slot_names_are_refused_before_anything_is_created() {
    let Some((_server, storehaus)) = logical_server().await else { return };
    for bad in ["", "Upper", "dash-ed", "with space", "quote'name", "semi;colon", &"s".repeat(64)] {
        let err = storehaus.signal_manager(logical(bad)).await.unwrap_err();
        assert!(err.to_string().contains("signal.slot_name"), "{bad:?}: {err}");
    }
    assert!(slots(&storehaus).await.is_empty());
    assert!(!has_event_log(&storehaus).await, "the event log was created");

    let toml = "[signal]\ntransport = \"logical_decoding\"\nslot_name = \"Not-OK\"\n";
    let err = AppConfig::from_toml_str(toml).unwrap_err();
    assert!(err.to_string().contains("signal.slot_name"), "{err}");
    let config =
        AppConfig::from_toml_str("[signal]\ntransport = \"logical_decoding\"\nslot_name = \"ok_1\"\n").unwrap();
    let expected = SignalConfig {
        transport: SignalTransport::LogicalDecoding,
        slot_name: "ok_1".into(),
        ..SignalConfig::default()
    };
    assert_eq!(config.signal, expected);
    storehaus.close().await;
}

#[tokio::test]
async fn a_slot_of_another_plugin_is_not_taken_over() {
    let Some((_server, storehaus)) = logical_server().await else { return };
    sqlx::query("SELECT pg_create_logical_replication_slot('taken', 'pgoutput')")
        .execute(pg(&storehaus))
        .await
        .unwrap();
    let err = storehaus.signal_manager(logical("taken")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Config { key: Some(key), .. } if key == "signal.slot_name"), "{err:?}");
    assert!(err.to_string().contains("pgoutput"), "{err}");
    storehaus.close().await;
}

#[tokio::test]
async fn sqlite_has_no_logical_decoding() {
    let db = TestSqlite::new();
    let storehaus = db.storehaus().await;
    let err = storehaus.signal_manager(logical("any")).await.unwrap_err();
    assert!(matches!(err, StoreError::Unsupported { backend: "sqlite", .. }), "{err:?}");
    storehaus.close().await;
}

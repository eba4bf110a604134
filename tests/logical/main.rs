//! The logical-decoding transport of change signals (`transport = "logical_decoding"`): a
//! replication slot read in commit order, on a throwaway PostgreSQL started with
//! `wal_level = logical` ([`PgInstance`]); the shared server, without it, refuses the transport.
//!
//! Run with `cargo test --test logical -- --nocapture` to see the measured delays.

mod delivery;
mod latency;
mod refused;
mod restart;

use std::time::Duration;
use storehaus::prelude::*;
use storehaus::signals::SignalTransport;
use storehaus_suite::pg;
use storehaus_suite::pg_instance::PgInstance;

#[model]
#[table(name = "logical_items")]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    pub seq: i32,
}

pub(crate) fn item(name: &str, seq: i32) -> Item {
    Item::new(Uuid::new_v4(), name.into(), seq)
}

/// Settings of a manager reading the slot `slot_name`.
pub(crate) fn logical(slot_name: &str) -> SignalConfig {
    SignalConfig {
        transport: SignalTransport::LogicalDecoding,
        slot_name: slot_name.into(),
        heartbeat_seconds: 2,
        ..SignalConfig::default()
    }
}

/// A server with `wal_level = logical` and a [`StoreHaus`] on it, with the `logical_items`
/// table; `None` (skipped, loudly) when no server can be started and services are not required.
pub(crate) async fn logical_server() -> Option<(PgInstance, StoreHaus)> {
    let server = PgInstance::try_start(&[("wal_level", "logical"), ("max_replication_slots", "8")])?;
    let storehaus = StoreHaus::connect(&server.url()).await.expect("the instance accepts connections");
    storehaus.auto_migrate::<Item>(false).await.unwrap();
    Some((server, storehaus))
}

/// Runs one statement of the test's own SQL, with no parameters.
pub(crate) async fn execute(storehaus: &StoreHaus, sql: &'static str) {
    sqlx::query(sql).execute(pg(storehaus)).await.unwrap_or_else(|e| panic!("`{sql}` failed: {e}"));
}

/// The replication slots of the server, by name.
pub(crate) async fn slots(storehaus: &StoreHaus) -> Vec<String> {
    sqlx::query_scalar("SELECT slot_name::text FROM pg_replication_slots ORDER BY 1")
        .fetch_all(pg(storehaus))
        .await
        .unwrap()
}

/// How long a test waits for an event that must not come.
pub(crate) const QUIET: Duration = Duration::from_millis(700);

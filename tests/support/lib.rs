//! Helpers shared by the integration suites in `tests/`: the setup trait that runs a suite on
//! both backends, raw SQL checks, and PostgreSQL catalog queries.

use storehaus::StoreHaus;

mod backend;
pub mod fault_proxy;
pub mod inbox;
pub mod pg_instance;
pub mod query_input;
pub mod redis;
pub mod resp;

pub use backend::{TestBackend, raw, run_on};

/// The PostgreSQL pool behind `storehaus`.
pub fn pg(storehaus: &StoreHaus) -> &sqlx::PgPool {
    storehaus.pool().as_postgres().expect("these suites run on PostgreSQL")
}

/// Waits until `done` holds, looking every 10 ms for up to `limit`; returns how long it took,
/// `None` when it never did.
pub async fn time_until(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> Option<std::time::Duration> {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if done() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    None
}

/// Sessions of the database `pool` is connected to, other than the asking one, that sit inside an
/// open transaction with no statement running (`idle in transaction`, aborted or not).
pub async fn idle_in_transaction(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
    )
    .fetch_one(pool)
    .await
    .expect("pg_stat_activity is readable")
}

/// A column as `information_schema.columns` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationSchemaColumn {
    /// `column_name`
    pub name: String,
    /// `data_type`
    pub data_type: String,
    /// `udt_name`
    pub udt_name: String,
    /// `is_nullable`: `"YES"` or `"NO"`
    pub is_nullable: String,
    /// `column_default`
    pub default: Option<String>,
}

/// The columns of `table` in the current schema, in order.
pub async fn columns(storehaus: &StoreHaus, table: &str) -> Vec<InformationSchemaColumn> {
    let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text, udt_name::text, is_nullable::text, column_default::text
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(pg(storehaus))
    .await
    .expect("information_schema is readable");
    rows.into_iter()
        .map(|(name, data_type, udt_name, is_nullable, default)| InformationSchemaColumn {
            name,
            data_type,
            udt_name,
            is_nullable,
            default,
        })
        .collect()
}

/// The names of the columns of `table`.
pub async fn column_names(storehaus: &StoreHaus, table: &str) -> Vec<String> {
    columns(storehaus, table).await.into_iter().map(|c| c.name).collect()
}

/// The definitions (`pg_indexes.indexdef`) of the indexes of `table`.
pub async fn indexes(storehaus: &StoreHaus, table: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1")
        .bind(table)
        .fetch_all(pg(storehaus))
        .await
        .expect("pg_indexes is readable")
}

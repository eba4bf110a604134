//! The PostgreSQL backend: connections, type names, DDL, introspection, parameter binding.

mod ddl;
pub(crate) mod events;
mod introspect;
pub(crate) mod query;
pub(crate) mod record;
pub(crate) mod store;
pub(crate) mod types;
pub(crate) mod values;

use super::non_zero_seconds;
use crate::config::DatabaseConfig;
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{self, MigrateOptions, MigrationPlan, MigrationStep};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use std::time::Duration;

/// Opens a pool with the settings of `config`.
pub(crate) async fn connect(config: &DatabaseConfig) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::new()
        .host(&config.host)
        .port(config.port)
        .database(&config.database)
        .username(&config.username)
        .password(&config.password)
        .application_name("storehaus");
    let pool = PgPoolOptions::new()
        .min_connections(config.min_connections)
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(config.connection_timeout_seconds))
        .idle_timeout(non_zero_seconds(config.idle_timeout_seconds))
        .max_lifetime(non_zero_seconds(config.max_lifetime_seconds))
        .connect_with(options)
        .await?;
    tracing::debug!(url = %config.redacted_url(), "connected to PostgreSQL");
    Ok(pool)
}

pub(crate) use super::quote_ident;

/// The plan that would bring `table` in line with its model; runs nothing.
pub(crate) async fn plan(
    pool: &PgPool,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let mut conn = pool.acquire().await?;
    plan_on(&mut conn, table, options).await
}

/// Plans and applies the migration of `table` in one transaction, serialized across processes by an
/// advisory lock on the table name, so concurrent start-ups neither race nor fail.
pub(crate) async fn migrate(
    pool: &PgPool,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(migration_lock_key(table.name)).execute(&mut *tx).await?;
    let plan = plan_on(&mut tx, table, options).await?;
    for sql in plan.statements() {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    if !plan.is_empty() {
        tracing::info!(table = table.name, steps = plan.steps.len(), "migrated");
    }
    Ok(plan)
}

async fn plan_on(
    conn: &mut PgConnection,
    table: &TableDef,
    options: &MigrateOptions,
) -> Result<MigrationPlan, StoreError> {
    let existing = introspect::table_schema(conn, table.name).await?;
    let planned = schema::diff(table, existing.as_ref(), options, types::type_name)?;
    let steps = planned
        .iter()
        .map(|p| MigrationStep { change: p.change(types::type_name), sql: ddl::statement(table.name, p) })
        .collect();
    Ok(MigrationPlan { table: table.name.to_owned(), steps })
}

/// The advisory-lock key of migrations of `table`, the same in every process.
fn migration_lock_key(table: &str) -> i64 {
    i64::from_ne_bytes(schema::fnv1a(format!("storehaus:migrate:{table}").as_bytes()).to_ne_bytes())
}

/// Runs `SELECT 1` on a pooled connection.
pub(crate) async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

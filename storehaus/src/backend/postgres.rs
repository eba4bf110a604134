//! PostgreSQL, the reference backend: connections, value binding, DDL and introspection, the
//! event log with its `NOTIFY` doorbell, chunked batch writes and error codes. Its SQL spelling
//! is in `dialect.rs`.

mod batch;
mod data;
mod ddl;
mod dialect;
pub(crate) mod events;
mod introspect;
pub(crate) mod migrate;
pub(crate) mod row_security;
pub(crate) mod types;
pub(crate) mod values;

#[cfg(test)]
mod tests;

use super::{Backend, BatchStatements, Connection, Events, IsolationLevel, TransactionOptions};
use crate::config::DatabaseConfig;
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{MigrateOptions, MigrationPlan, Planned, TableSchema};
use crate::signals::{DatabaseEvent, EventSource, EventType};
use crate::types::{ColumnType, SqlType, Value};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use std::sync::Arc;
use std::time::Duration;

/// The PostgreSQL backend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Postgres;

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
        .idle_timeout(super::non_zero_seconds(config.idle_timeout_seconds))
        .max_lifetime(super::non_zero_seconds(config.max_lifetime_seconds))
        .connect_with(options)
        .await
        .map_err(Postgres::error)?;
    tracing::debug!(url = %config.redacted_url(), "connected to PostgreSQL");
    Ok(pool)
}

impl Backend for Postgres {
    type Database = sqlx::Postgres;
    type Arguments = PgArguments;
    type Row = PgRow;
    type Layout = ();

    const NAME: &'static str = "postgres";
    const DB_SYSTEM: &'static str = "postgresql";
    const EVENTS: Events = Events::InDatabase { publish: events::PUBLISH, mark_handled: events::MARK_HANDLED };
    /// Enough to amortize the round trip, few enough to keep each statement's arrays, and the
    /// server's memory for them, modest.
    const BATCH_ROWS: Option<usize> = Some(5_000);

    fn on_pool(pool: &PgPool) -> impl sqlx::Executor<'_, Database = sqlx::Postgres> {
        pool
    }

    fn on_connection(connection: &mut Connection<Self>) -> impl sqlx::Executor<'_, Database = sqlx::Postgres> {
        connection
    }

    async fn begin(
        pool: &PgPool,
        options: &TransactionOptions,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        pool.begin_with(begin_statement(options)).await.map_err(Postgres::error)
    }

    fn encode_param(args: &mut PgArguments, value: Value, ty: ColumnType) -> Result<(), StoreError> {
        values::bind(args, value, ty)
    }

    #[inline]
    fn read<T: SqlType>(row: &PgRow, index: usize) -> Result<T, String> {
        values::read(row, index)
    }

    fn read_value(row: &PgRow, index: usize, ty: ColumnType) -> Result<Value, String> {
        values::read_value(row, index, ty).map_err(|e| e.to_string())
    }

    /// Connection exceptions (08), serialization failure, deadlock, operator intervention (57P0x)
    /// and too many connections.
    fn transient_code(code: &str) -> bool {
        code.starts_with("08") || matches!(code, "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300")
    }

    /// `read_only_sql_transaction`.
    const READ_ONLY_CODE: &'static str = "25006";

    const CONCURRENT_INDEX_BUILDS: bool = true;

    async fn blocking_sessions(
        connection: &mut sqlx::PgConnection,
        tables: &[String],
        lock_timeout: Duration,
    ) -> Result<Vec<crate::BlockingSession>, sqlx::Error> {
        migrate::blocking_sessions(connection, tables, lock_timeout).await
    }

    async fn set_lock_timeout(connection: &mut sqlx::PgConnection, timeout: Duration) -> Result<(), StoreError> {
        migrate::set_lock_timeout(connection, timeout).await
    }

    async fn table_exists(connection: &mut sqlx::PgConnection, name: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT to_regclass(quote_ident($1)) IS NOT NULL")
            .bind(name)
            .fetch_one(connection)
            .await
            .map_err(Postgres::error)
    }

    async fn lock_migration_files(
        connection: &mut sqlx::pool::PoolConnection<sqlx::Postgres>,
        options: &MigrateOptions,
    ) -> Result<(), StoreError> {
        migrate::lock_migration_files(connection, options).await
    }

    /// Never called: the events of a write are in its own statement.
    fn row_events(_: &TableDef, _: EventType, _: &[PgRow]) -> Result<Vec<DatabaseEvent>, StoreError> {
        Ok(Vec::new())
    }

    async fn event_source(pool: &PgPool) -> Result<Arc<dyn EventSource>, StoreError> {
        events::ensure_event_log(pool).await?;
        Ok(Arc::new(events::PgEventSource::new(pool.clone())))
    }

    async fn introspect(
        connection: &mut Connection<Self>,
        table: &TableDef,
    ) -> Result<Option<(TableSchema, ())>, StoreError> {
        let schema = introspect::table_schema(connection, table.name).await.map_err(Postgres::error)?;
        Ok(schema.map(|schema| (schema, ())))
    }

    fn type_name(ty: ColumnType) -> String {
        types::type_name(ty)
    }

    fn ddl(table: &str, _: &mut (), planned: &Planned) -> Result<Option<String>, StoreError> {
        Ok(Some(ddl::statement(table, planned)))
    }

    fn batch_statements(
        table: &'static TableDef,
        emit: bool,
        shape: crate::query::ScopeShape,
    ) -> Result<BatchStatements, StoreError> {
        batch::statements(table, emit, shape)
    }

    fn scope_statement(scope: &crate::query::Scope) -> Result<Option<(super::sql::SqlText, PgArguments)>, StoreError> {
        row_security::scope_settings(scope.principals.as_deref(), scope.tenant.as_ref()).map(Some)
    }

    fn encode_column(args: &mut PgArguments, values: Vec<Value>, ty: ColumnType) -> Result<(), StoreError> {
        batch::bind_column(args, values, ty)
    }

    /// Serialized across processes by an advisory lock on the table name, so concurrent
    /// start-ups neither race nor fail; every statement waits for locks at most
    /// `options.lock_timeout`, retried within `options.lock_budget` (see `migrate.rs`). Foreign
    /// keys added `NOT VALID` are validated, and indexes on existing tables built
    /// `CONCURRENTLY`, after the transaction commits, each in a statement of its own: their locks
    /// let reads and writes go on. A validation that fails leaves the key in place, unvalidated;
    /// the next migration validates it.
    async fn migrate(pool: &PgPool, table: &TableDef, options: &MigrateOptions) -> Result<MigrationPlan, StoreError> {
        migrate::migrate(pool, table, options).await
    }
}

/// The `BEGIN` of a transaction with `options`: every combination is a fixed text.
fn begin_statement(options: &TransactionOptions) -> &'static str {
    use IsolationLevel::{ReadCommitted, RepeatableRead, Serializable};
    match (options.isolation_level(), options.is_read_only()) {
        (None, false) => "BEGIN",
        (None, true) => "BEGIN READ ONLY",
        (Some(ReadCommitted), false) => "BEGIN ISOLATION LEVEL READ COMMITTED",
        (Some(ReadCommitted), true) => "BEGIN ISOLATION LEVEL READ COMMITTED, READ ONLY",
        (Some(RepeatableRead), false) => "BEGIN ISOLATION LEVEL REPEATABLE READ",
        (Some(RepeatableRead), true) => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        (Some(Serializable), false) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        (Some(Serializable), true) => "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY",
    }
}

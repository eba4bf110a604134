//! The embedded SQLite backend: the zero-setup default. Same models, stores and guarantees as
//! PostgreSQL within one process; what it lacks is listed in `docs/backends.md` and refused with
//! `StoreError::Unsupported`. Its SQL spelling is in `dialect.rs`.
//!
//! Change events are delivered in-process: writes build them from the rows they return and hand
//! them to the pool's log after commit (never on rollback).

mod data;
mod ddl;
mod dialect;
mod durable;
mod events;
mod introspect;
mod migrate;
pub(crate) mod types;
pub(crate) mod values;

#[cfg(test)]
mod tests;

use super::executor::Db;
use super::{Backend, Connection, DurableLog, Events, TransactionOptions};
use crate::config::DatabaseConfig;
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{MigrateOptions, MigrationPlan, Planned, TableSchema};
use crate::signals::{DatabaseEvent, EventSource, EventType, MemorySource};
use crate::types::{ColumnType, SqlType, Value};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The SQLite backend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sqlite;

/// The path that names a database living in memory for as long as its pool.
pub(crate) const MEMORY: &str = ":memory:";

/// Opens the database at `path` (created if missing; `:memory:` for one in memory).
///
/// Files use write-ahead logging, so readers never wait for a writer; writers wait for each other
/// up to the connection timeout. An in-memory database is shared by the pool's connections and
/// lives until the pool closes, so its connections are never retired.
pub(crate) async fn connect(path: &str, config: &DatabaseConfig) -> Result<SqlitePool, StoreError> {
    let timeout = Duration::from_secs(config.connection_timeout_seconds);
    let mut pool = SqlitePoolOptions::new().max_connections(config.max_connections).acquire_timeout(timeout);
    let options = if path == MEMORY {
        pool = pool.min_connections(config.min_connections.max(1)).idle_timeout(None).max_lifetime(None);
        SqliteConnectOptions::from_str("sqlite::memory:").map_err(Sqlite::error)?
    } else {
        pool = pool
            .min_connections(config.min_connections)
            .idle_timeout(super::non_zero_seconds(config.idle_timeout_seconds))
            .max_lifetime(super::non_zero_seconds(config.max_lifetime_seconds));
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    let options = options.busy_timeout(timeout).foreign_keys(true);
    let pool = pool.connect_with(options).await.map_err(Sqlite::error)?;
    tracing::debug!(path, "opened SQLite database");
    Ok(pool)
}

impl Backend for Sqlite {
    type Database = sqlx::Sqlite;
    type Arguments = SqliteArguments;
    type Row = SqliteRow;
    type Layout = migrate::Planning;

    const NAME: &'static str = "sqlite";
    const DB_SYSTEM: &'static str = "sqlite";
    const EVENTS: Events = Events::InProcess;
    const DURABLE_LOG: Option<DurableLog> = Some(durable::DURABLE_LOG);

    fn in_process_source(db: &Db<Self>, log: Arc<MemorySource>) -> Arc<dyn EventSource> {
        Arc::new(durable::SqliteEventSource::new(db.clone(), log))
    }

    fn on_pool(pool: &SqlitePool) -> impl sqlx::Executor<'_, Database = sqlx::Sqlite> {
        pool
    }

    fn on_connection(connection: &mut Connection<Self>) -> impl sqlx::Executor<'_, Database = sqlx::Sqlite> {
        connection
    }

    /// A transaction that holds the write lock from its first statement, so two transactions never
    /// deadlock upgrading from read to write. SQLite transactions are serializable, whatever
    /// isolation level `options` asks for. A read-only one never writes, so it starts deferred
    /// (without the write lock) and the connection refuses writes (`PRAGMA query_only`) until it
    /// ends.
    ///
    /// Waits at most the pool's acquire timeout for the lock: a file database's busy timeout
    /// bounds that wait, but an in-memory database's shared-cache lock would wait forever.
    async fn begin(
        pool: &SqlitePool,
        options: &TransactionOptions,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        let timeout = pool.options().get_acquire_timeout();
        let statement = if options.is_read_only() { "BEGIN DEFERRED" } else { "BEGIN IMMEDIATE" };
        let mut tx = tokio::time::timeout(timeout, pool.begin_with(statement))
            .await
            .map_err(|_| StoreError::Timeout("waiting for the SQLite write lock".into()))?
            .map_err(Sqlite::error)?;
        if options.is_read_only() {
            // Dropping `tx` on failure rolls back; the setting was not made.
            sqlx::raw_sql("PRAGMA query_only = ON").execute(&mut *tx).await.map_err(Sqlite::error)?;
        }
        Ok(tx)
    }

    fn end_statement(options: &TransactionOptions) -> Option<&'static str> {
        options.is_read_only().then_some("PRAGMA query_only = OFF")
    }

    fn encode_param(args: &mut SqliteArguments, value: Value, ty: ColumnType) -> Result<(), StoreError> {
        values::bind(args, value, ty)
    }

    fn read<T: SqlType>(row: &SqliteRow, index: usize) -> Result<T, String> {
        let value = values::read_value(row, index, T::COLUMN_TYPE)?;
        T::from_value(value).map_err(|e| e.to_string())
    }

    fn read_value(row: &SqliteRow, index: usize, ty: ColumnType) -> Result<Value, String> {
        values::read_value(row, index, ty)
    }

    /// Result codes (SQLite's codes are numbers): a busy or locked database.
    fn transient_code(code: &str) -> bool {
        matches!(code, "5" | "6" | "261" | "517" | "262")
    }

    /// `SQLITE_READONLY`.
    const READ_ONLY_CODE: &'static str = "8";

    async fn table_exists(connection: &mut sqlx::SqliteConnection, name: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1)")
            .bind(name)
            .fetch_one(connection)
            .await
            .map_err(Sqlite::error)
    }

    /// The write lock first: a second process applying the same files waits here, then finds
    /// the file recorded.
    const MIGRATION_BEGIN: &'static str = "BEGIN IMMEDIATE";

    fn row_events(table: &TableDef, kind: EventType, rows: &[SqliteRow]) -> Result<Vec<DatabaseEvent>, StoreError> {
        events::row_events(table, kind, rows)
    }

    async fn introspect(
        connection: &mut Connection<Self>,
        table: &TableDef,
    ) -> Result<Option<(TableSchema, migrate::Planning)>, StoreError> {
        let existing = introspect::table_schema(connection, table).await.map_err(Sqlite::error)?;
        Ok(existing.map(|(schema, layout)| (schema, migrate::Planning { layout, now: chrono::Utc::now() })))
    }

    fn type_name(ty: ColumnType) -> String {
        types::type_name(ty)
    }

    /// SQLite cannot index the elements of a JSON array, so the GIN index of `__tags__` has no
    /// equivalent: it is left out of every plan, so it is never missing either.
    fn ddl(table: &str, planning: &mut migrate::Planning, planned: &Planned) -> Result<Option<String>, StoreError> {
        match planned {
            Planned::CreateIndex(index) if index.inverted => Ok(None),
            planned => ddl::statement(table, &mut planning.layout, planned, planning.now).map(Some),
        }
    }

    async fn migrate(
        pool: &SqlitePool,
        table: &TableDef,
        options: &MigrateOptions,
    ) -> Result<MigrationPlan, StoreError> {
        migrate::migrate(pool, table, options).await
    }
}

/// The error for something SQLite cannot do that PostgreSQL can (each is listed in
/// `docs/backends.md`).
pub(crate) fn unsupported(operation: impl Into<std::borrow::Cow<'static, str>>) -> StoreError {
    StoreError::Unsupported { backend: "sqlite", operation: operation.into() }
}

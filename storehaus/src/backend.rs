//! The database seam: everything that differs between database systems lives in this module.
//!
//! [`DbPool`] is the handle the rest of StoreHaus uses, and the one place that looks at which
//! database it holds. Below it everything is written once over the `Backend` trait: the
//! executor that runs statements on a pool or a transaction (`executor.rs`), the operations a
//! store runs on its table (`table/`), migrations (`migrate.rs`), and the SQL writer (`sql/`),
//! which asks the backend's `Dialect` for what is spelled differently. What really
//! differs is a small module per database: `postgres/` and `sqlite/`.

pub(crate) mod data;
mod error;
mod executor;
pub(crate) mod migrate;
mod pool;
pub(crate) mod postgres;
mod related;
pub(crate) mod sql;
pub(crate) mod sqlite;
mod table;
mod tx;

pub(crate) use executor::TxHandle;
pub use pool::DbPool;
pub(crate) use related::{JoinedQuery, RelatedQuery};
pub(crate) use table::{Cx, Table, TagEdit};
pub use tx::{IsolationLevel, TransactionOptions};

use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{MigrateOptions, MigrationPlan, Planned, TableSchema};
use crate::signals::{DatabaseEvent, EventSource, EventType};
use crate::types::{ColumnType, SqlType, Value, check_storable};
use sql::{Dialect, SqlText};
use std::future::Future;
use std::sync::Arc;

/// Scopes the current transaction of a PostgreSQL connection to `scope`, for hand-written SQL on
/// `row_security` tables: the settings their policies read, local to the transaction.
pub(crate) async fn scope_pg_connection(
    conn: &mut sqlx::PgConnection,
    scope: &crate::query::Scope,
) -> Result<(), StoreError> {
    let Some((sql, args)) = postgres::Postgres::scope_statement(scope)? else { return Ok(()) };
    sqlx::query_with(sql.into_sqlx(), args).execute(conn).await.map_err(postgres::Postgres::error)?;
    Ok(())
}

/// A database system StoreHaus runs on, in the style of `sqlx::Database`: its sqlx driver with its
/// argument and row types, how values are bound and read, how transactions start, where change
/// events are recorded, and how the schema is read and changed. The SQL it speaks is its
/// [`Dialect`].
pub(crate) trait Backend: Dialect + Sized + Send + Sync + 'static {
    /// The sqlx driver.
    type Database: sqlx::Database<Arguments = Self::Arguments, Row = Self::Row>;
    /// Bound parameters of one statement.
    type Arguments: sqlx::Arguments<Database = Self::Database> + sqlx::IntoArguments<Self::Database> + Default;
    /// One row of a result.
    type Row: sqlx::Row<Database = Self::Database>;
    /// What migrations know of an existing table besides its [`TableSchema`] (SQLite: the
    /// layout a table rebuild reproduces).
    type Layout: Default + Send;

    /// The backend's name, as [`DbPool::backend_name`] gives it.
    const NAME: &'static str;
    /// The OpenTelemetry `db.system` of the backend.
    const DB_SYSTEM: &'static str;
    /// Where change events are recorded.
    const EVENTS: Events;

    /// The pool as a sqlx executor.
    fn on_pool(pool: &sqlx::Pool<Self::Database>) -> impl sqlx::Executor<'_, Database = Self::Database>;

    /// A connection as a sqlx executor.
    fn on_connection(connection: &mut Connection<Self>) -> impl sqlx::Executor<'_, Database = Self::Database>;

    /// Starts a transaction on a connection of `pool`, with `options` as this database can
    /// honour them.
    fn begin(
        pool: &sqlx::Pool<Self::Database>,
        options: &TransactionOptions,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Database>, StoreError>> + Send;

    /// The statement that undoes what [`begin`](Self::begin) set on the connection for
    /// `options`, run before the transaction ends; `None` when the transaction's own end is enough.
    fn end_statement(_options: &TransactionOptions) -> Option<&'static str> {
        None
    }

    /// Adds `value` to `args` as a parameter of column type `ty`, once the checks every backend
    /// shares have passed: a date or time outside [`STORABLE_YEARS`](crate::types::STORABLE_YEARS)
    /// is `Validation`.
    fn bind(args: &mut Self::Arguments, value: Value, ty: ColumnType) -> Result<(), StoreError> {
        storable(&value)?;
        Self::encode_param(args, value, ty)
    }

    /// This backend's encoding of a parameter [`bind`](Self::bind) has checked.
    fn encode_param(args: &mut Self::Arguments, value: Value, ty: ColumnType) -> Result<(), StoreError>;

    /// Decodes column `index` of `row` as a field of type `T`.
    fn read<T: SqlType>(row: &Self::Row, index: usize) -> Result<T, String>;

    /// Decodes column `index` of `row` as a value of column type `ty`.
    fn read_value(row: &Self::Row, index: usize, ty: ColumnType) -> Result<Value, String>;

    /// Whether a database error code means that retrying the same call may succeed.
    fn transient_code(code: &str) -> bool;

    /// The error code of a write refused because the transaction (or database) is read-only.
    const READ_ONLY_CODE: &'static str;

    /// The change events of a write that returned `rows` (laid out as the record columns of
    /// `table`), for backends that record events in this process ([`Events::InProcess`]).
    fn row_events(table: &TableDef, kind: EventType, rows: &[Self::Row]) -> Result<Vec<DatabaseEvent>, StoreError>;

    /// The durable copy of this backend's in-process event log, if it keeps one.
    const DURABLE_LOG: Option<DurableLog> = None;

    /// The event source of a pool whose events go to the in-process `log`: the log itself, or
    /// for a backend with a [`DurableLog`], the log with the durable consumers of the database.
    fn in_process_source(_db: &executor::Db<Self>, log: Arc<crate::signals::MemorySource>) -> Arc<dyn EventSource> {
        log
    }

    /// The event log in the database, created if missing, as a source for a signal manager
    /// ([`Events::InDatabase`]; an in-process log belongs to the pool).
    fn event_source(
        _pool: &sqlx::Pool<Self::Database>,
    ) -> impl Future<Output = Result<Arc<dyn EventSource>, StoreError>> + Send {
        async { Err(StoreError::Unsupported { backend: Self::NAME, operation: "an event log in the database".into() }) }
    }

    /// Whether an index can be built on a table without blocking its writes, after the
    /// migration's transaction (PostgreSQL's `CREATE INDEX CONCURRENTLY`).
    const CONCURRENT_INDEX_BUILDS: bool = false;

    /// The sessions holding locks on `tables` that a migration statement waited for (or, when
    /// none does, transactions open for longer than `lock_timeout`); empty where statements never
    /// time out on locks.
    fn blocking_sessions(
        _connection: &mut Connection<Self>,
        _tables: &[String],
        _lock_timeout: std::time::Duration,
    ) -> impl Future<Output = Result<Vec<crate::BlockingSession>, sqlx::Error>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Takes the lock that serializes runs of migration files across processes, held until
    /// `connection` closes (which it then does instead of going back to the pool), and sets the
    /// lock timeout of `options`. Backends whose file transactions take a database-wide write lock
    /// first (SQLite's `BEGIN IMMEDIATE`) need nothing more.
    fn lock_migration_files(
        _connection: &mut sqlx::pool::PoolConnection<Self::Database>,
        _options: &MigrateOptions,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }

    /// Sets how long the statements that follow on `connection` wait for a lock; nothing where
    /// lock waits have no timeout of their own.
    fn set_lock_timeout(
        _connection: &mut Connection<Self>,
        _timeout: std::time::Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }

    /// Whether a table named `name` exists (where unqualified names resolve).
    fn table_exists(
        connection: &mut Connection<Self>,
        name: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The statement that begins the transaction of a migration file.
    const MIGRATION_BEGIN: &'static str = "BEGIN";

    /// What the database says of `table`; `None` when it does not exist.
    fn introspect(
        connection: &mut Connection<Self>,
        table: &TableDef,
    ) -> impl Future<Output = Result<Option<(TableSchema, Self::Layout)>, StoreError>> + Send;

    /// How this backend spells a column type in DDL and in what introspection reports.
    fn type_name(ty: ColumnType) -> String;

    /// The statement of one planned change to `table`, or `None` for a change this backend has
    /// no equivalent of; `layout` describes the table before the change and after.
    fn ddl(table: &str, layout: &mut Self::Layout, planned: &Planned) -> Result<Option<String>, StoreError>;

    /// The statement that tells a transaction's connection the access scope of the calls that
    /// follow (for `row_security` tables), or `None` where the database has no such policies.
    fn scope_statement(_scope: &crate::query::Scope) -> Result<Option<(SqlText, Self::Arguments)>, StoreError> {
        Ok(None)
    }

    /// Rows a batch statement writes at once ([`BatchStatements`]); `None`: batches run row by
    /// row through the per-call statements, in one transaction.
    const BATCH_ROWS: Option<usize> = None;

    /// The statements of chunked batch writes (backends with [`Backend::BATCH_ROWS`]).
    fn batch_statements(
        table: &'static TableDef,
        _emit: bool,
        _shape: crate::query::ScopeShape,
    ) -> Result<BatchStatements, StoreError> {
        Err(StoreError::Unsupported {
            backend: Self::NAME,
            operation: format!("chunked batch writes of `{}`", table.name).into(),
        })
    }

    /// Adds one column of a chunk to `args`, as a batch statement takes it, after the checks of
    /// [`bind`](Self::bind).
    fn bind_column(args: &mut Self::Arguments, values: Vec<Value>, ty: ColumnType) -> Result<(), StoreError> {
        values.iter().try_for_each(storable)?;
        Self::encode_column(args, values, ty)
    }

    /// This backend's encoding of a chunk's column [`bind_column`](Self::bind_column) has checked.
    fn encode_column(_args: &mut Self::Arguments, _values: Vec<Value>, _ty: ColumnType) -> Result<(), StoreError> {
        Err(StoreError::Unsupported { backend: Self::NAME, operation: "chunked batch writes".into() })
    }

    /// A driver error as a [`StoreError`], its code read with this backend's table.
    fn error(error: sqlx::Error) -> StoreError {
        error::from_sqlx(error, Self::transient_code, Self::READ_ONLY_CODE)
    }

    /// Plans and applies the migration of `table` in one transaction, serialized with the
    /// migrations of other connections and processes.
    fn migrate(
        pool: &sqlx::Pool<Self::Database>,
        table: &TableDef,
        options: &MigrateOptions,
    ) -> impl Future<Output = Result<MigrationPlan, StoreError>> + Send;
}

/// The statements of chunked batch writes, each taking one array parameter per column.
#[derive(Debug, Clone)]
pub(crate) struct BatchStatements {
    /// The tags of every row, then the create columns.
    pub insert: SqlText,
    /// `insert` skipping rows that conflict on any unique constraint or the key (`[0]`), or on
    /// the key only (`[1]`); the skipped rows are not returned.
    pub insert_or_ignore: [SqlText; 2],
    /// The keys, then the update columns; `[1]` also sets the tags, given first.
    pub update: [SqlText; 2],
    /// The keys; `Err` when the key cannot be matched this way.
    pub delete: Result<SqlText, StoreError>,
}

/// Where a backend records change events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Events {
    /// In the database's event log, by the write's own statement (so in its transaction); every
    /// process connected to the database reads them. `publish` appends an application event:
    /// `$1` the channel, `$2` the payload. `mark_handled` records that a durable consumer handled
    /// an event (`$1` the consumer, `$2` the event id), returning a row only the first time.
    InDatabase { publish: &'static str, mark_handled: &'static str },
    /// Built from the rows a write returns and handed to this process's log after commit.
    InProcess,
}

/// The statements of a durable copy of an in-process event log ([`Events::InProcess`]), written
/// in the write's transaction once durable consumers exist in the database (SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DurableLog {
    /// Returns a row when the database has the durable log.
    pub(crate) exists: &'static str,
    /// Appends events: `$1` a JSON array of [`DatabaseEvent`]s, in order.
    pub(crate) append: &'static str,
    /// As [`Events::InDatabase`]'s `mark_handled`.
    pub(crate) mark_handled: &'static str,
}

/// A pool timeout from its setting in seconds; zero means "no limit" in the configuration.
fn non_zero_seconds(seconds: u64) -> Option<std::time::Duration> {
    (seconds > 0).then(|| std::time::Duration::from_secs(seconds))
}

/// A connection of `B`.
pub(crate) type Connection<B> = <<B as Backend>::Database as sqlx::Database>::Connection;

/// Refuses a value no backend can store and read back ([`check_storable`]).
fn storable(value: &Value) -> Result<(), StoreError> {
    check_storable(value).map_err(|message| StoreError::Validation { field: None, message })
}

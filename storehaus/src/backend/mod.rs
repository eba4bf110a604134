//! The database seam: everything that differs between database systems lives below this folder.
//!
//! [`DbPool`] is the handle the rest of StoreHaus uses; it dispatches to the backend the
//! configuration chose: PostgreSQL (`postgres::`) or the embedded SQLite (`sqlite::`). No other
//! module looks at which one it is.

mod layout;
mod ops;
mod ops_batch;
mod outcome;
pub(crate) mod postgres;
pub(crate) mod sqlite;

pub(crate) use ops::{ModelStatements, Ops, TagEdit, TxState};

use crate::config::DatabaseConfig;
use crate::error::StoreError;
use crate::model::TableDef;
use crate::schema::{MigrateOptions, MigrationPlan};
use std::fmt;

/// A pool of database connections, cheap to clone.
#[derive(Clone)]
pub struct DbPool {
    inner: Pool,
}

#[derive(Clone)]
enum Pool {
    Postgres(sqlx::PgPool),
    Sqlite(sqlite::SqliteDb),
}

impl DbPool {
    /// Opens a pool for `config`: SQLite when it names a SQLite database, PostgreSQL otherwise.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        config.validate()?;
        let inner = match &config.sqlite {
            Some(path) => Pool::Sqlite(sqlite::SqliteDb::connect(path, config).await?),
            None => Pool::Postgres(postgres::connect(config).await?),
        };
        Ok(DbPool { inner })
    }

    /// Wraps a PostgreSQL pool the application already has.
    pub fn from_postgres(pool: sqlx::PgPool) -> Self {
        DbPool { inner: Pool::Postgres(pool) }
    }

    /// Wraps a SQLite pool the application already has. Change events of its stores are
    /// delivered in this process only.
    pub fn from_sqlite(pool: sqlx::SqlitePool) -> Self {
        DbPool { inner: Pool::Sqlite(sqlite::SqliteDb::new(pool)) }
    }

    /// The underlying PostgreSQL pool, for queries StoreHaus does not cover.
    pub fn as_postgres(&self) -> Option<&sqlx::PgPool> {
        match &self.inner {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }

    /// The underlying SQLite pool, for queries StoreHaus does not cover.
    pub fn as_sqlite(&self) -> Option<&sqlx::SqlitePool> {
        match &self.inner {
            Pool::Postgres(_) => None,
            Pool::Sqlite(db) => Some(db.pool()),
        }
    }

    /// The backend's name: `"postgres"` or `"sqlite"`.
    pub fn backend_name(&self) -> &'static str {
        match &self.inner {
            Pool::Postgres(_) => "postgres",
            Pool::Sqlite(_) => "sqlite",
        }
    }

    /// The OpenTelemetry `db.system` name of the backend: `"postgresql"` or `"sqlite"`.
    pub fn db_system(&self) -> &'static str {
        match &self.inner {
            Pool::Postgres(_) => "postgresql",
            Pool::Sqlite(_) => "sqlite",
        }
    }

    /// Whether change events reach other processes (PostgreSQL) or only this one (SQLite).
    pub fn signals_cross_process(&self) -> bool {
        matches!(self.inner, Pool::Postgres(_))
    }

    /// Connections currently open, and of those, idle.
    pub fn connections(&self) -> (u32, usize) {
        match &self.inner {
            Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
            Pool::Sqlite(db) => (db.pool().size(), db.pool().num_idle()),
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => postgres::ping(pool).await,
            Pool::Sqlite(db) => db.ping().await,
        }
    }

    /// Closes every connection; waits for checked-out ones to return.
    pub async fn close(&self) {
        match &self.inner {
            Pool::Postgres(pool) => close_pool(pool).await,
            Pool::Sqlite(db) => close_pool(db.pool()).await,
        }
    }

    /// The per-call statements of the model stored in `table`; with `emit`, writes also append
    /// their change events to the event log.
    pub(crate) fn statements(&self, table: &'static TableDef, emit: bool) -> ModelStatements {
        match &self.inner {
            Pool::Postgres(_) => ModelStatements::Postgres(postgres::store::Statements::new(table, emit)),
            Pool::Sqlite(_) => ModelStatements::Sqlite(sqlite::store::Statements::new(table, emit)),
        }
    }

    /// The event log of this database, created if missing, as a source for a signal manager.
    pub async fn event_source(&self) -> Result<std::sync::Arc<dyn crate::signals::EventSource>, StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => {
                postgres::events::ensure_event_log(pool).await?;
                Ok(std::sync::Arc::new(postgres::events::PgEventSource::new(pool.clone())))
            }
            Pool::Sqlite(db) => Ok(db.events()),
        }
    }

    /// Starts a transaction on one connection of the pool.
    pub(crate) async fn begin(&self) -> Result<TxState, StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => Ok(TxState::Postgres(postgres::store::TxCell::new(pool.begin().await?))),
            Pool::Sqlite(db) => Ok(TxState::Sqlite(db.begin().await?)),
        }
    }

    pub(crate) async fn plan(&self, table: &TableDef, options: &MigrateOptions) -> Result<MigrationPlan, StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => postgres::plan(pool, table, options).await,
            Pool::Sqlite(db) => sqlite::plan(db.pool(), table, options).await,
        }
    }

    pub(crate) async fn migrate(
        &self,
        table: &TableDef,
        options: &MigrateOptions,
    ) -> Result<MigrationPlan, StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => postgres::migrate(pool, table, options).await,
            Pool::Sqlite(db) => sqlite::migrate(db.pool(), table, options).await,
        }
    }
}

/// A pool timeout from its setting in seconds; zero means "no limit" in the configuration.
fn non_zero_seconds(seconds: u64) -> Option<std::time::Duration> {
    (seconds > 0).then(|| std::time::Duration::from_secs(seconds))
}

/// A double-quoted identifier (inner quotes doubled), for the few SQL fragments the statement
/// builders cannot make; names come from model metadata. Both dialects quote alike.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl fmt::Debug for DbPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, idle) = self.connections();
        f.debug_struct("DbPool")
            .field("backend", &self.backend_name())
            .field("size", &size)
            .field("idle", &idle)
            .finish()
    }
}

/// Closes `pool` and every connection it holds.
///
/// sqlx's `Pool::close` stops after waiting for the last checked-out connection, so a connection
/// that came back to the idle queue during that wait stays open (and its server session alive)
/// until the pool is dropped. Each further pass closes such stragglers; once nothing is checked
/// out, which the first pass waited for, one more pass suffices.
async fn close_pool<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) {
    pool.close().await;
    while pool.size() > 0 {
        pool.close().await;
        tokio::task::yield_now().await;
    }
}

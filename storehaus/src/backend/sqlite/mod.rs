//! The embedded SQLite backend: the zero-setup default. Same models, stores and guarantees as
//! PostgreSQL within one process; what it lacks is listed in `docs/backends.md` and refused with
//! `StoreError::Unsupported`.
//!
//! Change events are delivered in-process: writes collect them and hand them to a
//! [`MemorySource`] after commit (never on rollback).

mod ddl;
mod events;
mod introspect;
mod migrate;
pub(crate) mod query;
pub(crate) mod record;
pub(crate) mod store;
pub(crate) mod types;
pub(crate) mod values;

pub(crate) use migrate::{migrate, plan};

#[cfg(test)]
mod tests;

use super::non_zero_seconds;
use crate::config::DatabaseConfig;
use crate::error::StoreError;
use crate::signals::{EventSource, MemorySource};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The path that names a database living in memory for as long as its pool.
pub(crate) const MEMORY: &str = ":memory:";

/// A SQLite pool and the in-process log its change events go to.
#[derive(Clone, Debug)]
pub(crate) struct SqliteDb {
    pool: SqlitePool,
    log: Arc<MemorySource>,
    /// How long `begin` waits for the write lock.
    lock_timeout: Duration,
}

impl SqliteDb {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        let lock_timeout = pool.options().get_acquire_timeout();
        SqliteDb { pool, log: Arc::new(MemorySource::new()), lock_timeout }
    }

    /// Opens the database at `path` (created if missing; `:memory:` for one in memory).
    ///
    /// Files use write-ahead logging, so readers never wait for a writer; writers wait for each
    /// other up to the connection timeout. An in-memory database is shared by the pool's
    /// connections and lives until the pool closes, so its connections are never retired.
    pub(crate) async fn connect(path: &str, config: &DatabaseConfig) -> Result<Self, StoreError> {
        let timeout = Duration::from_secs(config.connection_timeout_seconds);
        let mut pool = SqlitePoolOptions::new().max_connections(config.max_connections).acquire_timeout(timeout);
        let options = if path == MEMORY {
            pool = pool.min_connections(config.min_connections.max(1)).idle_timeout(None).max_lifetime(None);
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else {
            pool = pool
                .min_connections(config.min_connections)
                .idle_timeout(non_zero_seconds(config.idle_timeout_seconds))
                .max_lifetime(non_zero_seconds(config.max_lifetime_seconds));
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        let options = options.busy_timeout(timeout).foreign_keys(true);
        let pool = pool.connect_with(options).await?;
        tracing::debug!(path, "opened SQLite database");
        Ok(SqliteDb::new(pool))
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The in-process event log, as a signal manager's source.
    pub(crate) fn events(&self) -> Arc<dyn EventSource> {
        self.log.clone()
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Starts a transaction that holds the write lock from its first statement, so two
    /// transactions never deadlock upgrading from read to write.
    ///
    /// Waits at most the connection timeout for the lock: a file database's busy timeout bounds
    /// that wait, but an in-memory database's shared-cache lock would wait forever.
    pub(crate) async fn begin(&self) -> Result<store::TxCell, StoreError> {
        let begin = self.pool.begin_with("BEGIN IMMEDIATE");
        let tx = tokio::time::timeout(self.lock_timeout, begin)
            .await
            .map_err(|_| StoreError::Timeout("waiting for the SQLite write lock".into()))??;
        Ok(store::TxCell::new(tx, self.log.clone()))
    }
}

/// The error for something SQLite cannot do that PostgreSQL can (each is listed in
/// `docs/backends.md`).
pub(crate) fn unsupported(operation: impl Into<std::borrow::Cow<'static, str>>) -> StoreError {
    StoreError::Unsupported { backend: "sqlite", operation: operation.into() }
}

//! The database seam: everything that differs between database systems lives below this folder.
//!
//! [`DbPool`] is the handle the rest of StoreHaus uses; it dispatches to the backend the
//! configuration chose. Only PostgreSQL exists today.

mod ops;
mod ops_batch;
pub(crate) mod postgres;

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
}

impl DbPool {
    /// Opens a pool for `config`.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        config.validate()?;
        Ok(DbPool { inner: Pool::Postgres(postgres::connect(config).await?) })
    }

    /// Wraps a PostgreSQL pool the application already has.
    pub fn from_postgres(pool: sqlx::PgPool) -> Self {
        DbPool { inner: Pool::Postgres(pool) }
    }

    /// The underlying PostgreSQL pool, for queries StoreHaus does not cover.
    pub fn as_postgres(&self) -> Option<&sqlx::PgPool> {
        match &self.inner {
            Pool::Postgres(pool) => Some(pool),
        }
    }

    /// The backend's name: `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match &self.inner {
            Pool::Postgres(_) => "postgres",
        }
    }

    /// The OpenTelemetry `db.system` name of the backend: `"postgresql"`.
    pub fn db_system(&self) -> &'static str {
        match &self.inner {
            Pool::Postgres(_) => "postgresql",
        }
    }

    /// Connections currently open, and of those, idle.
    pub fn connections(&self) -> (u32, usize) {
        match &self.inner {
            Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => postgres::ping(pool).await,
        }
    }

    /// Closes every connection; waits for checked-out ones to return.
    pub async fn close(&self) {
        match &self.inner {
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// The PostgreSQL pool (the only backend so far).
    pub(crate) fn postgres(&self) -> &sqlx::PgPool {
        match &self.inner {
            Pool::Postgres(pool) => pool,
        }
    }

    /// The per-call statements of the model stored in `table`; with `emit`, writes also append
    /// their change events to the event log.
    pub(crate) fn statements(&self, table: &'static TableDef, emit: bool) -> ModelStatements {
        match &self.inner {
            Pool::Postgres(_) => ModelStatements::Postgres(postgres::store::Statements::new(table, emit)),
        }
    }

    /// The event log of this database, created if missing, as a source for a signal manager.
    pub async fn event_source(&self) -> Result<std::sync::Arc<dyn crate::signals::EventSource>, StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => {
                postgres::events::ensure_event_log(pool).await?;
                Ok(std::sync::Arc::new(postgres::events::PgEventSource::new(pool.clone())))
            }
        }
    }

    /// Starts a transaction on one connection of the pool.
    pub(crate) async fn begin(&self) -> Result<TxState, StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => Ok(TxState::Postgres(postgres::store::TxCell::new(pool.begin().await?))),
        }
    }

    pub(crate) async fn plan(&self, table: &TableDef, options: &MigrateOptions) -> Result<MigrationPlan, StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => postgres::plan(pool, table, options).await,
        }
    }

    pub(crate) async fn migrate(
        &self,
        table: &TableDef,
        options: &MigrateOptions,
    ) -> Result<MigrationPlan, StoreError> {
        match &self.inner {
            Pool::Postgres(pool) => postgres::migrate(pool, table, options).await,
        }
    }
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

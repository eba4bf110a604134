//! [`DbPool`]: the one place that tells the backends apart.

use super::executor::{Db, TxCell, TxHandle};
use super::postgres::{self, Postgres};
use super::sqlite::{self, Sqlite};
use super::table::{BackendTable, Table};
use super::{Backend, TransactionOptions, migrate};
use crate::config::DatabaseConfig;
use crate::error::StoreError;
use crate::model::{Model, TableDef};
use crate::resilience::{RateLimits, RetryCounters, RetryPolicy, RetryStats};
use crate::schema::{MigrateOptions, MigrationPlan};
use crate::signals::EventSource;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// A pool of database connections, cheap to clone: PostgreSQL or the embedded SQLite.
///
/// Clones share the pool and its resilience settings (retry policy, rate limits) and counts.
#[derive(Clone)]
pub struct DbPool {
    inner: Pool,
    guard: Arc<Guard>,
}

/// The resilience settings every store on a pool starts from.
#[derive(Debug)]
struct Guard {
    retry: RwLock<RetryPolicy>,
    limits: RwLock<Option<Arc<RateLimits>>>,
    retries: RetryCounters,
}

impl Guard {
    fn new(retry: RetryPolicy) -> Arc<Self> {
        Arc::new(Guard { retry: RwLock::new(retry), limits: RwLock::default(), retries: RetryCounters::default() })
    }
}

#[derive(Clone)]
enum Pool {
    Postgres(Db<Postgres>),
    Sqlite(Db<Sqlite>),
}

/// Evaluates `$body` with `$db` bound to the pool's [`Db`], whichever backend it has; `$body` is
/// written once and compiled for each.
macro_rules! with_db {
    ($pool:expr, |$db:ident| $body:expr) => {
        match &$pool.inner {
            Pool::Postgres($db) => $body,
            Pool::Sqlite($db) => $body,
        }
    };
}

impl DbPool {
    /// Opens a pool for `config`: SQLite when it names a SQLite database, PostgreSQL otherwise.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        config.validate()?;
        let inner = match &config.sqlite {
            Some(path) => Pool::Sqlite(Db::new(sqlite::connect(path, config).await?)),
            None => Pool::Postgres(Db::new(postgres::connect(config).await?)),
        };
        Ok(DbPool { inner, guard: Guard::new(config.retry) })
    }

    /// Wraps a PostgreSQL pool the application already has.
    pub fn from_postgres(pool: sqlx::PgPool) -> Self {
        DbPool { inner: Pool::Postgres(Db::new(pool)), guard: Guard::new(RetryPolicy::default()) }
    }

    /// Wraps a SQLite pool the application already has. Change events of its stores are
    /// delivered in this process only.
    pub fn from_sqlite(pool: sqlx::SqlitePool) -> Self {
        DbPool { inner: Pool::Sqlite(Db::new(pool)), guard: Guard::new(RetryPolicy::default()) }
    }

    /// The underlying PostgreSQL pool, for queries StoreHaus does not cover.
    pub fn as_postgres(&self) -> Option<&sqlx::PgPool> {
        match &self.inner {
            Pool::Postgres(db) => Some(&db.pool),
            Pool::Sqlite(_) => None,
        }
    }

    /// The underlying SQLite pool, for queries StoreHaus does not cover.
    pub fn as_sqlite(&self) -> Option<&sqlx::SqlitePool> {
        match &self.inner {
            Pool::Postgres(_) => None,
            Pool::Sqlite(db) => Some(&db.pool),
        }
    }

    /// The backend's name: `"postgres"` or `"sqlite"`.
    pub fn backend_name(&self) -> &'static str {
        with_db!(self, |db| db.name())
    }

    /// The OpenTelemetry `db.system` name of the backend: `"postgresql"` or `"sqlite"`.
    pub fn db_system(&self) -> &'static str {
        with_db!(self, |db| db.db_system())
    }

    /// Whether change events reach other processes (PostgreSQL) or only this one (SQLite).
    pub fn signals_cross_process(&self) -> bool {
        with_db!(self, |db| db.log.is_none())
    }

    /// Connections currently open, and of those, idle.
    pub fn connections(&self) -> (u32, usize) {
        with_db!(self, |db| (db.pool.size(), db.pool.num_idle()))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_db!(self, |db| db.ping().await)
    }

    /// How stores on this pool retry reads and [`transaction_retrying`](crate::StoreHaus::transaction_retrying)
    /// retries transactions, unless a store has a policy of its own.
    pub fn retry_policy(&self) -> RetryPolicy {
        *self.guard.retry.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the retry policy of every store on this pool (and its clones) that has none of its own.
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        *self.guard.retry.write().unwrap_or_else(PoisonError::into_inner) = policy;
    }

    /// What retries on this pool did so far.
    pub fn retry_stats(&self) -> RetryStats {
        self.guard.retries.snapshot()
    }

    pub(crate) fn retry_counters(&self) -> &RetryCounters {
        &self.guard.retries
    }

    /// The rate limits stores on this pool apply, unless a store has limits of its own.
    pub fn rate_limits(&self) -> Option<Arc<RateLimits>> {
        self.guard.limits.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Sets (or with `None`, removes) the rate limits of every store on this pool (and its
    /// clones) that has none of its own.
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        *self.guard.limits.write().unwrap_or_else(PoisonError::into_inner) = limits.map(Arc::new);
    }

    /// Closes every connection; waits for checked-out ones to return.
    pub async fn close(&self) {
        with_db!(self, |db| close_pool(&db.pool).await)
    }

    /// The operations of model `T` on its table; with `emit`, writes also record their change
    /// events. Builds the statements the model runs on every call.
    pub(crate) fn table<T: Model>(&self, emit: bool) -> Arc<dyn Table<T>> {
        with_db!(self, |db| Arc::new(BackendTable::<_, T>::new(db.clone(), emit)) as Arc<dyn Table<T>>)
    }

    /// Hands the related records of one relation level of a load to `sink` as they arrive, each
    /// with the value it was looked up by.
    pub(crate) async fn fetch_related<C: Model, K: crate::types::SqlType>(
        &self,
        tx: Option<&dyn TxHandle>,
        related: &super::RelatedQuery,
        sink: impl FnMut(crate::model::Record<C>, K) + Send,
    ) -> Result<(), StoreError> {
        with_db!(self, |db| super::related::fetch::<_, C, K>(db, tx, related, sink).await)
    }

    /// Records with one relation loaded in the same statement.
    pub(crate) async fn fetch_joined<P: Model, C: Model>(
        &self,
        tx: Option<&dyn TxHandle>,
        joined: &super::JoinedQuery,
    ) -> Result<Vec<(crate::model::Record<P>, Vec<crate::model::Record<C>>)>, StoreError> {
        with_db!(self, |db| super::related::fetch_joined::<_, P, C>(db, tx, joined).await)
    }

    /// How many related records each looked-up value of a load has.
    pub(crate) async fn count_related<K: crate::types::SqlType>(
        &self,
        tx: Option<&dyn TxHandle>,
        related: &super::RelatedQuery,
    ) -> Result<Vec<(K, u64)>, StoreError> {
        with_db!(self, |db| super::related::count::<_, K>(db, tx, related).await)
    }

    /// The operations of the data store on its table; with `emit`, writes also record their
    /// change events.
    pub(crate) fn data_table(&self, emit: bool) -> Arc<dyn super::data::DataTable> {
        with_db!(self, |db| Arc::new(super::data::BackendData::new(db.clone(), emit))
            as Arc<dyn super::data::DataTable>)
    }

    /// The event log of this database, created if missing, as a source for a signal manager.
    pub async fn event_source(&self) -> Result<Arc<dyn EventSource>, StoreError> {
        with_db!(self, |db| db.event_source().await)
    }

    /// A source that reads the changes of this database from the logical replication slot
    /// `slot_name`, created if missing, and the event log, created if missing (PostgreSQL with
    /// `wal_level = logical`; see `SignalTransport::LogicalDecoding`). One slot per listening
    /// process: processes that share a slot split its changes between them.
    ///
    /// [`StoreError::Unsupported`] on SQLite, and on a server without `wal_level = logical`,
    /// which then is left unchanged.
    pub async fn logical_event_source(&self, slot_name: &str) -> Result<Arc<dyn EventSource>, StoreError> {
        match &self.inner {
            Pool::Postgres(db) => postgres::events::logical_source(&db.pool, slot_name).await,
            Pool::Sqlite(_) => Err(StoreError::Unsupported {
                backend: Sqlite::NAME,
                operation: "change signals by logical decoding (a PostgreSQL replication slot)".into(),
            }),
        }
    }

    /// Starts a transaction on one connection of the pool.
    pub(crate) async fn begin(&self, options: &TransactionOptions) -> Result<Arc<dyn TxHandle>, StoreError> {
        with_db!(self, |db| Ok(Arc::new(TxCell::begin_with(db, options).await?) as Arc<dyn TxHandle>))
    }

    pub(crate) async fn plan(&self, table: &TableDef, options: &MigrateOptions) -> Result<MigrationPlan, StoreError> {
        with_db!(self, |db| db.plan(table, options, migrate::PlanFor::Database).await)
    }

    /// The plan of `table` in a report on a set of models, whose tables in `created` the set
    /// creates before it.
    pub(crate) async fn plan_drift(&self, table: &TableDef, created: &[&str]) -> Result<MigrationPlan, StoreError> {
        let purpose = migrate::PlanFor::Drift { created };
        with_db!(self, |db| db.plan(table, &MigrateOptions::default(), purpose).await)
    }

    /// The plan of `table` for a migration file and the statements that undo it (see
    /// `migrate::plan_file`); `created` names the tables the file creates before this one.
    pub(crate) async fn plan_file(
        &self,
        table: &TableDef,
        options: &MigrateOptions,
        created: &[&str],
    ) -> Result<(MigrationPlan, Result<Vec<String>, String>), StoreError> {
        with_db!(self, |db| db.plan_file(table, options, created).await)
    }

    /// The history of applied migration files, oldest first.
    pub(crate) async fn migration_history(&self) -> Result<Vec<migrate::files::HistoryRow>, StoreError> {
        with_db!(self, |db| db.migration_history().await)
    }

    /// Applies the pending files among `files`; returns the versions applied.
    pub(crate) async fn apply_migration_files(
        &self,
        files: &[migrate::files::FileToApply<'_>],
        options: &MigrateOptions,
    ) -> Result<Vec<i64>, StoreError> {
        with_db!(self, |db| db.apply_migration_files(files, options).await)
    }

    pub(crate) async fn migrate(
        &self,
        table: &TableDef,
        options: &MigrateOptions,
    ) -> Result<MigrationPlan, StoreError> {
        let plan = with_db!(self, |db| db.migrate(table, options).await)?;
        if !plan.is_empty() {
            tracing::info!(table = table.name, steps = plan.steps.len(), "migrated");
        }
        Ok(plan)
    }
}

impl From<sqlx::PgPool> for DbPool {
    fn from(pool: sqlx::PgPool) -> Self {
        DbPool::from_postgres(pool)
    }
}

impl From<sqlx::SqlitePool> for DbPool {
    fn from(pool: sqlx::SqlitePool) -> Self {
        DbPool::from_sqlite(pool)
    }
}

impl<B: Backend> Db<B> {
    fn name(&self) -> &'static str {
        B::NAME
    }

    fn db_system(&self) -> &'static str {
        B::DB_SYSTEM
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(B::on_pool(&self.pool)).await.map_err(B::error)?;
        Ok(())
    }

    async fn event_source(&self) -> Result<Arc<dyn EventSource>, StoreError> {
        match &self.log {
            Some(log) => Ok(B::in_process_source(self, log.clone())),
            None => B::event_source(&self.pool).await,
        }
    }

    async fn plan(
        &self,
        table: &TableDef,
        options: &MigrateOptions,
        purpose: migrate::PlanFor<'_>,
    ) -> Result<MigrationPlan, StoreError> {
        migrate::plan::<B>(&self.pool, table, options, purpose).await
    }

    async fn migrate(&self, table: &TableDef, options: &MigrateOptions) -> Result<MigrationPlan, StoreError> {
        B::migrate(&self.pool, table, options).await
    }

    async fn plan_file(
        &self,
        table: &TableDef,
        options: &MigrateOptions,
        created: &[&str],
    ) -> Result<(MigrationPlan, Result<Vec<String>, String>), StoreError> {
        migrate::plan_file::<B>(&self.pool, table, options, created).await
    }

    async fn migration_history(&self) -> Result<Vec<migrate::files::HistoryRow>, StoreError> {
        migrate::files::history::<B>(&self.pool).await
    }

    async fn apply_migration_files(
        &self,
        files: &[migrate::files::FileToApply<'_>],
        options: &MigrateOptions,
    ) -> Result<Vec<i64>, StoreError> {
        migrate::files::apply::<B>(&self.pool, files, options).await
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

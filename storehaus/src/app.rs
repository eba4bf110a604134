//! [`StoreHaus`]: the application's entry point.

use crate::backend::{DbPool, TransactionOptions};
use crate::config::DatabaseConfig;
use crate::error::{Result, StoreError};
use crate::model::Model;
use crate::schema::{MigrateOptions, MigrationPlan};
use crate::signals::{SignalConfig, SignalManager, SignalTransport};
use crate::transaction::Transaction;
use std::any::{Any, type_name};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// The connection pool, migrations and a registry of named stores.
pub struct StoreHaus {
    pool: DbPool,
    stores: HashMap<String, Arc<dyn Any + Send + Sync>>,
    /// Managers started by [`StoreHaus::signal_manager`], shut down by [`StoreHaus::close`]:
    /// each listener holds a pooled connection, which closing the pool would wait for forever.
    signal_managers: Mutex<Vec<Weak<SignalManager>>>,
}

/// What [`StoreHaus::health_check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthStatus {
    /// The backend's name, such as `"postgres"`.
    pub backend: &'static str,
    /// How long `SELECT 1` took.
    pub latency: Duration,
    /// Open connections in the pool.
    pub connections: u32,
    /// Of those, idle.
    pub idle_connections: usize,
}

impl StoreHaus {
    /// Connects with `config`.
    pub async fn new(config: DatabaseConfig) -> Result<Self> {
        Ok(Self::with_pool(DbPool::connect(&config).await?))
    }

    /// Connects to the database at `url`: a PostgreSQL server
    /// (`postgres://user:password@host:port/database`) or the embedded SQLite
    /// (`sqlite://path/app.db`, `sqlite::memory:`), as [`DatabaseConfig::from_url`] reads it.
    ///
    /// ```
    /// use storehaus::StoreHaus;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), storehaus::StoreError> {
    /// let storehaus = StoreHaus::connect("sqlite::memory:").await?;
    /// assert_eq!(storehaus.pool().backend_name(), "sqlite");
    /// storehaus.close().await;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self> {
        Self::new(DatabaseConfig::from_url(url)?).await
    }

    /// Uses a pool that is already open.
    pub fn with_pool(pool: DbPool) -> Self {
        StoreHaus { pool, stores: HashMap::new(), signal_managers: Mutex::default() }
    }

    /// The connection pool, to hand to stores.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Brings `T`'s table in line with the model: creates it with its system columns and indexes,
    /// or adds what is missing. With `recreate`, drops it first (every row is lost).
    ///
    /// Changes that could lose data are refused with [`StoreError::UnsafeMigration`]; use
    /// [`StoreHaus::migrate`] to allow them. Returns the plan that ran.
    ///
    /// On PostgreSQL it is safe on a busy table: each statement waits at most 50 ms for a lock
    /// (so queries never queue behind it for longer) and is retried for up to 30 s before
    /// [`StoreError::LockTimeout`] names the sessions in the way; indexes on existing tables are
    /// built `CONCURRENTLY`. [`MigrateOptions`] changes both durations.
    pub async fn auto_migrate<T: Model>(&self, recreate: bool) -> Result<MigrationPlan> {
        self.migrate::<T>(MigrateOptions { recreate, ..MigrateOptions::default() }).await
    }

    /// Like [`StoreHaus::auto_migrate`], with explicit permission for unsafe changes.
    pub async fn migrate<T: Model>(&self, options: MigrateOptions) -> Result<MigrationPlan> {
        self.pool.migrate(T::TABLE, &options).await
    }

    /// The DDL [`StoreHaus::auto_migrate`] would run, without running it, in the order it would
    /// run (steps marked `outside_transaction` last). Empty when the table already matches.
    pub async fn plan<T: Model>(&self) -> Result<MigrationPlan> {
        self.pool.plan(T::TABLE, &MigrateOptions::default()).await
    }

    /// Keeps `store` under `name` for [`StoreHaus::get_store`]. A name can be registered once.
    pub fn register_store<S: Any + Send + Sync>(&mut self, name: impl Into<String>, store: S) -> Result<()> {
        let name = name.into();
        if self.stores.contains_key(&name) {
            return Err(StoreError::Registry(format!("a store named `{name}` is already registered")));
        }
        self.stores.insert(name, Arc::new(store));
        Ok(())
    }

    /// The store registered under `name`, which must be an `S`.
    pub fn get_store<S: Any + Send + Sync>(&self, name: &str) -> Result<Arc<S>> {
        let store = self
            .stores
            .get(name)
            .ok_or_else(|| StoreError::Registry(format!("no store named `{name}` is registered")))?;
        Arc::clone(store)
            .downcast::<S>()
            .map_err(|_| StoreError::Registry(format!("the store `{name}` is not a {}", type_name::<S>())))
    }

    /// The names of the registered stores.
    pub fn store_names(&self) -> impl Iterator<Item = &str> {
        self.stores.keys().map(String::as_str)
    }

    /// Checks that the database answers and reports the pool's state.
    pub async fn health_check(&self) -> Result<HealthStatus> {
        let started = Instant::now();
        self.pool.ping().await?;
        let (connections, idle_connections) = self.pool.connections();
        Ok(HealthStatus {
            backend: self.pool.backend_name(),
            latency: started.elapsed(),
            connections,
            idle_connections,
        })
    }

    /// Starts a [`SignalManager`] on this database: creates the event log if it is missing and a
    /// listener that delivers every change committed from now on, by any process, to the
    /// manager's callbacks. Hand the manager to the stores whose changes it should announce.
    ///
    /// [`StoreHaus::close`] shuts the manager down.
    ///
    /// `config.transport` says where changes are read from: the event log, or (with
    /// `SignalTransport::LogicalDecoding`, PostgreSQL with `wal_level = logical`) the
    /// replication slot `config.slot_name`, see [`DbPool::logical_event_source`]. Settings are
    /// checked before anything is created.
    pub async fn signal_manager(&self, config: SignalConfig) -> Result<Arc<SignalManager>> {
        config.validate().map_err(|e| StoreError::Signal(e.to_string()))?;
        let source = match config.transport {
            SignalTransport::Log => self.pool.event_source().await?,
            SignalTransport::LogicalDecoding => self.pool.logical_event_source(&config.slot_name).await?,
        };
        let manager = SignalManager::start(config, source).await.map_err(|e| StoreError::Signal(e.to_string()))?;
        let mut managers = self.signal_managers.lock().unwrap_or_else(PoisonError::into_inner);
        managers.retain(|started| started.strong_count() > 0);
        managers.push(Arc::downgrade(&manager));
        Ok(manager)
    }

    /// Shuts down: stops the signal managers started by [`StoreHaus::signal_manager`] (each
    /// waits for its running callbacks, see [`SignalManager::shutdown`]), then closes the pool,
    /// waiting for checked-out connections to come back. Calls made afterwards fail with a
    /// [`StoreError::Database`] saying the pool is closed; calling `close` again does nothing.
    ///
    /// Connections held elsewhere (a [`Transaction`](crate::Transaction) still open, a stream
    /// still being read) keep `close` waiting until they are dropped.
    ///
    /// On PostgreSQL every connection has said goodbye to the server when `close` returns; the
    /// server ends the sessions moments later, as each backend process exits on its own, so they
    /// may still show in `pg_stat_activity` for some milliseconds.
    pub async fn close(&self) {
        let managers = std::mem::take(&mut *self.signal_managers.lock().unwrap_or_else(PoisonError::into_inner));
        for manager in managers.iter().filter_map(Weak::upgrade) {
            manager.shutdown().await;
        }
        self.pool.close().await;
    }
}

impl fmt::Debug for StoreHaus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.store_names().collect();
        names.sort_unstable();
        f.debug_struct("StoreHaus").field("pool", &self.pool).field("stores", &names).finish()
    }
}

impl StoreHaus {
    /// Starts a transaction; commit or roll it back explicitly.
    ///
    /// Always a new transaction on a connection of its own, even when called while another
    /// transaction is open: to nest one inside a transaction, use
    /// [`Transaction::begin_nested`] (a savepoint).
    pub async fn begin(&self) -> Result<Transaction> {
        Transaction::begin(self.pool()).await
    }

    /// Starts a transaction with `options` (isolation level, read-only); commit or roll it back
    /// explicitly.
    pub async fn begin_with(&self, options: TransactionOptions) -> Result<Transaction> {
        Transaction::begin_with(self.pool(), options).await
    }

    /// Runs `work` in a transaction: commits when it returns `Ok`, rolls back when it returns `Err`
    /// (or is cancelled).
    ///
    /// Like [`StoreHaus::begin`], this always starts a new, independent transaction: its commit
    /// stands even if a transaction around the call rolls back. To make work part of an open
    /// transaction `tx`, call [`tx.transaction(..)`](Transaction::transaction) instead, which
    /// runs it in a savepoint.
    ///
    /// ```no_run
    /// # use storehaus::prelude::*;
    /// # #[model] #[table(name = "accounts")] pub struct Account { #[primary_key] pub id: Uuid, pub balance: i64 }
    /// # async fn run(storehaus: StoreHaus, accounts: GenericStore<Account>, a: Account, b: Account) -> Result<(), StoreError> {
    /// storehaus
    ///     .transaction(|tx| async move {
    ///         let accounts = accounts.with_transaction(&tx);
    ///         accounts.create(a, None).await?;
    ///         accounts.create(b, None).await?;
    ///         Ok::<_, StoreError>(())
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<F, Fut, R, E>(&self, work: F) -> std::result::Result<R, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = std::result::Result<R, E>>,
        E: From<StoreError>,
    {
        self.transaction_with(TransactionOptions::default(), work).await
    }

    /// [`StoreHaus::transaction`] with `options` (isolation level, read-only).
    ///
    /// A serializable transaction may fail with a serialization error
    /// ([`StoreError::is_transient`]); run it again to retry.
    pub async fn transaction_with<F, Fut, R, E>(
        &self,
        options: TransactionOptions,
        work: F,
    ) -> std::result::Result<R, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = std::result::Result<R, E>>,
        E: From<StoreError>,
    {
        crate::transaction::run(self.begin_with(options).await?, work).await
    }
}

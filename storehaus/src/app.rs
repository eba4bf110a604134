//! [`StoreHaus`]: the application's entry point.

use crate::backend::{DbPool, TransactionOptions};
use crate::cache::CacheManager;
use crate::config::DatabaseConfig;
use crate::error::{Result, StoreError};
use crate::model::Model;
use crate::resilience::{BreakerState, LimiterStats, RateLimits, RetryPolicy, RetryStats, Transient};
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
    /// The cache [`StoreHaus::attach_cache`] was given, reported by [`StoreHaus::health_check`].
    cache: Mutex<Option<Arc<CacheManager>>>,
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
    /// What retries of reads and transactions did so far.
    pub retries: RetryStats,
    /// The circuit breaker of the cache given to [`StoreHaus::attach_cache`], if any.
    pub cache_breaker: Option<BreakerState>,
    /// Whether that cache answered a ping within its timeout (`None` without a cache).
    pub cache_reachable: Option<bool>,
    /// The listener breaker of each signal manager started by [`StoreHaus::signal_manager`].
    pub signal_breakers: Vec<BreakerState>,
    /// What the pool's rate limits decided so far, when it has any.
    pub rate_limits: Option<LimiterStats>,
}

impl HealthStatus {
    /// Whether every layer is usable now: the database answered (it did, or there would be no
    /// status), the cache answered, and no breaker is open.
    pub fn is_healthy(&self) -> bool {
        self.cache_reachable != Some(false)
            && self.cache_breaker.is_none_or(|state| state == BreakerState::Closed)
            && self.signal_breakers.iter().all(|state| *state == BreakerState::Closed)
    }
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
        StoreHaus { pool, stores: HashMap::new(), signal_managers: Mutex::default(), cache: Mutex::default() }
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

    /// Checks that the database answers and reports the pool's state, the retries so far, and
    /// the state of the other layers: the attached cache (pinged, and its breaker), the signal
    /// listeners' breakers and the rate limits.
    ///
    /// Fails only when the database does not answer; see [`HealthStatus::is_healthy`] for the rest.
    pub async fn health_check(&self) -> Result<HealthStatus> {
        let started = Instant::now();
        self.pool.ping().await?;
        let latency = started.elapsed();
        let (connections, idle_connections) = self.pool.connections();
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let (cache_breaker, cache_reachable) = match cache {
            Some(cache) => {
                let reachable = cache.ping().await.is_ok();
                (Some(cache.breaker().state()), Some(reachable))
            }
            None => (None, None),
        };
        let signal_breakers = self
            .signal_managers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(Weak::upgrade)
            .map(|manager| manager.listener_breaker())
            .collect();
        Ok(HealthStatus {
            backend: self.pool.backend_name(),
            latency,
            connections,
            idle_connections,
            retries: self.pool.retry_stats(),
            cache_breaker,
            cache_reachable,
            signal_breakers,
            rate_limits: self.pool.rate_limits().map(|limits| limits.stats()),
        })
    }

    /// Reports `cache` in [`StoreHaus::health_check`]. Stores still take their cache through
    /// [`CacheParams`](crate::cache::CacheParams).
    pub fn attach_cache(&self, cache: Arc<CacheManager>) {
        *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = Some(cache);
    }

    /// How store reads and [`StoreHaus::transaction_retrying`] retry after a transient error
    /// (from [`DatabaseConfig::retry`], `[resilience.retry]` in `storehaus.toml`).
    pub fn retry_policy(&self) -> RetryPolicy {
        self.pool.retry_policy()
    }

    /// Sets the retry policy of every store on this pool that has none of its own;
    /// `RetryPolicy::disabled()` turns retries off.
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        self.pool.set_retry_policy(policy);
    }

    /// Applies `limits` to every store on this pool that has none of its own (`None` removes
    /// them). See [`RateLimits`] for the operation names, and
    /// [`ResilienceConfig::rate_limits`](crate::config::ResilienceConfig::rate_limits) to build
    /// them from `storehaus.toml`.
    ///
    /// The signal managers this `StoreHaus` started (and starts later) apply the same limits to
    /// [`Channel::publish`](crate::signals::Channel::publish).
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        for manager in
            self.signal_managers.lock().unwrap_or_else(PoisonError::into_inner).iter().filter_map(Weak::upgrade)
        {
            manager.set_rate_limits(limits.clone());
        }
        self.pool.set_rate_limits(limits);
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
        manager.set_rate_limits(self.pool.rate_limits().map(|limits| RateLimits::clone(&limits)));
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

    /// Runs `work` in a transaction like [`StoreHaus::transaction`], and runs it again from the
    /// start, in a new transaction, when it fails with a transient error (a lost connection, a
    /// serialization failure, a deadlock), as the [retry policy](StoreHaus::retry_policy)
    /// allows. `work` may therefore run several times: keep side effects outside the database
    /// out of it, or make them idempotent.
    ///
    /// A commit is retried only when the database says it did not happen (serialization
    /// failure `40001`, deadlock `40P01`); a commit whose answer was lost returns its error, as
    /// the transaction may have committed.
    ///
    /// ```no_run
    /// # use storehaus::prelude::*;
    /// # use storehaus::IsolationLevel;
    /// # use storehaus::TransactionOptions;
    /// # #[model] #[table(name = "accounts")] pub struct Account { #[primary_key] pub id: Uuid, pub balance: i64 }
    /// # async fn run(storehaus: StoreHaus, accounts: GenericStore<Account>, from: Uuid, to: Uuid) -> Result<(), StoreError> {
    /// let serializable = TransactionOptions::new().isolation(IsolationLevel::Serializable);
    /// storehaus
    ///     .transaction_retrying_with(serializable, |tx| {
    ///         let accounts = accounts.with_transaction(&tx);
    ///         async move {
    ///             let mut a = accounts.get_by_id(&from).await?.ok_or(StoreError::Validation { field: None, message: "no such account".into() })?;
    ///             a.balance -= 10;
    ///             accounts.save(&a).await?;
    ///             Ok::<_, StoreError>(())
    ///         }
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction_retrying<F, Fut, R, E>(&self, work: F) -> std::result::Result<R, E>
    where
        F: FnMut(Transaction) -> Fut,
        Fut: Future<Output = std::result::Result<R, E>>,
        E: From<StoreError> + Transient,
    {
        self.transaction_retrying_with(TransactionOptions::default(), work).await
    }

    /// [`StoreHaus::transaction_retrying`] with `options` (isolation level, read-only).
    pub async fn transaction_retrying_with<F, Fut, R, E>(
        &self,
        options: TransactionOptions,
        work: F,
    ) -> std::result::Result<R, E>
    where
        F: FnMut(Transaction) -> Fut,
        Fut: Future<Output = std::result::Result<R, E>>,
        E: From<StoreError> + Transient,
    {
        let policy = self.pool.retry_policy();
        crate::transaction::run_retrying(&self.pool, options, &policy, work).await
    }
}

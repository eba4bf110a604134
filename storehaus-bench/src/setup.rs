//! The bench database, one pool per pool-based contender (all built by [`pool_options`]), the
//! tokio-postgres client, and cleanup.

use crate::runner::Mode;
use crate::schema::{Comment, Post, User};
use crate::{Error, Result};
use sea_orm::{DatabaseConnection, SqlxPostgresConnector};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use storehaus::cache::{CacheConfig, CacheManager, CacheParams};
use storehaus::{DbPool, GenericStore, StoreHaus};
use tokio::task::JoinHandle;

/// The database the bench creates on the server, and drops at the end.
const DATABASE: &str = "storehaus_bench";

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Where everything runs. Each pool-based contender has a pool of its own, built identically, so
/// no contender's prepared statements crowd another's out of a connection's statement cache.
#[derive(Debug)]
pub struct Bench {
    pub mode: Mode,
    /// Seeding and truncation; never timed.
    pub setup: PgPool,
    pub sqlx: PgPool,
    pub storehaus: StoreHaus,
    pub users: GenericStore<User>,
    pub sea: DatabaseConnection,
    /// One client: every workload makes one call at a time.
    pub pg: tokio_postgres::Client,
    pg_connection: JoinHandle<()>,
    pub redis_url: String,
    /// Per-run key prefix, so runs (and other users of the server) never share entries.
    pub cache_prefix: String,
    pub database_url: String,
    /// Keys for rows the insert workloads create; above anything seeded.
    next_id: AtomicI32,
    /// Remarks printed after the table.
    notes: Mutex<Vec<String>>,
}

/// Identical for every pool. .test_before_acquire(false)`: sqlx's default pings the server on
/// every checkout, one extra round trip per call that would blur the differences measured here.
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(4)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
}

fn connect_options(url: &str) -> Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)?.disable_statement_logging())
}

impl Bench {
    pub async fn start(mode: Mode) -> Result<Bench> {
        let database_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
        let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
        recreate_database(&database_url).await?;

        let options = connect_options(&database_url)?.database(DATABASE);
        let pool = || pool_options().connect_with(options.clone());
        let setup = pool().await?;
        let sqlx = pool().await?;
        let storehaus = StoreHaus::with_pool(DbPool::from_postgres(pool().await?));
        let sea = SqlxPostgresConnector::from_sqlx_postgres_pool(pool().await?);

        storehaus.auto_migrate::<User>(false).await?;
        storehaus.auto_migrate::<Post>(false).await?;
        storehaus.auto_migrate::<Comment>(false).await?;
        let users = GenericStore::<User>::new(storehaus.pool().clone(), None, None);

        let mut config = tokio_postgres::Config::from_str(&database_url)?;
        config.dbname(DATABASE);
        let (pg, connection) = config.connect(tokio_postgres::NoTls).await?;
        let pg_connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("tokio-postgres connection ended: {e}");
            }
        });

        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
        Ok(Bench {
            mode,
            setup,
            sqlx,
            storehaus,
            users,
            sea,
            pg,
            pg_connection,
            redis_url,
            cache_prefix: format!("storehaus-bench-{}-{nanos}", std::process::id()),
            database_url,
            next_id: AtomicI32::new(1_000_000),
            notes: Mutex::new(Vec::new()),
        })
    }

    /// `n` fresh keys, for rows an insert creates.
    pub fn fresh_ids(&self, n: usize) -> std::ops::Range<i32> {
        let n = crate::schema::id(n);
        let first = self.next_id.fetch_add(n, Ordering::Relaxed);
        first..first + n
    }

    /// Remembers a remark for after the table.
    pub fn note(&self, note: String) {
        self.notes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(note);
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// A Redis cache manager, or why there is none (the cached workload is skipped then).
    pub async fn cache(&self) -> Result<CacheParams> {
        let manager = self.redis().await?;
        // Entries outlive the workload (seconds) by far; the bench deletes them anyway.
        Ok(CacheParams::new(std::sync::Arc::new(manager), 120, self.cache_prefix.as_str()))
    }

    /// A manager over the Redis server of `REDIS_URL` that answered a ping, or why there is none.
    pub async fn redis(&self) -> Result<CacheManager> {
        let manager = CacheManager::new(CacheConfig::from_url(self.redis_url.as_str())?)?;
        manager.ping().await.map_err(|e| Error::from(format!("Redis at {} does not answer: {e}", self.redis_url)))?;
        Ok(manager)
    }

    /// A pool of the bench database like every contender's, for a workload that must close its
    /// connections (the counters workload: a closing backend hands its statistics to the server).
    pub async fn own_pool(&self) -> Result<PgPool> {
        let options = connect_options(&self.database_url)?.database(DATABASE);
        Ok(pool_options().connect_with(options).await?)
    }

    /// Closes every connection and drops the bench database.
    pub async fn finish(self) -> Result<()> {
        self.sqlx.close().await;
        self.setup.close().await;
        self.storehaus.close().await;
        self.sea.close().await?;
        drop(self.pg);
        let _ = self.pg_connection.await;
        let mut admin = PgConnection::connect_with(&connect_options(&self.database_url)?).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{DATABASE}\" WITH (FORCE)")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        Ok(())
    }
}

/// Drops a database left by an earlier run (refusing while another run is connected to it) and
/// creates it empty.
async fn recreate_database(url: &str) -> Result<()> {
    let mut admin = PgConnection::connect_with(&connect_options(url)?).await?;
    if let Err(e) =
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{DATABASE}\""))).execute(&mut admin).await
    {
        return Err(format!("cannot drop the old `{DATABASE}` database (is another bench running?): {e}").into());
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{DATABASE}\""))).execute(&mut admin).await?;
    admin.close().await?;
    Ok(())
}

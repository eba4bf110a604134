//! A throw-away database per test (Cargo feature `testing`).
//!
//! ```no_run
//! use storehaus::testing::TestDatabase;
//!
//! # async fn example() {
//! let Some(db) = TestDatabase::new().await else { return }; // skipped, loudly, without a server
//! let storehaus = db.storehaus().await;
//! // … migrate and exercise models; the database is dropped when `db` goes out of scope,
//! // and kept (its name printed) when the test panicked, for a post-mortem.
//! # }
//! ```
//!
//! The server is the one `STOREHAUS_TEST_DATABASE_URL` names (default
//! `postgres://postgres:postgres@127.0.0.1:5432/postgres`); the user needs `CREATEDB`. When it
//! cannot be reached, [`TestDatabase::new`] panics with a clear message if `CI` or
//! `STOREHAUS_REQUIRE_SERVICES` is set, and otherwise prints a loud `SKIPPED` line and returns `None`.
//!
//! [`TestSqlite`] is the same for the embedded backend: a fresh SQLite file per test, which
//! needs no server and so never skips.

mod sqlite;

pub use sqlite::TestSqlite;

use crate::{DatabaseConfig, DbPool, StoreHaus};
use sqlx::{Connection, PgConnection};

/// The server used when `STOREHAUS_TEST_DATABASE_URL` is not set.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

/// A database created for one test and dropped after it.
#[derive(Debug)]
pub struct TestDatabase {
    admin: DatabaseConfig,
    config: DatabaseConfig,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database with a unique name on the test server.
    ///
    /// Returns `None` (after printing why) when the server is unreachable and services are not
    /// required; panics when they are.
    pub async fn new() -> Option<Self> {
        let url = std::env::var("STOREHAUS_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let admin = match DatabaseConfig::from_url(&url) {
            Ok(config) => config,
            Err(e) => panic!("STOREHAUS_TEST_DATABASE_URL is not a valid PostgreSQL URL: {e}"),
        };
        let name = format!("storehaus_test_{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = admin_execute(&admin, &format!("CREATE DATABASE \"{name}\" TEMPLATE template0")).await {
            let message = format!("PostgreSQL at {} is not usable for tests: {e}", admin.redacted_url());
            if require_services() {
                panic!("{message}\n(CI or STOREHAUS_REQUIRE_SERVICES is set, so this test fails instead of skipping)");
            }
            eprintln!("\n*** SKIPPED: {message}\n*** set STOREHAUS_TEST_DATABASE_URL to a server this test can use\n");
            return None;
        }
        let config = DatabaseConfig { database: name, min_connections: 0, max_connections: 20, ..admin.clone() };
        let url = config.to_url();
        Some(TestDatabase { admin, config, url })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.config.database
    }

    /// The URL of the test database, for another process (a child that runs a consumer, say).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connection settings of the test database.
    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }

    /// A new pool on the test database.
    pub async fn pool(&self) -> DbPool {
        match DbPool::connect(&self.config).await {
            Ok(pool) => pool,
            Err(e) => panic!("cannot connect to test database {}: {e}", self.name()),
        }
    }

    /// A [`StoreHaus`] on the test database.
    pub async fn storehaus(&self) -> StoreHaus {
        StoreHaus::with_pool(self.pool().await)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed; keeping its database `{}` for inspection", self.name());
            return;
        }
        // Drop runs outside async code, so the statement runs on a runtime of its own.
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name());
        let dropped = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(admin_execute(&admin, &sql)).map_err(|e| e.to_string())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database `{}`: {dropped:?}", self.name());
        }
    }
}

/// Whether tests must fail, rather than skip, when a service is unreachable.
pub fn require_services() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "no"));
    set("CI") || set("STOREHAUS_REQUIRE_SERVICES")
}

/// Runs `sql`, one of this module's `CREATE DATABASE` / `DROP DATABASE` statements for the name it
/// generated (a UUID), on the admin database.
async fn admin_execute(admin: &DatabaseConfig, sql: &str) -> Result<(), sqlx::Error> {
    let options = sqlx::postgres::PgConnectOptions::new()
        .host(&admin.host)
        .port(admin.port)
        .database(&admin.database)
        .username(&admin.username)
        .password(&admin.password);
    let connect = PgConnection::connect_with(&options);
    let mut conn = tokio::time::timeout(std::time::Duration::from_secs(10), connect)
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)??;
    // Safe to assert: the only names in `sql` are the generated database's.
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
    conn.close().await
}

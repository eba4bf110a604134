//! The setup trait that runs one suite on both backends.
//!
//! A test written once as `async fn name(db: impl TestBackend)` inside [`on_both_backends!`]
//! becomes two tests, `name::postgres` and `name::sqlite`. PostgreSQL needs the test server
//! (and fails under `CI`/`STOREHAUS_REQUIRE_SERVICES` when it is missing, see
//! [`TestDatabase`]); SQLite needs nothing.

use std::future::Future;
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus::{DbPool, StoreHaus};

/// A fresh database of one backend, for one test.
pub trait TestBackend: Send + Sync + Sized + 'static {
    /// `"postgres"` or `"sqlite"`, as [`DbPool::backend_name`] says.
    const NAME: &'static str;

    /// A new, empty database; `None` when the backend's server is unreachable and services are
    /// not required.
    fn open() -> impl Future<Output = Option<Self>> + Send;

    /// A new pool on the database (every call opens another, as a second process would).
    fn pool(&self) -> impl Future<Output = DbPool> + Send;

    /// A [`StoreHaus`] on a new pool.
    fn storehaus(&self) -> impl Future<Output = StoreHaus> + Send {
        async { StoreHaus::with_pool(self.pool().await) }
    }
}

impl TestBackend for TestDatabase {
    const NAME: &'static str = "postgres";

    async fn open() -> Option<Self> {
        TestDatabase::new().await
    }

    async fn pool(&self) -> DbPool {
        TestDatabase::pool(self).await
    }
}

impl TestBackend for TestSqlite {
    const NAME: &'static str = "sqlite";

    async fn open() -> Option<Self> {
        Some(TestSqlite::new())
    }

    async fn pool(&self) -> DbPool {
        TestSqlite::pool(self).await
    }
}

/// Runs `test` on a fresh database of backend `B`; skips (returns) only where `B::open` allows.
pub async fn run_on<B: TestBackend, F: Future<Output = ()>>(test: impl FnOnce(B) -> F) {
    if let Some(db) = B::open().await {
        test(db).await;
    }
}

/// Declares tests that run on both backends.
///
/// ```ignore
/// on_both_backends! {
///     /// Creating a record stores it.
///     async fn create_stores_the_row(db) {
///         let storehaus = db.storehaus().await;
///         // …
///     }
/// }
/// ```
///
/// Each `async fn name(db) { … }` becomes a module `name` with the tests `postgres` and `sqlite`;
/// inside the body `db` is an `impl TestBackend`.
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn test<B: $crate::TestBackend>($db: B) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::run_on::<storehaus::testing::TestDatabase, _>(test).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::run_on::<storehaus::testing::TestSqlite, _>(test).await;
            }
        }
    )*};
}

/// Raw SQL against either backend, for checking what StoreHaus stored. Write portable SQL:
/// double-quoted identifiers, `CAST(x AS TEXT)`, no `::` casts.
pub mod raw {
    use storehaus::StoreHaus;

    /// Runs a statement.
    pub async fn execute(storehaus: &StoreHaus, sql: &str) {
        let pool = storehaus.pool();
        let result = match (pool.as_postgres(), pool.as_sqlite()) {
            (Some(pg), _) => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pg).await.map(|_| ()),
            (_, Some(lite)) => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(lite).await.map(|_| ()),
            _ => unreachable!("every pool is PostgreSQL or SQLite"),
        };
        result.unwrap_or_else(|e| panic!("`{sql}` failed: {e}"));
    }

    /// The one integer a query returns (`COUNT(*)`, a column of one row).
    pub async fn int(storehaus: &StoreHaus, sql: &str) -> i64 {
        let pool = storehaus.pool();
        let result = match (pool.as_postgres(), pool.as_sqlite()) {
            (Some(pg), _) => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(pg).await,
            (_, Some(lite)) => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(lite).await,
            _ => unreachable!("every pool is PostgreSQL or SQLite"),
        };
        result.unwrap_or_else(|e| panic!("`{sql}` failed: {e}"))
    }

    /// The first column of every row, as text (`NULL` as `None`); cast it in the SQL.
    pub async fn texts(storehaus: &StoreHaus, sql: &str) -> Vec<Option<String>> {
        let pool = storehaus.pool();
        let result = match (pool.as_postgres(), pool.as_sqlite()) {
            (Some(pg), _) => sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql)).fetch_all(pg).await,
            (_, Some(lite)) => sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql)).fetch_all(lite).await,
            _ => unreachable!("every pool is PostgreSQL or SQLite"),
        };
        result.unwrap_or_else(|e| panic!("`{sql}` failed: {e}"))
    }

    /// Every row of a query, decoded as `T` (a tuple, usually).
    pub async fn rows<T>(storehaus: &StoreHaus, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        let pool = storehaus.pool();
        let result = match (pool.as_postgres(), pool.as_sqlite()) {
            (Some(pg), _) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pg).await,
            (_, Some(lite)) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(lite).await,
            _ => unreachable!("every pool is PostgreSQL or SQLite"),
        };
        result.unwrap_or_else(|e| panic!("`{sql}` failed: {e}"))
    }
}

//! [`TestSqlite`]: a throw-away SQLite database per test.

use crate::{DatabaseConfig, DbPool, StoreHaus};
use std::path::{Path, PathBuf};

/// A SQLite database file created for one test and deleted after it (kept, with its path
/// printed, when the test panicked).
///
/// A file rather than `:memory:`, so the pool's connections work as in an application: readers
/// outside a transaction do not wait for it (write-ahead log).
///
/// ```
/// # async fn example() {
/// let db = storehaus::testing::TestSqlite::new();
/// let storehaus = db.storehaus().await;
/// assert_eq!(storehaus.pool().backend_name(), "sqlite");
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(example());
/// ```
#[derive(Debug)]
pub struct TestSqlite {
    path: PathBuf,
    config: DatabaseConfig,
}

impl TestSqlite {
    /// A new, empty database file under the system's temporary directory.
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("storehaus_test_{}.db", uuid::Uuid::new_v4().simple()));
        let config = DatabaseConfig {
            sqlite: Some(path.to_string_lossy().into_owned()),
            min_connections: 0,
            max_connections: 8,
            ..DatabaseConfig::default()
        };
        TestSqlite { path, config }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Connection settings of the test database.
    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }

    /// A new pool on the test database.
    pub async fn pool(&self) -> DbPool {
        match DbPool::connect(&self.config).await {
            Ok(pool) => pool,
            Err(e) => panic!("cannot open test database {}: {e}", self.path.display()),
        }
    }

    /// A [`StoreHaus`] on the test database.
    pub async fn storehaus(&self) -> StoreHaus {
        StoreHaus::with_pool(self.pool().await)
    }
}

impl Default for TestSqlite {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestSqlite {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed; keeping its database `{}` for inspection", self.path.display());
            return;
        }
        // The write-ahead log and its index live beside the database file.
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}

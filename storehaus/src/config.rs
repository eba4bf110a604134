//! Configuration: [`DatabaseConfig`] for the connection pool, and [`AppConfig`], which reads
//! the `[database]`, `[cache]` and `[signal]` sections of `storehaus.toml` and applies
//! environment overrides.
//!
//! Loading works without any `.env` file: settings come from the TOML file (if there is one),
//! then from the process environment, then are validated. `storehaus.toml.example` in the
//! repository lists every setting with its default and its environment variable.

mod app;
mod database;
mod resilience;

pub use app::AppConfig;
pub use database::{DatabaseConfig, DatabaseConfigBuilder};
pub use resilience::{LayerSettings, RateLimitSettings, ResilienceConfig, RetrySettings, RuleSettings};
pub use storehaus_cache::CacheConfig;
pub use storehaus_signals::SignalConfig;

use crate::error::StoreError;

impl From<storehaus_cache::ConfigError> for StoreError {
    fn from(error: storehaus_cache::ConfigError) -> Self {
        StoreError::Config { key: Some(error.key), message: error.message }
    }
}

impl From<storehaus_signals::ConfigError> for StoreError {
    fn from(error: storehaus_signals::ConfigError) -> Self {
        StoreError::Config { key: Some(error.key), message: error.message }
    }
}

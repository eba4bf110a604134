//! The error type of the cache layer.

use std::time::Duration;

use crate::config::ConfigError;

/// What went wrong talking to the cache.
///
/// Read-through calls ([`CacheManager::get_or_load`](crate::CacheManager::get_or_load) and
/// friends) never return it: they count it in [`CacheStats`](crate::CacheStats) and fall back to
/// the loader. The explicit primitives (key-value, counters, claims) return it so the caller
/// decides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The backend cannot be reached now: not connected yet, connection lost, waiting before
    /// the next connection attempt, or the circuit breaker is open.
    #[error("cache unavailable: {0}")]
    Unavailable(String),
    /// A command took longer than `timeout_ms`.
    #[error("cache command timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The backend answered with an error.
    #[error("cache backend error: {0}")]
    Backend(String),
    /// A rate-limit rule on `cache.<operation>` refused the call (see
    /// [`CacheManager::set_rate_limits`](crate::CacheManager::set_rate_limits)).
    #[error("cache call rate limited by rule `{rule}`; retry after {} ms", .retry_after.as_millis())]
    RateLimited {
        /// The rule's operation pattern, such as `cache.*`.
        rule: String,
        /// When the rule's bucket has a token again.
        retry_after: Duration,
    },
    /// A value could not be encoded or decoded.
    #[error("cache value could not be (de)serialized: {0}")]
    Serialization(String),
}

impl CacheError {
    /// Whether trying again later may succeed: the backend was unreachable or slow.
    pub fn is_transient(&self) -> bool {
        matches!(self, CacheError::Unavailable(_) | CacheError::Timeout(_))
    }
}

impl From<serde_json::Error> for CacheError {
    fn from(error: serde_json::Error) -> Self {
        CacheError::Serialization(error.to_string())
    }
}

/// The result of a cache call.
pub type CacheResult<T> = Result<T, CacheError>;

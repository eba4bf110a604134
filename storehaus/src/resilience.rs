//! Resilience between the layers: retries of calls that are safe to repeat, circuit breakers
//! around the cache and the signal listener, and token-bucket rate limits.
//!
//! | Mechanism | Where | Configured by |
//! |---|---|---|
//! | Retries with exponential backoff and full jitter | store reads outside a transaction; whole transactions run by [`StoreHaus::transaction_retrying`](crate::StoreHaus::transaction_retrying) | [`RetryPolicy`]: `[resilience.retry]`, [`DatabaseConfig::retry`](crate::DatabaseConfig::retry), [`StoreHaus::set_retry_policy`](crate::StoreHaus::set_retry_policy), [`GenericStore::with_retry_policy`](crate::GenericStore::with_retry_policy) |
//! | Circuit breakers | every cache call; the signal listener's connection | [`BreakerConfig`]: `[resilience.cache]`, `[resilience.signals]` |
//! | Fail-fast or fallback | what calls do while a breaker is open, or the shared rate limiter is unreachable | [`Strategy`] per layer |
//! | Rate limits (token buckets) | store operations (`store.<operation>`), signal emission (`signals.emit`), callback registration (`signals.subscribe`), cache operations (`cache.<operation>`) | [`RateLimits`]: `[resilience.rate_limits]`, [`StoreHaus::set_rate_limits`](crate::StoreHaus::set_rate_limits) |
//!
//! Writes outside a transaction are never retried: an attempt that failed on a lost connection
//! may have committed, and running it again would apply it twice. Make them part of a
//! transaction run by [`StoreHaus::transaction_retrying`](crate::StoreHaus::transaction_retrying)
//! to have them retried: a transaction that failed before its commit was rolled back, so running
//! it again from the start is safe. See `docs/resilience.md`.

use crate::error::StoreError;

pub use storehaus_resilience::{
    Backoff, BreakerConfig, BreakerOpen, BreakerState, BreakerStats, CircuitBreaker, Limiter, LimiterStats,
    LimiterUnavailable, LocalLimiter, Per, RateLimit, RateLimitError, RateLimits, Retry, RetryCounters, RetryPolicy,
    RetryStats, Rule, Strategy, retry,
};

/// An error that says whether the same call may succeed if tried again, for
/// [`StoreHaus::transaction_retrying`](crate::StoreHaus::transaction_retrying). Implement it for
/// the error type of your transaction closures when it is not [`StoreError`].
pub trait Transient {
    /// Whether trying again may succeed.
    fn is_transient(&self) -> bool;
}

impl Transient for StoreError {
    fn is_transient(&self) -> bool {
        StoreError::is_transient(self)
    }
}

impl From<RateLimitError> for StoreError {
    fn from(error: RateLimitError) -> Self {
        match error {
            RateLimitError::Limited { rule, retry_after } => StoreError::RateLimited { rule, retry_after },
            other => StoreError::Cache(other.to_string()),
        }
    }
}

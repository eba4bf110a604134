//! Resilience between StoreHaus's layers: [retries](retry()) with exponential backoff and full
//! jitter, [circuit breakers](CircuitBreaker), and token-bucket [rate limits](RateLimits),
//! local or shared through Redis.
//!
//! Used through `storehaus::resilience`; see `docs/resilience.md` for how each layer uses them.

mod backoff;
mod breaker;
mod bucket;
mod limits;
mod random;
mod retry;
mod strategy;

pub use backoff::Backoff;
pub use breaker::{BreakerConfig, BreakerOpen, BreakerState, BreakerStats, CircuitBreaker, Permit};
pub use bucket::{InvalidRateLimit, LocalBuckets, RateLimit, TokenBucket};
pub use limits::{
    BoxFuture, Limiter, LimiterStats, LimiterUnavailable, LocalLimiter, Per, RateLimitError, RateLimits, Rule,
};
pub use random::random_fraction;
pub use retry::{Retry, RetryCounters, RetryPolicy, RetryStats, retry};
pub use strategy::Strategy;

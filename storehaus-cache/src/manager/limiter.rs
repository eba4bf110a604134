//! Token buckets kept in the cache backend, so every process shares one budget per bucket.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use storehaus_resilience::{BoxFuture, Limiter, LimiterUnavailable, RateLimit, RateLimitError};

use super::CacheManager;
use crate::error::CacheError;
use crate::keys::rate_limit_key;

/// A [`Limiter`] whose buckets live in the cache backend: on Redis one atomic script per call,
/// on Redis's clock, so every process (whatever its own clock says) draws from the same budget;
/// on the in-memory backend, in this process. Made by [`CacheManager::rate_limiter`].
///
/// Each call goes through the manager's timeout and circuit breaker, and any cache failure
/// (unreachable, timed out, breaker open) is [`LimiterUnavailable`], which
/// [`RateLimits`](storehaus_resilience::RateLimits) answers with its strategy. Bucket keys are
/// [`rate_limit_key`] of the bucket name and expire once the bucket would be full again.
///
/// The limiter refers to its manager weakly, so limits using it can be set on that same
/// manager ([`CacheManager::set_rate_limits`]) without keeping it alive; once the manager is
/// dropped every call is unavailable.
///
/// ```
/// use std::sync::Arc;
/// use storehaus_cache::{CacheConfig, CacheManager};
/// use storehaus_resilience::{RateLimit, RateLimits, Strategy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let manager = Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap());
/// let limits = RateLimits::with_limiter(manager.rate_limiter(), Strategy::Fallback)
///     .rule("store.create", RateLimit::per_second(10.0).burst(2))
///     .unwrap();
/// assert!(limits.check("store.create", None).await.is_ok());
/// assert!(limits.check("store.create", None).await.is_ok());
/// assert!(limits.check("store.create", None).await.is_err());
/// # }
/// ```
#[derive(Clone)]
pub struct CacheLimiter {
    manager: Weak<CacheManager>,
}

impl CacheManager {
    /// A rate limiter whose token buckets live in this cache (see [`CacheLimiter`]).
    pub fn rate_limiter(self: &Arc<Self>) -> Arc<dyn Limiter> {
        Arc::new(CacheLimiter { manager: Arc::downgrade(self) })
    }
}

impl Limiter for CacheLimiter {
    fn take<'a>(
        &'a self,
        key: &'a str,
        limit: RateLimit,
    ) -> BoxFuture<'a, Result<Option<Duration>, LimiterUnavailable>> {
        Box::pin(async move {
            let manager =
                self.manager.upgrade().ok_or_else(|| LimiterUnavailable("the cache manager was dropped".to_owned()))?;
            let key = rate_limit_key(key);
            manager
                .call(manager.backend.take_token(&key, limit.per_second, limit.burst))
                .await
                .map_err(|error| LimiterUnavailable(error.to_string()))
        })
    }
}

impl fmt::Debug for CacheLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = self.manager.upgrade().map(|manager| manager.backend.name());
        f.debug_struct("CacheLimiter").field("backend", &backend).finish()
    }
}

/// The error of an explicit call the rate limits refused.
pub(super) fn refusal(error: RateLimitError) -> CacheError {
    match error {
        RateLimitError::Limited { rule, retry_after } => CacheError::RateLimited { rule, retry_after },
        other => CacheError::Unavailable(other.to_string()),
    }
}

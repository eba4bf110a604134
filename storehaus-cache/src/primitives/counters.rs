//! Counters: atomic integers with an optional window.

use std::time::Duration;

use crate::error::{CacheError, CacheResult};
use crate::manager::CacheManager;

impl CacheManager {
    /// Adds `by` (negative to subtract) to the counter at `key` and returns the new value.
    ///
    /// With `ttl`, a counter that has no expiry yet gets one `ttl` from now, so the counter
    /// covers a window that starts at its first increment (rate limits, daily quotas).
    pub async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> CacheResult<i64> {
        self.admit("cache.incr").await?;
        self.call(self.backend().incr_by(key, by, ttl)).await
    }

    /// The counter at `key`; 0 when it does not exist (or expired).
    pub async fn get_counter(&self, key: &str) -> CacheResult<i64> {
        self.admit("cache.get_counter").await?;
        let Some(raw) = self.call(self.backend().get(key)).await? else {
            return Ok(0);
        };
        std::str::from_utf8(&raw)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| CacheError::Serialization(format!("`{key}` does not hold a counter")))
    }
}

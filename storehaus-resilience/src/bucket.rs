//! Token buckets: the rate limit and its local, in-process implementation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket's settings: `burst` calls at once, refilled at `per_second` tokens a second.
/// Over any interval of `t` seconds at most `burst + per_second × t` calls are admitted.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: f64,
    /// The bucket's size: calls admitted at once after a quiet period.
    pub burst: u32,
}

/// A rate limit that cannot be used: a rate that is not a positive finite number, or a burst of 0.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid rate limit: {0}")]
pub struct InvalidRateLimit(pub String);

impl RateLimit {
    /// `per_second` calls a second, with a burst of as many (at least 1).
    pub fn per_second(per_second: f64) -> Self {
        RateLimit { per_second, burst: (per_second.ceil() as u32).max(1) }
    }

    /// `per_minute` calls a minute, with a burst of as many as come in a second (at least 1).
    pub fn per_minute(per_minute: f64) -> Self {
        RateLimit::per_second(per_minute / 60.0)
    }

    /// With a bucket of `burst` tokens.
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// Checks that the limit can be applied.
    pub fn validate(&self) -> Result<(), InvalidRateLimit> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(InvalidRateLimit(format!("per_second must be a positive number, not {}", self.per_second)));
        }
        if self.burst == 0 {
            return Err(InvalidRateLimit("burst must be at least 1".to_owned()));
        }
        Ok(())
    }

    /// How long until `missing` more tokens have been added.
    pub fn refill_time(&self, missing: f64) -> Duration {
        Duration::from_secs_f64((missing / self.per_second).max(0.0))
    }
}

/// One token bucket.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket of `limit`.
    pub fn full(limit: &RateLimit) -> Self {
        TokenBucket { tokens: f64::from(limit.burst), updated: Instant::now() }
    }

    /// Takes one token at `now`, or says how long until one is there.
    pub fn take(&mut self, limit: &RateLimit, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * limit.per_second).min(f64::from(limit.burst));
        self.updated = now.max(self.updated);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(limit.refill_time(1.0 - self.tokens))
        }
    }

    /// Whether the bucket would be full at `now`, so forgetting it changes nothing.
    fn is_full(&self, limit: &RateLimit, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * limit.per_second >= f64::from(limit.burst)
    }
}

/// Buckets kept before full ones are forgotten.
const SWEEP_AT: usize = 10_000;

/// Token buckets by key, in this process.
#[derive(Debug, Default)]
pub struct LocalBuckets {
    buckets: Mutex<HashMap<String, (TokenBucket, RateLimit)>>,
}

impl LocalBuckets {
    /// Takes a token from `key`'s bucket (created full), or says how long until one is there.
    pub fn take(&self, key: &str, limit: &RateLimit) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((bucket, _)) = buckets.get_mut(key) {
            return bucket.take(limit, now);
        }
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, (bucket, limit)| !bucket.is_full(limit, now));
        }
        let mut bucket = TokenBucket::full(limit);
        let taken = bucket.take(limit, now);
        buckets.insert(key.to_owned(), (bucket, *limit));
        taken
    }

    /// Buckets held now.
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_admits_its_burst_then_refills_at_the_rate() {
        let limit = RateLimit::per_second(10.0).burst(3);
        let start = Instant::now();
        let mut bucket = TokenBucket { tokens: 3.0, updated: start };
        for _ in 0..3 {
            assert!(bucket.take(&limit, start).is_ok());
        }
        let wait = bucket.take(&limit, start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        assert!(bucket.take(&limit, start + Duration::from_millis(50)).is_err());
        assert!(bucket.take(&limit, start + Duration::from_millis(100)).is_ok());
        // A long pause refills to the burst, not beyond.
        let later = start + Duration::from_secs(60);
        let admitted = (0..10).filter(|_| bucket.take(&limit, later).is_ok()).count();
        assert_eq!(admitted, 3);
    }

    #[test]
    fn limits_are_validated() {
        assert!(RateLimit::per_second(100.0).burst(20).validate().is_ok());
        assert!(RateLimit::per_second(0.0).validate().is_err());
        assert!(RateLimit::per_second(f64::NAN).validate().is_err());
        assert!(RateLimit::per_second(5.0).burst(0).validate().is_err());
        assert_eq!(RateLimit::per_minute(30.0).burst, 1);
    }

    #[test]
    fn keys_have_buckets_of_their_own() {
        let buckets = LocalBuckets::default();
        let limit = RateLimit::per_second(1.0).burst(2);
        assert!(buckets.take("a", &limit).is_ok());
        assert!(buckets.take("a", &limit).is_ok());
        assert!(buckets.take("a", &limit).is_err());
        assert!(buckets.take("b", &limit).is_ok());
        assert_eq!(buckets.len(), 2);
    }
}

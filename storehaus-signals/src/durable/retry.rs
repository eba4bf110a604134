//! How a failing callback is retried: exponential backoff with full jitter.

use std::time::Duration;
use storehaus_resilience::Backoff;

/// Attempts per event and the delays between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts before the event becomes a dead letter, the first one included.
    pub(crate) max_attempts: u32,
    /// The delay after the first failure, at most; doubles after each further one.
    pub(crate) base: Duration,
    /// Delays stop growing here.
    pub(crate) cap: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`, after `attempt` failures: a random time up to
    /// `base · 2^(attempt-1)`, capped ("full jitter", so consumers that failed together do not
    /// retry together).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        Backoff::new(self.base, self.cap).delay(attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_full_jitter() {
        let policy = RetryPolicy { max_attempts: 10, base: Duration::from_millis(100), cap: Duration::from_secs(1) };
        for attempt in 1..12 {
            let bound = (Duration::from_millis(100) * 2u32.pow(attempt - 1)).min(Duration::from_secs(1));
            for _ in 0..50 {
                assert!(policy.delay(attempt) <= bound, "attempt {attempt}");
            }
        }
        let spread: Vec<Duration> = (0..50).map(|_| policy.delay(4)).collect();
        assert!(spread.iter().any(|d| *d < Duration::from_millis(400)), "jitter reaches below half");
        assert!(spread.iter().any(|d| *d > Duration::from_millis(400)), "and above it");
    }
}

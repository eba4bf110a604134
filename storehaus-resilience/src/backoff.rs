//! Exponential backoff with full jitter.

use crate::random::random_fraction;
use std::time::Duration;

/// Delays that double from `first` up to `max`, each drawn at random from zero to its ceiling
/// ("full jitter"): clients that failed together spread their retries over the whole interval
/// instead of coming back in lockstep.
///
/// ```
/// use std::time::Duration;
/// use storehaus_resilience::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(50));
/// assert_eq!(backoff.ceiling(1), Duration::from_millis(10));
/// assert_eq!(backoff.ceiling(3), Duration::from_millis(40));
/// assert_eq!(backoff.ceiling(9), Duration::from_millis(50));
/// assert!(backoff.delay(2) <= Duration::from_millis(20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first delay.
    pub first: Duration,
    /// Ceilings stop doubling here.
    pub max: Duration,
}

impl Backoff {
    /// Ceilings from `first` doubling up to `max` (at least `first`).
    pub const fn new(first: Duration, max: Duration) -> Self {
        let max = if max.as_nanos() < first.as_nanos() { first } else { max };
        Backoff { first, max }
    }

    /// The ceiling of the delay before retry number `retry` (1 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }

    /// A delay before retry number `retry`: uniform in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32) -> Duration {
        self.ceiling(retry).mul_f64(random_fraction())
    }
}

impl Default for Backoff {
    /// 10 ms doubling up to 1 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(10), Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let ceilings: Vec<u64> = (1..=6).map(|n| backoff.ceiling(n).as_millis() as u64).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.ceiling(0), Duration::from_millis(100));
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn delays_cover_the_whole_interval() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<Duration> = (0..2000).map(|_| backoff.delay(2)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(200)));
        assert!(delays.iter().any(|d| *d < Duration::from_millis(20)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(180)));
    }

    #[test]
    fn a_max_below_first_is_raised() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(10));
        assert_eq!(backoff.ceiling(5), Duration::from_millis(100));
    }
}

//! Randomness for jitter, nonces and fresh epochs, without a dependency.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A pseudo-random number: SipHash under per-process random keys over a counter and the clock.
/// Unpredictable enough for jitter and fresh epochs, not for secrets.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

/// A fresh epoch in `[2^32, 2^62)`: far from small numbers that an `INCR` on a missing key
/// would produce, and far from overflow after increments.
pub(crate) fn random_epoch() -> i64 {
    const LOW: u64 = 1 << 32;
    const SPAN: u64 = (1 << 62) - LOW;
    (LOW + random_u64() % SPAN) as i64
}

/// `ttl` scaled by a random factor in `[1 - percent/100, 1 + percent/100]`, at least 1 ms.
pub(crate) fn jitter(ttl: Duration, percent: u32) -> Duration {
    if percent == 0 {
        return ttl.max(Duration::from_millis(1));
    }
    let unit = (random_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let spread = f64::from(percent) / 100.0;
    ttl.mul_f64(1.0 - spread + 2.0 * spread * unit).max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_bounds_and_spreads() {
        let ttl = Duration::from_secs(100);
        let samples: Vec<Duration> = (0..2000).map(|_| jitter(ttl, 10)).collect();
        assert!(samples.iter().all(|d| *d >= Duration::from_secs(90) && *d <= Duration::from_secs(110)));
        let min = samples.iter().min().unwrap();
        let max = samples.iter().max().unwrap();
        assert!(*max - *min > Duration::from_secs(15), "{min:?}..{max:?}");
        assert_eq!(jitter(ttl, 0), ttl);
        assert_eq!(jitter(Duration::ZERO, 10), Duration::from_millis(1));
    }

    #[test]
    fn epochs_are_large_and_distinct() {
        let a = random_epoch();
        let b = random_epoch();
        assert_ne!(a, b);
        assert!((1 << 32..1 << 62).contains(&a));
    }
}

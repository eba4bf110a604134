//! Randomness for jitter, without a dependency.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

/// A number in `[0, 1)`: SipHash under fresh random keys over a counter. Unpredictable enough
/// to spread retries of many processes, not for secrets.
pub fn random_fraction() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_in_range_and_spread() {
        let samples: Vec<f64> = (0..4000).map(|_| random_fraction()).collect();
        assert!(samples.iter().all(|f| (0.0..1.0).contains(f)));
        let low = samples.iter().filter(|f| **f < 0.5).count();
        assert!((1700..2300).contains(&low), "{low} of 4000 below 0.5");
    }
}

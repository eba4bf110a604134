//! Exponential backoff with jitter between reconnection attempts.

use std::time::Duration;
use storehaus_resilience::random_fraction;

/// First delay after a failure.
pub(crate) const MIN_DELAY: Duration = Duration::from_millis(50);
/// Delays stop doubling here.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(5);

/// Doubling delays from `min` to `max`. Each delay is drawn from its upper half, so that the
/// listeners of many processes that lost the database at once do not come back in lockstep,
/// yet none comes back sooner than half its delay (unlike the full jitter of
/// [`storehaus_resilience::Backoff`], which may retry at once).
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Backoff { min, max, next: min }
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(self.max);
        base / 2 + base.mul_f64(random_fraction() / 2.0)
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(MIN_DELAY, MAX_DELAY);
        let mut base = MIN_DELAY;
        for _ in 0..12 {
            let delay = backoff.next_delay();
            assert!(delay >= base / 2 && delay <= base, "{delay:?} outside [{:?}, {base:?}]", base / 2);
            base = (base * 2).min(MAX_DELAY);
        }
        assert!(backoff.next_delay() >= MAX_DELAY / 2);
        backoff.reset();
        assert!(backoff.next_delay() <= MIN_DELAY);
    }
}

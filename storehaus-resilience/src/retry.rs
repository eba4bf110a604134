//! Retrying calls that are safe to repeat.

use crate::backoff::Backoff;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How a call that failed with a transient error is tried again: up to `max_attempts` attempts
/// in all, with [`Backoff`] delays between them, and none starting after `budget` has passed
/// since the first.
///
/// `max_attempts` of 1 turns retries off ([`RetryPolicy::disabled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means no retry.
    pub max_attempts: u32,
    /// Time after the first attempt's start past which no attempt starts.
    pub budget: Duration,
    /// The delays between attempts.
    pub backoff: Backoff,
}

impl RetryPolicy {
    /// No retries: every call is tried once.
    pub const fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            budget: Duration::ZERO,
            backoff: Backoff::new(Duration::from_millis(10), Duration::from_secs(1)),
        }
    }

    /// Whether a failed call may be tried again.
    pub fn is_enabled(&self) -> bool {
        self.max_attempts > 1 && !self.budget.is_zero()
    }

    /// With `max_attempts` attempts in all (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// With no attempt starting later than `budget` after the first.
    #[must_use]
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// With delays doubling from `first` up to `max`.
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = Backoff::new(first, max);
        self
    }

    /// The retries of one call, starting now.
    pub fn start(&self) -> Retry {
        Retry { policy: *self, started: Instant::now(), attempts: 1 }
    }
}

impl Default for RetryPolicy {
    /// 4 attempts within 2 s, delays from 10 ms doubling up to 1 s.
    fn default() -> Self {
        RetryPolicy { max_attempts: 4, budget: Duration::from_secs(2), backoff: Backoff::default() }
    }
}

/// The retries of one call under a [`RetryPolicy`].
#[derive(Debug, Clone)]
pub struct Retry {
    policy: RetryPolicy,
    started: Instant,
    attempts: u32,
}

impl Retry {
    /// After an attempt failed with a transient error: the delay to wait before the next one, or
    /// `None` when the attempts or the budget are spent. The delay never reaches past the budget.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let remaining = self.policy.budget.checked_sub(self.started.elapsed()).filter(|r| !r.is_zero())?;
        let delay = self.policy.backoff.delay(self.attempts).min(remaining);
        self.attempts += 1;
        Some(delay)
    }

    /// Attempts started so far, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time since the first attempt started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Counts of what retries did, shared by the calls of one component.
#[derive(Debug, Default)]
pub struct RetryCounters {
    retries: AtomicU64,
    recovered: AtomicU64,
    exhausted: AtomicU64,
}

/// A snapshot of [`RetryCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryStats {
    /// Attempts after the first (each followed a transient failure).
    pub retries: u64,
    /// Calls that failed transiently at least once and then succeeded.
    pub recovered: u64,
    /// Calls that still failed transiently when the attempts or the budget ran out.
    pub exhausted: u64,
}

impl RetryCounters {
    /// Counts an attempt after a transient failure.
    pub fn note_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a call that succeeded after retries.
    pub fn note_recovered(&self) {
        self.recovered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a call whose retries ran out.
    pub fn note_exhausted(&self) {
        self.exhausted.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> RetryStats {
        RetryStats {
            retries: self.retries.load(Ordering::Relaxed),
            recovered: self.recovered.load(Ordering::Relaxed),
            exhausted: self.exhausted.load(Ordering::Relaxed),
        }
    }
}

/// Runs `attempt` until it succeeds, fails with an error `is_transient` says is permanent, or
/// the policy is spent; returns the last outcome. `counters` (when given) counts retries.
///
/// Only for calls that are safe to repeat: an attempt that failed may still have taken effect.
pub async fn retry<T, E, Fut>(
    policy: &RetryPolicy,
    counters: Option<&RetryCounters>,
    is_transient: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut retry = policy.start();
    loop {
        let error = match attempt().await {
            Ok(value) => {
                if retry.attempts() > 1
                    && let Some(counters) = counters
                {
                    counters.note_recovered();
                }
                return Ok(value);
            }
            Err(error) if is_transient(&error) => error,
            Err(error) => return Err(error),
        };
        let Some(delay) = retry.next_delay() else {
            if policy.is_enabled()
                && let Some(counters) = counters
            {
                counters.note_exhausted();
            }
            return Err(error);
        };
        if let Some(counters) = counters {
            counters.note_retry();
        }
        tracing::debug!(
            attempt = retry.attempts(),
            delay_ms = delay.as_millis() as u64,
            "retrying after a transient failure"
        );
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests;

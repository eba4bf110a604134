//! Retrying a migration step that timed out waiting for a lock.
//!
//! A statement that needs a table lock waits behind every transaction holding a conflicting one,
//! and every query that arrives meanwhile waits behind it: a migration stuck behind one idle
//! transaction stops all reads of the table. So each statement waits at most `lock_timeout`;
//! an attempt that timed out is rolled back (freeing the queue at once) and tried again after a
//! backoff, until the budget is spent.

use crate::backend::{Backend, Connection};
use crate::error::StoreError;
use crate::resilience::Backoff;
use crate::schema::MigrateOptions;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// PostgreSQL's `lock_not_available`: a lock wait reached `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// The first backoff after a timed-out attempt, at most; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Low enough that a migration starts soon after the lock it waits for is free.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The retries of a migration's attempts that timed out waiting for a lock.
pub(crate) struct LockRetry<B> {
    started: Instant,
    failures: u32,
    budget: Duration,
    lock_timeout: Duration,
    /// What the migration is of, for the error: a table, or a migration file.
    subject: String,
    /// The tables whose lock holders the error names.
    relations: Vec<String>,
    backend: PhantomData<B>,
}

impl<B: Backend> LockRetry<B> {
    pub(crate) fn new(options: &MigrateOptions, subject: &str, relations: Vec<String>) -> Self {
        LockRetry {
            started: Instant::now(),
            failures: 0,
            budget: options.lock_budget,
            lock_timeout: options.lock_timeout,
            subject: subject.to_owned(),
            relations,
            backend: PhantomData,
        }
    }

    /// What is left of the budget.
    pub(crate) fn remaining(&self) -> Duration {
        self.budget.saturating_sub(self.started.elapsed())
    }

    /// After a failed attempt: waits out a backoff (at most what is left of the budget) when it
    /// failed on a lock wait and budget is left; otherwise returns the error to report, which,
    /// once the budget is spent, is [`StoreError::LockTimeout`] naming the sessions that held the
    /// locks. The last attempt may end up to one `lock_timeout` past the budget.
    pub(crate) async fn wait_or_fail(
        &mut self,
        connection: &mut Connection<B>,
        error: StoreError,
    ) -> Result<(), StoreError> {
        if error.sqlstate() != Some(LOCK_NOT_AVAILABLE) {
            return Err(error);
        }
        self.failures += 1;
        let remaining = self.remaining();
        if remaining.is_zero() {
            let blockers =
                B::blocking_sessions(connection, &self.relations, self.lock_timeout).await.unwrap_or_default();
            return Err(StoreError::LockTimeout {
                table: self.subject.clone(),
                waited: self.started.elapsed(),
                blockers,
            });
        }
        // The last attempt starts as the budget ends, so the budget is used up, not cut short.
        let delay = backoff(self.failures).min(remaining);
        tracing::info!(subject = %self.subject, attempt = self.failures, ?delay, %error, "migration waits for a lock; retrying");
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// The delay after `failures` timed-out attempts: a random time up to `FIRST_BACKOFF · 2^(n-1)`,
/// capped ("full jitter", so migrations that waited together do not queue together again).
fn backoff(failures: u32) -> Duration {
    Backoff::new(FIRST_BACKOFF, MAX_BACKOFF).delay(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        for failures in 1..10 {
            let bound = (FIRST_BACKOFF * 2u32.pow(failures - 1)).min(MAX_BACKOFF);
            for _ in 0..50 {
                assert!(backoff(failures) <= bound, "after {failures} failures");
            }
        }
        let spread: Vec<Duration> = (0..50).map(|_| backoff(4)).collect();
        assert!(spread.iter().any(|d| *d < Duration::from_millis(400)), "jitter reaches below half");
        assert!(spread.iter().any(|d| *d > Duration::from_millis(400)), "and above it");
    }
}

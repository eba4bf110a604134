//! A store's retries and rate limits: its own, or those of its pool.

use super::GenericStore;
use crate::error::{Result, StoreError};
use crate::model::Model;
use crate::resilience::{RateLimits, RetryPolicy, retry};
use std::sync::Arc;
use tracing::Instrument;

/// What a store was given instead of its pool's settings.
#[derive(Debug, Clone, Default)]
pub(super) struct StoreGuard {
    retry: Option<RetryPolicy>,
    limits: Option<Arc<RateLimits>>,
}

impl<T: Model> GenericStore<T> {
    /// The same store, retrying its reads with `policy` instead of the pool's
    /// ([`DbPool::retry_policy`](crate::DbPool::retry_policy)); `RetryPolicy::disabled()` turns
    /// them off for this store.
    ///
    /// Reads outside a transaction are retried after a transient error
    /// ([`StoreError::is_transient`]); writes never are, as a write that failed on a lost
    /// connection may have committed. See [`StoreHaus::transaction_retrying`](crate::StoreHaus::transaction_retrying)
    /// for retrying writes.
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Self {
        let mut store = self.clone();
        store.guard.retry = Some(policy);
        store
    }

    /// The same store, applying `limits` instead of the pool's
    /// ([`DbPool::rate_limits`](crate::DbPool::rate_limits)). A call refused by a rule fails with
    /// [`StoreError::RateLimited`] before anything runs.
    ///
    /// Operation names are `store.<method>` (`store.create`, `store.find`, `store.get_by_id`, …);
    /// a write on a store with signals also takes a token of `signals.emit`. Per-principal rules
    /// use the first principal of the store's [`auth`](Self::auth) scope.
    pub fn with_rate_limits(&self, limits: RateLimits) -> Self {
        let mut store = self.clone();
        store.guard.limits = Some(Arc::new(limits));
        store
    }

    /// The policy this store's reads are retried with.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.guard.retry.unwrap_or_else(|| self.shared.pool.retry_policy())
    }

    /// Takes the tokens `operation` needs, when rate limits apply; a write also checks that
    /// the signal layer takes writes (see `Strategy::FailFast`).
    async fn admit(&self, operation: &'static str, write: bool) -> Result<()> {
        if write && let Some(signals) = &self.shared.signals {
            signals.check_available().map_err(|e| StoreError::Signal(e.to_string()))?;
        }
        let pooled;
        let limits = match &self.guard.limits {
            Some(limits) => limits,
            None => match self.shared.pool.rate_limits() {
                Some(limits) => {
                    pooled = limits;
                    &pooled
                }
                None => return Ok(()),
            },
        };
        let principal = self.access.scope().principals.as_ref().and_then(|p| p.first()).map(String::as_str);
        limits.check(&format!("store.{operation}"), principal).await?;
        if write && self.shared.signals.is_some() {
            limits.check("signals.emit", principal).await?;
        }
        Ok(())
    }

    /// Runs the write `op` inside a span carrying the OpenTelemetry database attributes, once
    /// the rate limits admit it.
    pub(crate) async fn traced<R>(&self, operation: &'static str, op: impl Future<Output = Result<R>>) -> Result<R> {
        self.admit(operation, true).await?;
        op.instrument(self.span(operation)).await
    }

    /// Runs the read `op` like [`traced`](Self::traced); outside a transaction, runs it again
    /// after a transient error as the retry policy allows.
    pub(crate) async fn read<R, Fut>(&self, operation: &'static str, op: impl Fn() -> Fut) -> Result<R>
    where
        Fut: Future<Output = Result<R>>,
    {
        self.admit(operation, false).await?;
        let policy = self.retry_policy();
        let span = self.span(operation);
        if self.tx.is_some() || !policy.is_enabled() {
            return op().instrument(span).await;
        }
        let counters = self.shared.pool.retry_counters();
        retry(&policy, Some(counters), StoreError::is_transient, op).instrument(span).await
    }

    /// Runs the read `op` like [`traced`](Self::traced), never again: a stream whose first
    /// rows were delivered cannot start over.
    pub(crate) async fn read_once<R>(&self, operation: &'static str, op: impl Future<Output = Result<R>>) -> Result<R> {
        self.admit(operation, false).await?;
        op.instrument(self.span(operation)).await
    }

    fn span(&self, operation: &'static str) -> tracing::Span {
        tracing::debug_span!(
            "storehaus",
            db.system = self.shared.pool.db_system(),
            db.operation = operation,
            db.sql.table = T::TABLE.name,
        )
    }
}

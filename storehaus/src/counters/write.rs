//! Increments, decrements and sets.

use super::keys::CounterId;
use super::options::Stats;
use super::outage::{Doubt, is_outage};
use super::table::HandOver;
use super::{Counters, OPS_TTL};
use crate::cache::{BufferOp, CacheManager};
use crate::error::{Result, StoreError};
use crate::owner::Owner;
use std::sync::atomic::Ordering;

/// Attempts of a `set` that keeps finding other hand-overs of its counter to finish first.
const SET_ATTEMPTS: usize = 8;

pub(super) fn cache_error(error: crate::cache::CacheError) -> StoreError {
    StoreError::Cache(error.to_string())
}

impl Counters {
    /// Adds `by` (negative to subtract) to the counter `key` of `owner` and returns its new
    /// total: one cache operation, no database write, unless the counters are in direct mode
    /// or the cache is failing (then `count = count + by` in the database).
    ///
    /// An increment that would take the total past `i64` is refused with
    /// [`StoreError::Validation`] (field `"by"`) and changes nothing.
    pub async fn increment(&self, owner: &Owner, key: &str, by: i64) -> Result<i64> {
        let id = CounterId::new(owner, key)?;
        self.add(&id, by).await
    }

    /// Subtracts `by` from the counter `key` of `owner` and returns its new total.
    pub async fn decrement(&self, owner: &Owner, key: &str, by: i64) -> Result<i64> {
        let by = by.checked_neg().ok_or_else(|| StoreError::validation("by", "cannot subtract i64::MIN"))?;
        self.increment(owner, key, by).await
    }

    /// Sets the counter `key` of `owner` to 0 ([`set`](Self::set)).
    pub async fn reset(&self, owner: &Owner, key: &str) -> Result<()> {
        self.set(owner, key, 0).await
    }

    /// Sets the counter `key` of `owner` to `value`, writing the database at once. Exact while
    /// increments arrive: those that reach the cache after the set count on top of `value`,
    /// those before it are replaced.
    ///
    /// With a cache, the set goes through it (it must drop what is buffered), so it fails with
    /// [`StoreError::Cache`] while the cache is unreachable. A set whose database write fails
    /// after the cache took it is not lost: the next [`sync`](Self::sync) writes it.
    pub async fn set(&self, owner: &Owner, key: &str, value: i64) -> Result<()> {
        let id = CounterId::new(owner, key)?;
        let Some(cache) = self.inner.cache.as_deref() else {
            return self.inner.table.set(&id, value).await;
        };
        if self.inner.outage.is_down() {
            return Err(StoreError::Cache("the cache is unreachable, and a set must go through it".to_owned()));
        }
        self.recover(cache).await.map_err(cache_error)?;
        let buffer = self.inner.keys.buffer(&id);
        for _ in 0..SET_ATTEMPTS {
            let state = cache.buffer_take(std::slice::from_ref(&buffer), Some(value)).await.map_err(cache_error)?[0];
            let Some(pending) = state.pending else {
                return Err(StoreError::Cache("the cache did not take the set".to_owned()));
            };
            // A hand-over of another sync or set was pending: finish it, then try again.
            let ours = pending.absolute && pending.value == value && state.delta == 0;
            self.hand_over(cache, vec![(buffer.clone(), HandOver { id: id.clone(), pending })]).await?;
            if ours {
                return Ok(());
            }
        }
        Err(StoreError::Cache("the counter kept being handed over by others; the set was not made".to_owned()))
    }

    async fn add(&self, id: &CounterId, by: i64) -> Result<i64> {
        let inner = &self.inner;
        let Some(cache) = inner.cache.as_deref() else {
            return self.add_directly(id, by, false).await;
        };
        if inner.outage.is_down() {
            return self.add_directly(id, by, true).await;
        }
        if let Err(error) = self.recover(cache).await {
            return if is_outage(&error) { self.add_directly(id, by, true).await } else { Err(cache_error(error)) };
        }
        let buffer = inner.keys.buffer(id);
        let ops = inner.keys.ops(id, &inner.client);
        let op = inner.next_op.fetch_add(1, Ordering::Relaxed).to_string();
        let acked = inner.outage.take_acked(&ops);
        let record = BufferOp { ops: &ops, id: &op, acked: &acked, ttl: OPS_TTL };
        match cache.buffer_add(&buffer, by, record).await {
            Ok(state) => {
                let total = match state.total() {
                    Some(total) => Ok(total),
                    None => self.total_after_add(cache, id, state).await,
                };
                if let Err(refused @ StoreError::Validation { .. }) = total {
                    // The total no longer fits an i64: take the add back, so nothing changed.
                    cache.buffer_settle(&buffer, &ops, &op, by, OPS_TTL).await.map_err(cache_error)?;
                    return Err(refused);
                }
                if inner.outage.acked(ops, op) {
                    self.drop_acked(cache).await;
                }
                Stats::bump(&inner.stats.buffered);
                total
            }
            Err(error) if is_outage(&error) => {
                // The add may have taken place: remember it, so that it is undone in the cache
                // when it is back if it did, since the database counts it now.
                inner.outage.mark_down();
                inner.outage.doubt(Doubt { buffer, ops, op, by });
                self.add_directly(id, by, true).await
            }
            Err(error) => Err(cache_error(error)),
        }
    }

    /// Drops the answered adds' ids from the cache; on failure they expire there in time.
    pub(super) async fn drop_acked(&self, cache: &CacheManager) {
        let acked = self.inner.outage.take_all_acked();
        if let Err(error) = cache.buffer_acknowledge(&acked).await {
            tracing::debug!(%error, "answered counter adds not dropped from the cache");
        }
    }

    /// `count = count + by` in the database.
    async fn add_directly(&self, id: &CounterId, by: i64, fallback: bool) -> Result<i64> {
        let inner = &self.inner;
        let total = inner.table.add(id, by).await?;
        Stats::bump(&inner.stats.direct);
        if fallback {
            Stats::bump(&inner.stats.fallbacks);
            inner.outage.written_directly(inner.keys.buffer(id));
        }
        Ok(total)
    }

    /// Undoes in the cache the adds in doubt that took place there, once it answers again.
    pub(super) async fn recover(&self, cache: &CacheManager) -> std::result::Result<(), crate::cache::CacheError> {
        let outage = &self.inner.outage;
        if !outage.needs_recovery() {
            return Ok(());
        }
        match outage.recover(cache).await {
            Ok(undone) => {
                self.inner.stats.settled.fetch_add(undone, Ordering::Relaxed);
                Ok(())
            }
            Err(error) => {
                if is_outage(&error) {
                    outage.mark_down();
                }
                Err(error)
            }
        }
    }
}

//! [`Counter`]: atomic integers.

use std::time::Duration;

use super::error::{SharedResult, SharedStoreError};
use super::keys::Namespace;
use super::{SharedStore, check_ttl};

/// Atomic counters of a [`SharedStore`], under `<…>:counter:<key>`.
#[derive(Debug, Clone, Copy)]
pub struct Counter<'a> {
    store: &'a SharedStore,
}

impl<'a> Counter<'a> {
    pub(super) fn new(store: &'a SharedStore) -> Self {
        Counter { store }
    }

    /// Adds `by` to the counter (a missing one is 0) and returns the new value. An overflow is
    /// [`OperationFailed`](SharedStoreError::OperationFailed) and changes nothing.
    pub async fn increment(&self, key: &str, by: i64) -> SharedResult<i64> {
        let full = self.store.key_for("key", Namespace::Counter, key)?;
        self.store.call("counter.increment", self.store.inner.adapter.incr_by(&full, by)).await
    }

    /// Subtracts `by` from the counter and returns the new value.
    pub async fn decrement(&self, key: &str, by: i64) -> SharedResult<i64> {
        let full = self.store.key_for("key", Namespace::Counter, key)?;
        let by = by.checked_neg().ok_or_else(|| SharedStoreError::input("amount", "cannot subtract i64::MIN"))?;
        self.store.call("counter.decrement", self.store.inner.adapter.incr_by(&full, by)).await
    }

    /// The counter's value; 0 when it does not exist.
    pub async fn get(&self, key: &str) -> SharedResult<i64> {
        let full = self.store.key_for("key", Namespace::Counter, key)?;
        let Some(raw) = self.store.call("counter.get", self.store.inner.adapter.get(&full)).await? else {
            return Ok(0);
        };
        std::str::from_utf8(&raw)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| SharedStoreError::payload(key, "the key does not hold an integer"))
    }

    /// Makes the counter expire `ttl` from now (a daily limit, a rate window); returns whether
    /// it exists.
    pub async fn expire(&self, key: &str, ttl: Duration) -> SharedResult<bool> {
        let full = self.store.key_for("key", Namespace::Counter, key)?;
        check_ttl(ttl)?;
        self.store.call("counter.expire", self.store.inner.adapter.expire(&full, ttl)).await
    }

    /// Removes the counter; returns whether it existed.
    pub async fn reset(&self, key: &str) -> SharedResult<bool> {
        let full = [self.store.key_for("key", Namespace::Counter, key)?];
        Ok(self.store.call("counter.reset", self.store.inner.adapter.delete(&full)).await? > 0)
    }
}

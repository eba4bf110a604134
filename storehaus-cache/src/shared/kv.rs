//! [`Kv`]: values with an optional TTL, stored as JSON.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{SharedResult, SharedStoreError};
use super::keys::Namespace;
use super::{SharedStore, check_ttl};

/// Key-value operations of a [`SharedStore`], under `<…>:kv:<key>`.
#[derive(Debug, Clone, Copy)]
pub struct Kv<'a> {
    store: &'a SharedStore,
}

impl<'a> Kv<'a> {
    pub(super) fn new(store: &'a SharedStore) -> Self {
        Kv { store }
    }

    /// The value at `key`; a value that does not decode as `T` is
    /// [`InvalidPayload`](SharedStoreError::InvalidPayload).
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> SharedResult<Option<T>> {
        let full = self.store.key_for("key", Namespace::Kv, key)?;
        let raw = self.store.call("kv.get", self.store.inner.adapter.get(&full)).await?;
        raw.map(|raw| serde_json::from_slice(&raw).map_err(|error| SharedStoreError::payload(key, error))).transpose()
    }

    /// Stores `value` as JSON at `key`, expiring after `ttl` (never when `None`).
    pub async fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T, ttl: Option<Duration>) -> SharedResult<()> {
        let full = self.store.key_for("key", Namespace::Kv, key)?;
        ttl.map(check_ttl).transpose()?;
        let raw = serde_json::to_vec(value).map_err(|error| SharedStoreError::payload(key, error))?;
        self.store.call("kv.set", self.store.inner.adapter.set(&full, &raw, ttl)).await
    }

    /// Whether `key` holds a value.
    pub async fn exists(&self, key: &str) -> SharedResult<bool> {
        let full = self.store.key_for("key", Namespace::Kv, key)?;
        self.store.call("kv.exists", self.store.inner.adapter.exists(&full)).await
    }

    /// Removes `key`; returns whether it existed.
    pub async fn remove(&self, key: &str) -> SharedResult<bool> {
        let full = [self.store.key_for("key", Namespace::Kv, key)?];
        Ok(self.store.call("kv.remove", self.store.inner.adapter.delete(&full)).await? > 0)
    }

    /// Makes `key` expire `ttl` from now; returns whether it exists.
    pub async fn expire(&self, key: &str, ttl: Duration) -> SharedResult<bool> {
        let full = self.store.key_for("key", Namespace::Kv, key)?;
        check_ttl(ttl)?;
        self.store.call("kv.expire", self.store.inner.adapter.expire(&full, ttl)).await
    }

    /// Refreshes the TTL of `key` to `ttl` from now; returns whether it exists. The same as
    /// [`expire`](Self::expire), under the seed's name for keeping a value alive.
    pub async fn touch(&self, key: &str, ttl: Duration) -> SharedResult<bool> {
        let full = self.store.key_for("key", Namespace::Kv, key)?;
        check_ttl(ttl)?;
        self.store.call("kv.touch", self.store.inner.adapter.expire(&full, ttl)).await
    }

    /// The time `key` has left; `None` when it is missing or never expires.
    pub async fn ttl(&self, key: &str) -> SharedResult<Option<Duration>> {
        let full = self.store.key_for("key", Namespace::Kv, key)?;
        self.store.call("kv.ttl", self.store.inner.adapter.ttl(&full)).await
    }
}

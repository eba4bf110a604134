//! [`Batch`]: many keys in one round trip.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::adapter::RawEntry;
use super::error::{SharedResult, SharedStoreError};
use super::keys::Namespace;
use super::{MAX_BATCH_KEYS, SharedStore, check_ttl};

/// One value of [`Batch::set`]: a key, a value and its TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry<T> {
    /// The key, as for [`Kv`](super::Kv).
    pub key: String,
    /// The value, stored as JSON.
    pub value: T,
    /// When it expires; never when `None`.
    pub ttl: Option<Duration>,
}

impl<T> BatchEntry<T> {
    /// `value` at `key`, without expiry.
    pub fn new(key: impl Into<String>, value: T) -> Self {
        BatchEntry { key: key.into(), value, ttl: None }
    }

    /// The entry expiring `ttl` after it is written.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// Multi-key operations of a [`SharedStore`] on the same keys as [`Kv`](super::Kv), each one
/// round trip, at most [`MAX_BATCH_KEYS`] keys.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    store: &'a SharedStore,
}

impl<'a> Batch<'a> {
    pub(super) fn new(store: &'a SharedStore) -> Self {
        Batch { store }
    }

    /// The values at `keys`, in order (`None` for a missing key).
    pub async fn get<T: DeserializeOwned>(&self, keys: &[impl AsRef<str>]) -> SharedResult<Vec<Option<T>>> {
        check_len(keys.len())?;
        let full = keys
            .iter()
            .map(|key| self.store.key_for("key", Namespace::Kv, key.as_ref()))
            .collect::<SharedResult<Vec<_>>>()?;
        if full.is_empty() {
            return Ok(Vec::new());
        }
        let raws = self.store.call("batch.get", self.store.inner.adapter.get_many(&full)).await?;
        raws.into_iter()
            .zip(keys)
            .map(|(raw, key)| {
                raw.map(|raw| {
                    serde_json::from_slice(&raw).map_err(|error| SharedStoreError::payload(key.as_ref(), error))
                })
                .transpose()
            })
            .collect()
    }

    /// Stores every entry as JSON with its own TTL. Nothing is written when an entry is
    /// invalid.
    pub async fn set<T: Serialize>(&self, entries: &[BatchEntry<T>]) -> SharedResult<()> {
        check_len(entries.len())?;
        let raws = entries
            .iter()
            .map(|entry| {
                let key = self.store.key_for("key", Namespace::Kv, &entry.key)?;
                entry.ttl.map(check_ttl).transpose()?;
                let value =
                    serde_json::to_vec(&entry.value).map_err(|error| SharedStoreError::payload(&entry.key, error))?;
                Ok(RawEntry { key, value, ttl: entry.ttl })
            })
            .collect::<SharedResult<Vec<_>>>()?;
        if raws.is_empty() {
            return Ok(());
        }
        self.store.call("batch.set", self.store.inner.adapter.set_many(&raws)).await
    }
}

fn check_len(len: usize) -> SharedResult<()> {
    if len > MAX_BATCH_KEYS {
        return Err(SharedStoreError::input("batch", format!("{len} keys, more than the limit of {MAX_BATCH_KEYS}")));
    }
    Ok(())
}

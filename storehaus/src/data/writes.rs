//! Writes: set, delete, clear, TTLs and the cleanup of expired entries.

use super::{DataStore, validate};
use crate::error::{Result, StoreError};
use std::collections::BTreeMap;
use std::time::Duration;

impl DataStore {
    /// Stores `value` under `key`, replacing the value and the time to live of an existing
    /// entry; `ttl: None` keeps it until deleted.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// data.set("features.beta", true, None).await?;
    /// data.set("otp", 123456, Some(Duration::from_secs(300))).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set(&self, key: &str, value: impl serde::Serialize, ttl: Option<Duration>) -> Result<()> {
        let scope = self.at(key)?;
        let value = validate::to_json(value)?;
        self.table().set(scope, key, &value, ttl).await?;
        self.written(&[key]).await;
        Ok(())
    }

    /// Stores every entry, all or nothing, each with `ttl`; returns how many were written (a key
    /// given twice is written once, with its last value).
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// let n = data.set_many([("a", 1), ("b", 2)], None).await?;
    /// assert_eq!(n, 2);
    /// # Ok(()) }
    /// ```
    pub async fn set_many<K: AsRef<str>, V: serde::Serialize>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
        ttl: Option<Duration>,
    ) -> Result<u64> {
        let scope = self.checked_scope()?;
        let mut unique = BTreeMap::new();
        for (key, value) in entries {
            let key = key.as_ref();
            validate::check_path("key", key)?;
            unique.insert(key.to_owned(), validate::to_json(value)?);
        }
        if unique.is_empty() {
            return Ok(0);
        }
        // The keys are kept for the cache only.
        let keys: Vec<String> = match &self.shared.cache {
            Some(_) => unique.keys().cloned().collect(),
            None => Vec::new(),
        };
        let written = self.table().set_many(scope, unique.into_iter().collect(), ttl).await?;
        self.written(&keys).await;
        Ok(written)
    }

    /// Deletes `key`; returns whether a live entry went.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        let scope = self.at(key)?;
        let deleted = self.table().delete(scope, key).await?;
        self.written(&[key]).await;
        Ok(deleted)
    }

    /// Deletes the entries `keys`; returns how many live ones went.
    pub async fn delete_many(&self, keys: impl IntoIterator<Item = impl AsRef<str>>) -> Result<u64> {
        let scope = self.checked_scope()?;
        let keys = checked_keys(keys)?;
        if keys.is_empty() {
            return Ok(0);
        }
        let deleted = self.table().delete_many(scope, &keys).await?;
        self.written(&keys).await;
        Ok(deleted)
    }

    /// Deletes every entry of this scope (exactly this owner and namespace: not the namespaces
    /// below it); returns how many live ones went.
    pub async fn clear(&self) -> Result<u64> {
        let scope = self.checked_scope()?;
        let cleared = self.table().clear(scope).await?;
        self.written_all().await;
        Ok(cleared)
    }

    /// Gives the live entry `key` a new time to live from now (`None`: it never expires);
    /// returns `false` when there is no live entry.
    pub async fn touch(&self, key: &str, ttl: Option<Duration>) -> Result<bool> {
        let scope = self.at(key)?;
        let touched = self.table().touch(scope, key, ttl).await?;
        self.written(&[key]).await;
        Ok(touched)
    }

    /// Deletes expired entries of every scope, `batch_size` at a time, each batch in a short
    /// transaction of its own (on PostgreSQL skipping rows other transactions hold; on SQLite
    /// pausing between batches so other writers get the lock); returns how many went. A batch
    /// size of 0 is [`StoreError::Validation`].
    ///
    /// Expired entries are invisible to reads already; this reclaims their space.
    pub async fn cleanup_expired(&self, batch_size: usize) -> Result<u64> {
        if batch_size == 0 {
            return Err(StoreError::validation("batch_size", "the batch size must be at least 1"));
        }
        let removed = self.table().cleanup_expired(batch_size).await?;
        if removed > 0 {
            self.written_all().await;
        }
        Ok(removed)
    }

    /// Invalidates the cached entries `keys` of this scope.
    pub(super) async fn written<K: AsRef<str>>(&self, keys: &[K]) {
        if let Some(cache) = &self.shared.cache {
            cache.written(&self.scope, keys).await;
        }
    }

    /// Invalidates every cached entry.
    pub(super) async fn written_all(&self) {
        if let Some(cache) = &self.shared.cache {
            cache.written_all().await;
        }
    }
}

/// The keys given, each checked, duplicates dropped.
pub(super) fn checked_keys(keys: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Vec<String>> {
    let mut unique = std::collections::BTreeSet::new();
    for key in keys {
        validate::check_path("key", key.as_ref())?;
        unique.insert(key.as_ref().to_owned());
    }
    Ok(unique.into_iter().collect())
}

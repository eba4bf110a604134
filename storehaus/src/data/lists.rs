//! Counters and list values: atomic in the database.

use super::{DataStore, decode, validate};
use crate::error::{Result, StoreError};
use serde::de::DeserializeOwned;

impl DataStore {
    /// Adds `by` to the integer under `key` in one atomic statement and returns the new value. A
    /// missing or expired entry starts at 0 and never expires; an existing entry keeps its expiry.
    /// A value that is not an integer, or a result outside `i64`, is
    /// [`StoreError::Validation`] naming the key, and nothing changes.
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// assert_eq!(data.increment("visits", 1).await?, 1);
    /// assert_eq!(data.increment("visits", 5).await?, 6);
    /// assert_eq!(data.decrement("visits", 2).await?, 4);
    /// # Ok(()) }
    /// ```
    pub async fn increment(&self, key: &str, by: i64) -> Result<i64> {
        let scope = self.at(key)?;
        let value = self.table().increment(scope, key, by).await?;
        self.written(&[key]).await;
        Ok(value)
    }

    /// Subtracts `by` from the integer under `key`; see [`increment`](DataStore::increment).
    pub async fn decrement(&self, key: &str, by: i64) -> Result<i64> {
        let by = by.checked_neg().ok_or_else(|| {
            StoreError::validation("value", format!("decrementing `{key}` by {by} overflows a 64-bit integer"))
        })?;
        self.increment(key, by).await
    }

    /// Appends `item` to the list under `key` atomically and returns the list's new length; a
    /// missing entry becomes `[item]`. A value that is not a list is
    /// [`StoreError::Validation`], and nothing changes.
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// data.list_push("recent", "a").await?;
    /// assert_eq!(data.list_push("recent", "b").await?, 2);
    /// assert_eq!(data.list_remove("recent", "a").await?, 1);
    /// assert_eq!(data.list::<String>("recent").await?, ["b"]);
    /// # Ok(()) }
    /// ```
    pub async fn list_push(&self, key: &str, item: impl serde::Serialize) -> Result<u64> {
        let scope = self.at(key)?;
        let item = validate::to_json(item)?;
        let length = self.table().list_push(scope, key, &item).await?;
        self.written(&[key]).await;
        Ok(length)
    }

    /// Removes every element equal to `item` (JSON equality) from the list under `key`
    /// atomically; returns how many went.
    pub async fn list_remove(&self, key: &str, item: impl serde::Serialize) -> Result<u64> {
        let scope = self.at(key)?;
        let item = validate::to_json(item)?;
        let removed = self.table().list_remove(scope, key, &item).await?;
        if removed > 0 {
            self.written(&[key]).await;
        }
        Ok(removed)
    }

    /// The list under `key`; empty when there is no live entry.
    pub async fn list<T: DeserializeOwned>(&self, key: &str) -> Result<Vec<T>> {
        Ok(self.get::<serde_json::Value>(key).await?.map(|value| decode(key, value)).transpose()?.unwrap_or_default())
    }

    /// Empties the list under `key` (its expiry stays); `false` when there is no live entry.
    pub async fn list_clear(&self, key: &str) -> Result<bool> {
        let scope = self.at(key)?;
        let cleared = self.table().list_clear(scope, key).await?;
        self.written(&[key]).await;
        Ok(cleared)
    }
}

//! Reads: single keys, whole scopes, prefixes, nested trees, TTLs.

use super::writes::checked_keys;
use super::{DataStore, Expiry, decode, nested, validate};
use crate::backend::data::Stored;
use crate::error::Result;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use std::collections::BTreeMap;

impl DataStore {
    /// The value of `key` as `T`; `None` when there is no live entry. A value that does not
    /// decode as `T` is [`StoreError::Decode`](crate::StoreError::Decode).
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// data.set("limits", json!({"uploads": 10}), None).await?;
    /// let limits: Option<serde_json::Value> = data.get("limits").await?;
    /// assert_eq!(limits, Some(json!({"uploads": 10})));
    /// assert_eq!(data.get::<i64>("missing").await?, None);
    /// # Ok(()) }
    /// ```
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.read(key).await? {
            Some(stored) => decode(key, stored.value).map(Some),
            None => Ok(None),
        }
    }

    /// The value of `key`, or `default` when there is no live entry.
    pub async fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.get(key).await?.unwrap_or(default))
    }

    /// Whether `key` has a live entry.
    pub async fn has(&self, key: &str) -> Result<bool> {
        let scope = self.at(key)?;
        match &self.shared.cache {
            Some(_) => Ok(self.read(key).await?.is_some()),
            None => self.table().has(scope, key).await,
        }
    }

    /// The live entry `key`, through the cache when the store has one.
    async fn read(&self, key: &str) -> Result<Option<Stored>> {
        let scope = self.at(key)?;
        match &self.shared.cache {
            Some(cache) => cache.read(scope, key, async || self.table().get(scope, key).await).await,
            None => self.table().get(scope, key).await,
        }
    }

    /// The keys of the scope's live entries, in byte order.
    pub async fn keys(&self) -> Result<Vec<String>> {
        let scope = self.checked_scope()?;
        Ok(self.table().entries(scope, None, false).await?.into_iter().map(|(key, _)| key).collect())
    }

    /// The scope's live entries, by key.
    pub async fn all(&self) -> Result<BTreeMap<String, Json>> {
        let scope = self.checked_scope()?;
        Ok(self.table().entries(scope, None, true).await?.into_iter().collect())
    }

    /// The keys of live entries starting with `prefix`, taken literally (`%` and `_` are plain
    /// characters), in byte order. A prefix with a NUL byte, which no key has, is
    /// [`StoreError::Validation`](crate::StoreError::Validation).
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// data.set_many([("a%b", 1), ("abc", 2)], None).await?;
    /// assert_eq!(data.keys_starting_with("a%").await?, ["a%b"]);
    /// # Ok(()) }
    /// ```
    pub async fn keys_starting_with(&self, prefix: &str) -> Result<Vec<String>> {
        let scope = self.checked_scope()?;
        validate::check_prefix(prefix)?;
        Ok(self.table().entries(scope, Some(prefix), false).await?.into_iter().map(|(key, _)| key).collect())
    }

    /// The live entries whose key starts with `prefix` (literally), by key.
    pub async fn starting_with(&self, prefix: &str) -> Result<BTreeMap<String, Json>> {
        let scope = self.checked_scope()?;
        validate::check_prefix(prefix)?;
        Ok(self.table().entries(scope, Some(prefix), true).await?.into_iter().collect())
    }

    /// The subtree under the dotted path `prefix`: the entries whose key is `prefix` or starts
    /// with `prefix.`, folded at `.` with the prefix stripped; `{}` when there are none.
    ///
    /// Where a path is both an entry and the parent of others, the deeper entries win. An empty
    /// `prefix` is the whole scope, as [`nested`](DataStore::nested).
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// data.set_many([("mail.smtp.host", json!("mx")), ("mail.smtp.port", json!(25))], None).await?;
    /// assert_eq!(data.nested_from("mail").await?, json!({"smtp": {"host": "mx", "port": 25}}));
    /// # Ok(()) }
    /// ```
    pub async fn nested_from(&self, prefix: &str) -> Result<Json> {
        if prefix.is_empty() {
            return self.nested().await;
        }
        let scope = self.checked_scope()?;
        validate::check_prefix(prefix)?;
        let entries = self.table().entries(scope, Some(prefix), true).await?;
        let inside = entries.iter().filter_map(|(key, value)| Some((nested::relative(key, prefix)?, value.clone())));
        Ok(nested::fold(inside))
    }

    /// Every live entry of the scope folded at `.` into one JSON tree:
    /// `config.app.name` → `{"config":{"app":{"name":…}}}`.
    pub async fn nested(&self) -> Result<Json> {
        let scope = self.checked_scope()?;
        let entries = self.table().entries(scope, None, true).await?;
        Ok(nested::fold(entries.iter().map(|(key, value)| (key.as_str(), value.clone()))))
    }

    /// The live entries among `keys`, by key; missing ones are left out.
    pub async fn get_many<T: DeserializeOwned>(
        &self,
        keys: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<BTreeMap<String, T>> {
        let scope = self.checked_scope()?;
        let keys = checked_keys(keys)?;
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let found = self.table().get_many(scope, &keys).await?;
        found.into_iter().map(|(key, value)| Ok((key.clone(), decode(&key, value)?))).collect()
    }

    /// How long the entry `key` has left; `None` when there is no live entry.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use storehaus::prelude::*;
    /// # use storehaus::data::Expiry;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// data.set("session", "s1", Some(Duration::from_secs(60))).await?;
    /// assert!(matches!(data.ttl("session").await?, Some(Expiry::In(left)) if left <= Duration::from_secs(60)));
    /// data.set("forever", 1, None).await?;
    /// assert_eq!(data.ttl("forever").await?, Some(Expiry::Never));
    /// # Ok(()) }
    /// ```
    pub async fn ttl(&self, key: &str) -> Result<Option<Expiry>> {
        let scope = self.at(key)?;
        self.table().ttl(scope, key).await
    }
}

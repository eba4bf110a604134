//! Batch writes of [`GenericStore`]: many rows per statement, all or nothing per call.
//!
//! Every call is atomic: it runs on the store's transaction when it has one, else the backend
//! runs all its statements in one transaction of their own, so a failing row leaves nothing of
//! the call behind.

use super::{GenericStore, Record, checked_tags};
use crate::error::{Result, StoreError};
use crate::model::{Model, key_identity, key_is_unset};
use std::collections::HashSet;

impl<T: Model> GenericStore<T> {
    /// Inserts every value of `data`, each with `tags`; returns the stored records in the order
    /// given.
    ///
    /// A call may hold any number of rows: they are sent in chunks, one statement per chunk.
    pub async fn create_many(&self, data: Vec<T>, tags: Option<Vec<String>>) -> Result<Vec<Record<T>>> {
        let tags = checked_tags(tags.unwrap_or_default())?;
        // Checked first: a store without the scope its model needs refuses even an empty call.
        self.cx()?;
        if data.is_empty() {
            return Ok(Vec::new());
        }
        self.traced("create_many", async {
            let records = self.table().create_many(self.cx()?, &data, &tags).await?;
            self.written(&records).await;
            Ok(records)
        })
        .await
    }

    /// [`create_many`](Self::create_many) that skips every value conflicting with a stored row
    /// (or an earlier value of the call) on the key or any unique constraint
    /// (`ON CONFLICT DO NOTHING`). Returns the records inserted, in the order given: the values
    /// missing from it were skipped, and nothing of them was written.
    ///
    /// Soft-deleted rows still hold their key and unique values, so they make a value skip too.
    pub async fn create_many_or_ignore(&self, data: Vec<T>, tags: Option<Vec<String>>) -> Result<Vec<Record<T>>> {
        let tags = checked_tags(tags.unwrap_or_default())?;
        self.cx()?;
        if data.is_empty() {
            return Ok(Vec::new());
        }
        self.traced("create_many_or_ignore", async {
            let records = self.table().create_many_or_ignore(self.cx()?, &data, &tags).await?;
            self.written(&records).await;
            Ok(records)
        })
        .await
    }

    /// [`GenericStore::upsert`] for many values at once: the values whose key is new are
    /// inserted as [`create_many`](Self::create_many) inserts them, the others written to their
    /// live rows as [`update_many`](Self::update_many) writes them (with `tags` when `Some`;
    /// `None` keeps the rows' tags). Each half is one statement per chunk, and the call is one
    /// transaction. Returns the records in the order given.
    ///
    /// Values whose key belongs to a soft-deleted row, or to a row out of the store's access
    /// scope, are left alone and missing from the result. On an `#[table(auto_increment)]` model, values whose key is `0` are inserted with
    /// a key the database assigns, and values with a set key that no live row has are left out
    /// (the database assigns keys, so none is inserted as given). A key given twice is refused
    /// with [`StoreError::Validation`] before anything runs. Conflicts on other unique constraints fail the call ([`StoreError::UniqueViolation`]);
    /// per-call control (another conflict target, insert-only fields, increments) is
    /// [`upsert_with`](Self::upsert_with), one value at a time.
    pub async fn upsert_many(&self, data: Vec<T>, tags: Option<Vec<String>>) -> Result<Vec<Record<T>>> {
        let tags = tags.map(checked_tags).transpose()?;
        let keys: Vec<T::Key> = data.iter().map(Model::key).collect();
        distinct_keys::<T>(keys.iter())?;
        self.cx()?;
        if data.is_empty() {
            return Ok(Vec::new());
        }
        self.traced("upsert_many", async {
            let records = self.table().upsert_many(self.cx()?, &data, tags.as_deref()).await?;
            self.written(&records).await;
            Ok(records)
        })
        .await
    }

    /// Writes the update fields of each value to the live row of its key (the key inside the
    /// value is ignored, as in [`GenericStore::update`]); tags are kept.
    ///
    /// Keys with no live row (in the store's access scope) are skipped: the returned records are the rows updated, in no
    /// particular order. Each has its `__updated_at__` moved and, on versioned tables, its
    /// version up by one. A key given twice is refused with [`StoreError::Validation`].
    pub async fn update_many(&self, items: Vec<(T::Key, T)>) -> Result<Vec<Record<T>>> {
        distinct_keys::<T>(items.iter().map(|(key, _)| key))?;
        self.cx()?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.traced("update_many", async {
            let records = self.table().update_many(self.cx()?, &items).await?;
            self.written(&records).await;
            Ok(records)
        })
        .await
    }

    /// Deletes the live rows with these keys (sets `__deleted_at__` on soft-delete tables,
    /// removes them otherwise); returns how many were deleted.
    pub async fn delete_many(&self, ids: Vec<T::Key>) -> Result<u64> {
        self.cx()?;
        if ids.is_empty() {
            return Ok(0);
        }
        self.traced("delete_many", async {
            let deleted = self.table().delete_many(self.cx()?, &ids).await?;
            self.written(&deleted).await;
            Ok(deleted.len() as u64)
        })
        .await
    }
}

/// Refuses a key given twice: one statement cannot write a row twice, and which value should
/// win would be a guess.
/// Unset keys of an `auto_increment` model are not compared: each becomes a new row.
fn distinct_keys<'k, T: Model>(keys: impl Iterator<Item = &'k T::Key>) -> Result<()> {
    let column = T::TABLE.primary_key().name;
    let generated = T::TABLE.generated_key().is_some();
    let mut seen = HashSet::new();
    for key in keys.filter(|key| !(generated && key_is_unset(*key))) {
        if !seen.insert(key_identity::<T>(key)?) {
            return Err(StoreError::validation(column, format!("key {key:?} is given more than once in one call")));
        }
    }
    Ok(())
}

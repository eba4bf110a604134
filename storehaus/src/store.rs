//! [`GenericStore<T>`]: CRUD, tags, soft delete, versioning and queries for one model.

mod batch;
mod cache;
mod queries;
mod related;
mod resilience;
mod scope;
mod stream;
mod upsert;

pub use crate::model::{Record, SystemFields};
pub use queries::Page;
pub use stream::RecordStream;

use crate::backend::{DbPool, Table, TagEdit, TxHandle};
use crate::cache::CacheParams;
use crate::error::{Result, StoreError};
use crate::model::Model;
use crate::signals::SignalManager;
use crate::transaction::Transaction;
use std::fmt;
use std::sync::Arc;

/// The store of model `T`: every read and write of its table.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`. Calls run on the pool, or on a transaction
/// for a store obtained with [`GenericStore::with_transaction`].
///
/// On an `#[table(auth)]` model or one with a `#[tenant]` field, every call goes through the
/// store's access scope ([`GenericStore::auth`], [`GenericStore::tenant`]) and reaches only the
/// rows it allows; a store without the scope its model needs refuses every call unless it says
/// [`GenericStore::unrestricted`]. See `docs/access.md`.
pub struct GenericStore<T: Model> {
    shared: Arc<Shared<T>>,
    tx: Option<Transaction>,
    access: scope::Access,
    guard: resilience::StoreGuard,
}

struct Shared<T: Model> {
    pool: DbPool,
    /// The operations of `T` on its table, on the pool's backend.
    table: Arc<dyn Table<T>>,
    signals: Option<Arc<SignalManager>>,
    cache: Option<cache::StoreCache>,
}

impl<T: Model> GenericStore<T> {
    /// A store of `T` on `pool` (a [`DbPool`], or a `sqlx::PgPool` / `sqlx::SqlitePool` the
    /// application already has), with optional signals and cache.
    ///
    /// The statements the model runs on every call are built here, once.
    pub fn new(pool: impl Into<DbPool>, signals: Option<Arc<SignalManager>>, cache: Option<CacheParams>) -> Self {
        let pool = pool.into();
        let table = pool.table::<T>(signals.is_some());
        let cache = cache.map(|params| cache::StoreCache::new(params, T::TABLE.name, pool.db_system()));
        let shared = Arc::new(Shared { pool, table, signals, cache });
        GenericStore { shared, tx: None, access: scope::Access::default(), guard: resilience::StoreGuard::default() }
    }

    /// The same store (with the same access scope), running its calls on `tx`.
    pub fn with_transaction(&self, tx: &Transaction) -> Self {
        GenericStore { tx: Some(tx.clone()), ..self.clone() }
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &DbPool {
        &self.shared.pool
    }

    /// The signal manager, if the store has one.
    pub fn signals(&self) -> Option<&Arc<SignalManager>> {
        self.shared.signals.as_ref()
    }

    /// The cache parameters, if the store has them.
    pub fn cache(&self) -> Option<&CacheParams> {
        self.shared.cache.as_ref().map(|cache| &cache.params)
    }

    /// The operations of `T` on its table.
    pub(crate) fn table(&self) -> &dyn Table<T> {
        &*self.shared.table
    }

    /// The transaction calls run on, if any.
    pub(crate) fn tx(&self) -> Option<&dyn TxHandle> {
        self.tx.as_ref().map(Transaction::handle)
    }

    /// Inserts `data` with `tags`; returns the stored record with its system fields.
    pub async fn create(&self, data: T, tags: Option<Vec<String>>) -> Result<Record<T>> {
        let tags = checked_tags(tags.unwrap_or_default())?;
        let record = self.traced("create", self.table().insert(self.cx()?, &data, &tags)).await?;
        // A cached "no such row" must not outlive the insert.
        self.written(std::slice::from_ref(&record)).await;
        Ok(record)
    }

    /// The live record with key `id`, if any; read through the cache when the store has one.
    pub async fn get_by_id(&self, id: &T::Key) -> Result<Option<Record<T>>> {
        self.read("get_by_id", || async move { self.read_by_id(id).await }).await
    }

    /// The record with key `id`, soft-deleted or not.
    pub async fn get_by_id_with_deleted(&self, id: &T::Key) -> Result<Option<Record<T>>> {
        self.read("get_by_id", || async move { self.table().get(self.cx()?, id, true).await }).await
    }

    /// Every live record, ordered by key. Prefer [`GenericStore::find`] with a limit on large tables.
    pub async fn list_all(&self) -> Result<Vec<Record<T>>> {
        self.read("list_all", || async move { self.table().list_all(self.cx()?).await }).await
    }

    /// How many live records there are.
    pub async fn count(&self) -> Result<u64> {
        self.read("count", || async move { self.table().count(self.cx()?).await }).await
    }

    /// Writes the update fields of `data` to the live row `id` (the key inside `data` is ignored).
    /// `tags: None` keeps the tags; `Some` replaces them.
    ///
    /// Fails with [`StoreError::NotFound`], or [`StoreError::Deleted`] for a soft-deleted row
    /// (which stays deleted and unchanged). On a versioned table the version goes up by one.
    pub async fn update(&self, id: &T::Key, data: T, tags: Option<Vec<String>>) -> Result<Record<T>> {
        let tags = tags.map(checked_tags).transpose()?;
        self.traced("update", self.update_row(id, &data, tags.as_deref(), None)).await
    }

    /// Like [`GenericStore::update`], but only if the row's `__version__` is still
    /// `expected_version` (checked and bumped in one statement); otherwise
    /// [`StoreError::Conflict`].
    pub async fn update_versioned(
        &self,
        id: &T::Key,
        data: T,
        tags: Option<Vec<String>>,
        expected_version: i64,
    ) -> Result<Record<T>> {
        let tags = tags.map(checked_tags).transpose()?;
        self.traced("update", self.update_row(id, &data, tags.as_deref(), Some(expected_version))).await
    }

    /// Writes a record read earlier back, checking its version on versioned tables.
    pub async fn save(&self, record: &Record<T>) -> Result<Record<T>> {
        let data: &T = record;
        let tags = Some(record.tags());
        self.traced("update", self.update_row(&data.key(), data, tags, record.version())).await
    }

    async fn update_row(
        &self,
        id: &T::Key,
        data: &T,
        tags: Option<&[String]>,
        version: Option<i64>,
    ) -> Result<Record<T>> {
        let record = self.table().update(self.cx()?, id, data, tags, version).await?;
        self.written_keys([id]).await;
        Ok(record)
    }

    /// Deletes the live row `id`: sets `__deleted_at__` on soft-delete tables, removes it otherwise.
    /// Returns whether a row was deleted.
    pub async fn delete(&self, id: &T::Key) -> Result<bool> {
        self.traced("delete", async {
            let deleted = self.table().delete(self.cx()?, id).await?.is_some();
            if deleted {
                self.written_keys([id]).await;
            }
            Ok(deleted)
        })
        .await
    }

    /// Deletes the live row `id` like [`GenericStore::delete`], but only if its `__version__` is
    /// still `expected_version` (checked in the same statement); otherwise
    /// [`StoreError::Conflict`] and the row stays as it is.
    ///
    /// On a soft-delete table the soft delete also bumps the version, as every versioned write
    /// does, so a record read before it is stale afterwards, even once the row is restored.
    /// Fails with [`StoreError::NotFound`] when there is no such row, [`StoreError::Deleted`]
    /// when it is soft-deleted already, and [`StoreError::Validation`] on a table that is not
    /// `versioned`.
    pub async fn delete_versioned(&self, id: &T::Key, expected_version: i64) -> Result<()> {
        self.traced("delete", async {
            self.table().delete_versioned(self.cx()?, id, expected_version).await?;
            self.written_keys([id]).await;
            Ok(())
        })
        .await
    }

    /// Deletes the row `record` was read from. On a versioned table only if it is still at the
    /// record's version ([`GenericStore::delete_versioned`]: a stale record is
    /// [`StoreError::Conflict`] and deletes nothing); elsewhere like [`GenericStore::delete`].
    ///
    /// Fails with [`StoreError::NotFound`] when no live row has the record's key.
    pub async fn delete_record(&self, record: &Record<T>) -> Result<()> {
        let data: &T = record;
        let key = data.key();
        match record.version() {
            Some(version) => self.delete_versioned(&key, version).await,
            None if self.delete(&key).await? => Ok(()),
            None => Err(self.table().why_unchanged(self.cx()?, &key, None).await),
        }
    }

    /// Brings the soft-deleted row `id` back.
    ///
    /// Fails with [`StoreError::NotFound`] when no deleted row has that key, and with
    /// [`StoreError::Unsupported`] on a table without soft delete.
    pub async fn restore(&self, id: &T::Key) -> Result<Record<T>> {
        if !T::TABLE.soft_delete {
            return Err(no_soft_delete::<T>("restore"));
        }
        self.traced("restore", async {
            let record = self.table().restore(self.cx()?, id).await?.ok_or_else(|| StoreError::NotFound {
                table: T::TABLE.name.to_owned(),
                key: format!("{id:?} (deleted)"),
            })?;
            self.written_keys([id]).await;
            Ok(record)
        })
        .await
    }

    /// Removes the row `id` for good, deleted or not. Returns whether a row was removed.
    pub async fn force_delete(&self, id: &T::Key) -> Result<bool> {
        self.traced("force_delete", async {
            let removed = self.table().force_delete(self.cx()?, id).await?.is_some();
            if removed {
                self.written_keys([id]).await;
            }
            Ok(removed)
        })
        .await
    }

    /// Adds the tags the live row `id` does not have yet, keeping its existing ones in order.
    pub async fn add_tags<S: Into<String>>(&self, id: &T::Key, tags: impl IntoIterator<Item = S>) -> Result<Record<T>> {
        self.edit_tags(TagEdit::Add, id, tags).await
    }

    /// Removes these tags from the live row `id`.
    pub async fn remove_tags<S: Into<String>>(
        &self,
        id: &T::Key,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<Record<T>> {
        self.edit_tags(TagEdit::Remove, id, tags).await
    }

    /// Replaces the tags of the live row `id`.
    pub async fn set_tags<S: Into<String>>(&self, id: &T::Key, tags: impl IntoIterator<Item = S>) -> Result<Record<T>> {
        self.edit_tags(TagEdit::Set, id, tags).await
    }

    async fn edit_tags<S: Into<String>>(
        &self,
        edit: TagEdit,
        id: &T::Key,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<Record<T>> {
        let tags = checked_tags(tags.into_iter().map(Into::into).collect())?;
        self.traced("tags", async {
            let cx = self.cx()?;
            match self.table().tags(cx, edit, id, &tags).await? {
                Some(record) => {
                    self.written_keys([id]).await;
                    Ok(record)
                }
                None => Err(self.table().why_unchanged(cx, id, None).await),
            }
        })
        .await
    }

    /// Lets `principal` see the live row `id` (adds it to `__auth__`; `auth` models). Fails with
    /// [`StoreError::NotFound`] when the store's scope does not see the row.
    pub async fn grant(&self, id: &T::Key, principal: impl Into<String>) -> Result<()> {
        self.edit_access(TagEdit::Add, id, principal.into()).await
    }

    /// Takes `principal` out of the live row `id`'s `__auth__` (`auth` models); revoking the
    /// store's own principal hides the row from the store. Fails with [`StoreError::NotFound`]
    /// when the store's scope does not see the row.
    pub async fn revoke(&self, id: &T::Key, principal: impl Into<String>) -> Result<()> {
        self.edit_access(TagEdit::Remove, id, principal.into()).await
    }

    /// The principals that may see the live row `id` (`auth` models). Fails with
    /// [`StoreError::NotFound`] when the store's scope does not see the row.
    pub async fn principals(&self, id: &T::Key) -> Result<Vec<String>> {
        self.read("get_by_id", || async move {
            let record = self.table().get(self.cx()?, id, false).await?;
            let record = record
                .ok_or_else(|| StoreError::NotFound { table: T::TABLE.name.to_owned(), key: format!("{id:?}") })?;
            Ok(record.into_parts().1.principals.unwrap_or_default())
        })
        .await
    }

    async fn edit_access(&self, edit: TagEdit, id: &T::Key, principal: String) -> Result<()> {
        let cx = self.cx()?;
        if !T::TABLE.auth {
            return Err(StoreError::Unsupported {
                backend: "model",
                operation: format!("grant and revoke on `{}`, which is not #[table(auth)]", T::TABLE.name).into(),
            });
        }
        scope::check_principal(&principal)?;
        self.traced("access", async {
            match self.table().access(cx, edit, id, std::slice::from_ref(&principal)).await? {
                Some(_) => {
                    self.written_keys([id]).await;
                    Ok(())
                }
                None => Err(self.table().why_unchanged(cx, id, None).await),
            }
        })
        .await
    }
}

/// Rejects empty tags and drops repeated ones, keeping the first occurrence's position.
fn checked_tags(tags: Vec<String>) -> Result<Vec<String>> {
    let mut unique: Vec<String> = Vec::with_capacity(tags.len());
    // A set, so that thousands of tags cost a hash each rather than a scan of the ones before.
    let mut seen = std::collections::HashSet::with_capacity(tags.len());
    for tag in tags {
        if tag.is_empty() {
            return Err(StoreError::validation("__tags__", "a tag cannot be empty"));
        }
        if tag.contains('\0') {
            return Err(StoreError::validation("__tags__", "a tag cannot contain a NUL byte"));
        }
        if seen.insert(tag.clone()) {
            unique.push(tag);
        }
    }
    Ok(unique)
}

fn no_soft_delete<T: Model>(operation: &'static str) -> StoreError {
    StoreError::Unsupported {
        backend: "model",
        operation: format!("{operation} on `{}`, which is not #[table(soft_delete)]", T::TABLE.name).into(),
    }
}

impl<T: Model> Clone for GenericStore<T> {
    fn clone(&self) -> Self {
        GenericStore {
            shared: Arc::clone(&self.shared),
            tx: self.tx.clone(),
            access: self.access.clone(),
            guard: self.guard.clone(),
        }
    }
}

impl<T: Model> fmt::Debug for GenericStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenericStore")
            .field("table", &T::TABLE.name)
            .field("in_transaction", &self.tx.is_some())
            .field("scope", &self.access.scope().shape())
            .field("signals", &self.shared.signals.is_some())
            .field("cache", &self.shared.cache.is_some())
            .finish()
    }
}

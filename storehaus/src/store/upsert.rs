//! Inserts that meet an existing row: insert-or-ignore and upserts of [`GenericStore`].

use super::{GenericStore, Record, checked_tags};
use crate::error::Result;
use crate::model::Model;
use crate::query::Upsert;

impl<T: Model> GenericStore<T> {
    /// [`create`](Self::create), unless the value conflicts with a stored row on the key or any
    /// unique constraint (`ON CONFLICT DO NOTHING`): then nothing is written and the result is
    /// `None`.
    ///
    /// A soft-deleted row still holds its key and unique values, so it makes the call return
    /// `None` too.
    pub async fn create_or_ignore(&self, data: T, tags: Option<Vec<String>>) -> Result<Option<Record<T>>> {
        let tags = checked_tags(tags.unwrap_or_default())?;
        let record = self.traced("create_or_ignore", self.table().insert_or_ignore(self.cx()?, &data, &tags)).await?;
        if let Some(record) = &record {
            self.written(std::slice::from_ref(record)).await;
        }
        Ok(record)
    }

    /// Inserts `data` as [`create`](Self::create) would, or, when a row with its key exists,
    /// writes to that row what [`update`](Self::update) would write (and `tags` when `Some`;
    /// `None` keeps the row's tags). [`upsert_with`](Self::upsert_with) with [`Upsert::on_key`].
    ///
    /// An existing row's `__created_at__` stays, `__updated_at__` moves and, on versioned tables,
    /// the version goes up by one (no version check). A soft-deleted row is never revived: the
    /// call fails with [`StoreError::Deleted`](crate::StoreError::Deleted) and the row stays as
    /// it was.
    pub async fn upsert(&self, data: T, tags: Option<Vec<String>>) -> Result<Record<T>> {
        self.upsert_with(data, tags, Upsert::on_key()).await
    }

    /// Inserts `data`, or updates the live row that `how` meets it on: the key, or any
    /// `#[unique]` / `#[unique(a, b)]` constraint ([`Upsert::on`]).
    ///
    /// The insert writes what [`create`](Self::create) writes, with `tags` (none for `None`).
    /// The update writes what [`update`](Self::update) writes, except the
    /// [`insert_only`](Upsert::insert_only) fields, with the [`on_update`](Upsert::on_update)
    /// assignments on top, and `tags` when `Some`; `__created_at__` stays, `__updated_at__`
    /// moves, the version of a versioned row goes up by one. A soft-deleted row holding the
    /// values is left as it is and the call fails with
    /// [`StoreError::Deleted`](crate::StoreError::Deleted). A conflict on another unique
    /// constraint fails with [`StoreError::UniqueViolation`](crate::StoreError::UniqueViolation).
    /// Under an access scope, a row the scope does not see is never updated: the call fails as a
    /// [`create`](Self::create) of the same values would
    /// ([`StoreError::UniqueViolation`](crate::StoreError::UniqueViolation)).
    ///
    /// Concurrent upserts of the same values end with one row: the insert waits for a
    /// concurrent insert of those values and then updates its row. The insert and the update
    /// run in one transaction (the store's, when it has one); an insert records a creation
    /// event, an update an update event. When the values also fill another unique constraint,
    /// PostgreSQL can report the race as a violation of that constraint; outside a transaction
    /// the upsert then runs once more and meets the committed row. Inside the store's
    /// transaction that violation reaches the caller, since the transaction is aborted.
    pub async fn upsert_with(&self, data: T, tags: Option<Vec<String>>, how: Upsert) -> Result<Record<T>> {
        let tags = tags.map(checked_tags).transpose()?;
        let how = how.resolve(T::TABLE)?;
        self.traced("upsert", async {
            let record = self.table().upsert(self.cx()?, &data, tags.as_deref(), &how).await?;
            self.written(std::slice::from_ref(&record)).await;
            Ok(record)
        })
        .await
    }
}

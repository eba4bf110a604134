//! Batch writes, dispatched to the backend that owns the connection.

use super::Ops;
use super::postgres::store as pg;
use super::sqlite::store as lite;
use crate::error::StoreError;
use crate::model::Model;
use crate::store::Record;

impl Ops<'_> {
    /// How many rows the backend writes per statement; a batch of more spans several statements.
    pub(crate) fn batch_rows(self) -> usize {
        match self {
            Ops::Postgres { .. } => pg::BATCH_ROWS,
            Ops::Sqlite { .. } => lite::BATCH_ROWS,
        }
    }

    /// Inserts every row of `data` with `tags`; returns the records in the order given.
    pub(crate) async fn create_many<T: Model>(self, data: &[T], tags: &[String]) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::create_many(exec, statements, data, tags).await,
            Ops::Sqlite { exec, statements } => lite::create_many(exec, statements, data, tags).await,
        }
    }

    /// Inserts `data`, updating live rows whose key exists; rows whose key belongs to a
    /// soft-deleted row are left alone and not returned. `tags: None` keeps existing rows' tags.
    pub(crate) async fn upsert_many<T: Model>(
        self,
        data: &[T],
        tags: Option<&[String]>,
    ) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::upsert_many(exec, statements, data, tags).await,
            Ops::Sqlite { exec, statements } => lite::upsert_many(exec, statements, data, tags).await,
        }
    }

    /// Writes the update columns of each value to the live row of its key; returns the rows updated.
    pub(crate) async fn update_many<T: Model>(self, items: &[(T::Key, T)]) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::update_many(exec, statements, items).await,
            Ops::Sqlite { exec, statements } => lite::update_many(exec, statements, items).await,
        }
    }

    /// Soft-deletes (or deletes, without soft delete) the live rows with these keys.
    pub(crate) async fn delete_many<T: Model>(self, keys: &[T::Key]) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::delete_many::<T>(exec, statements, keys).await,
            Ops::Sqlite { exec, statements } => lite::delete_many::<T>(exec, statements, keys).await,
        }
    }
}

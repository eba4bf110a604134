//! The operations a store runs on its table, written once over [`Backend`].
//!
//! [`Table<T>`] is what a [`GenericStore`](crate::GenericStore) holds: the operations of model `T`
//! on one backend, behind a trait object that [`DbPool`](super::DbPool) builds, so nothing above
//! this folder knows which backend it runs on.

mod batch;
mod crud;
mod query;
mod upsert;

#[cfg(test)]
pub(crate) use query::write_statement;

use super::executor::{Db, Executor, TxHandle, tx_cell};
use super::sql::Statements;
pub(crate) use super::sql::TagEdit;
use super::{Backend, BatchStatements};
use crate::error::StoreError;
use crate::model::{Model, Record};
use crate::query::ResolvedUpsert;
use crate::query::resolved::{Assignment, ResolvedQuery};
use crate::signals::BoxFuture;
use crate::types::Value;
use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The records of a page, in the query's order, with what its cursors are made of.
pub(crate) struct PageRows<T> {
    pub records: Vec<Record<T>>,
    /// Rows of the query sort before the first record / after the last one.
    pub has_previous: bool,
    pub has_next: bool,
    /// The sort-key values of the first and last record.
    pub first: Option<Vec<Value>>,
    pub last: Option<Vec<Value>>,
}

/// An open transaction to run a call on, or none for the pool.
pub(crate) type Tx<'a> = Option<&'a dyn TxHandle>;

/// The future of an operation.
type Fut<'a, R> = BoxFuture<'a, Result<R>>;

/// The rows a write returns.
type Rows<T> = Vec<Record<T>>;

/// The operations of model `T` on its table. Every call runs on `tx` when given, else on the pool.
pub(crate) trait Table<T: Model>: Send + Sync + fmt::Debug {
    fn insert<'a>(&'a self, tx: Tx<'a>, data: &'a T, tags: &'a [String]) -> Fut<'a, Record<T>>;
    /// `insert`, or nothing when the row conflicts with a unique constraint or the key.
    fn insert_or_ignore<'a>(&'a self, tx: Tx<'a>, data: &'a T, tags: &'a [String]) -> Fut<'a, Option<Record<T>>>;
    /// Inserts `data`, or updates the live row meeting it on `how.target`; a soft-deleted row
    /// there is `StoreError::Deleted`. `tags: None` keeps an existing row's tags.
    fn upsert<'a>(
        &'a self,
        tx: Tx<'a>,
        data: &'a T,
        tags: Option<&'a [String]>,
        how: &'a ResolvedUpsert,
    ) -> Fut<'a, Record<T>>;
    fn get<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key, with_deleted: bool) -> Fut<'a, Option<Record<T>>>;
    /// The live row `key` as values in record-column order (for keeping it outside the database).
    fn get_values<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key) -> Fut<'a, Option<Vec<Value>>>;
    fn list_all<'a>(&'a self, tx: Tx<'a>) -> Fut<'a, Rows<T>>;
    fn count<'a>(&'a self, tx: Tx<'a>) -> Fut<'a, u64>;
    /// Writes the update columns of `data` to the live row `key` (and its tags when given), if its
    /// version is `expected` when given.
    fn update<'a>(
        &'a self,
        tx: Tx<'a>,
        key: &'a T::Key,
        data: &'a T,
        tags: Option<&'a [String]>,
        expected: Option<i64>,
    ) -> Fut<'a, Record<T>>;
    /// Soft-deletes (or deletes, without soft delete) the live row `key`.
    fn delete<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>>;
    /// [`Table::delete`] if the row's version is `expected`; `Err` saying why not otherwise.
    fn delete_versioned<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key, expected: i64) -> Fut<'a, Record<T>>;
    /// Brings a soft-deleted row back; `None` without soft delete or when not deleted.
    fn restore<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>>;
    fn force_delete<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>>;
    /// `None` when no live row has the key.
    fn tags<'a>(&'a self, tx: Tx<'a>, edit: TagEdit, key: &'a T::Key, tags: &'a [String])
    -> Fut<'a, Option<Record<T>>>;
    /// Explains a write by key that changed nothing: no such row, a soft-deleted row, or a stale
    /// version.
    fn why_unchanged<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key, expected: Option<i64>) -> BoxFuture<'a, StoreError>;

    fn find<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery) -> Fut<'a, Rows<T>>;
    fn find_page<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery) -> Fut<'a, PageRows<T>>;
    /// Sends the records of `q` to `sink` as they are read; stops early when the consumer is gone.
    fn stream<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery, sink: &'a Sink<T>) -> Fut<'a, ()>;
    fn count_where<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery) -> Fut<'a, u64>;
    fn update_where<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery, set: &'a [Assignment]) -> Fut<'a, Rows<T>>;
    /// Soft-deletes (where the table has it, unless `hard`) or deletes the matching rows.
    fn delete_where<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery, hard: bool) -> Fut<'a, Rows<T>>;
    fn restore_where<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery) -> Fut<'a, Rows<T>>;

    /// Inserts every row of `data` with `tags`; returns the records in the order given.
    fn create_many<'a>(&'a self, tx: Tx<'a>, data: &'a [T], tags: &'a [String]) -> Fut<'a, Rows<T>>;
    /// Inserts the rows of `data` that conflict with no unique constraint or key; returns those,
    /// in the order given.
    fn create_many_or_ignore<'a>(&'a self, tx: Tx<'a>, data: &'a [T], tags: &'a [String]) -> Fut<'a, Rows<T>>;
    /// Inserts `data`, updating live rows whose key exists; rows whose key belongs to a
    /// soft-deleted row are left alone and not returned. `tags: None` keeps existing rows' tags.
    fn upsert_many<'a>(&'a self, tx: Tx<'a>, data: &'a [T], tags: Option<&'a [String]>) -> Fut<'a, Rows<T>>;
    /// Writes the update columns of each value to the live row of its key; returns the rows updated.
    fn update_many<'a>(&'a self, tx: Tx<'a>, items: &'a [(T::Key, T)]) -> Fut<'a, Rows<T>>;
    /// Soft-deletes (or deletes, without soft delete) the live rows with these keys.
    fn delete_many<'a>(&'a self, tx: Tx<'a>, keys: &'a [T::Key]) -> Fut<'a, Rows<T>>;
}

/// Where a stream's records go.
pub(crate) type Sink<T> = tokio::sync::mpsc::Sender<Result<Record<T>>>;

/// The table of model `T` on backend `B`.
pub(crate) struct BackendTable<B: Backend, T> {
    db: Db<B>,
    statements: Statements,
    /// The statements of chunked batch writes, built on the first batch; an `Err` is kept, as
    /// building again would fail again.
    batch: OnceLock<Result<BatchStatements, StoreError>>,
    model: PhantomData<fn() -> T>,
}

impl<B: Backend, T: Model> BackendTable<B, T> {
    pub(crate) fn new(db: Db<B>, emit: bool) -> Self {
        let statements = Statements::new::<B>(T::TABLE, emit);
        BackendTable { db, statements, batch: OnceLock::new(), model: PhantomData }
    }

    /// Where a call runs.
    fn exec<'a>(&'a self, tx: Tx<'a>) -> Result<Executor<'a, B>> {
        match tx {
            Some(tx) => tx_cell::<B>(tx).map(Executor::Tx),
            None => Ok(Executor::Pool(&self.db)),
        }
    }

    /// The chunked batch statements, built on first use.
    fn batch(&self) -> Result<&BatchStatements> {
        self.batch.get_or_init(|| B::batch_statements(T::TABLE, self.statements.emit)).as_ref().map_err(Clone::clone)
    }
}

impl<B: Backend, T> fmt::Debug for BackendTable<B, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table").field("backend", &B::NAME).field("emit", &self.statements.emit).finish_non_exhaustive()
    }
}

impl<B: Backend, T: Model> Table<T> for BackendTable<B, T> {
    fn insert<'a>(&'a self, tx: Tx<'a>, data: &'a T, tags: &'a [String]) -> Fut<'a, Record<T>> {
        Box::pin(async move { crud::insert(self.exec(tx)?, &self.statements, data, tags).await })
    }

    fn insert_or_ignore<'a>(&'a self, tx: Tx<'a>, data: &'a T, tags: &'a [String]) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move { crud::insert_or_ignore(self.exec(tx)?, &self.statements, data, tags, 0).await })
    }

    fn upsert<'a>(
        &'a self,
        tx: Tx<'a>,
        data: &'a T,
        tags: Option<&'a [String]>,
        how: &'a ResolvedUpsert,
    ) -> Fut<'a, Record<T>> {
        Box::pin(async move { upsert::upsert(self.exec(tx)?, &self.statements, data, tags, how).await })
    }

    fn get<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key, with_deleted: bool) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move { crud::get(self.exec(tx)?, &self.statements, key, with_deleted).await })
    }

    fn get_values<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key) -> Fut<'a, Option<Vec<Value>>> {
        Box::pin(async move { crud::get_values::<B, T>(self.exec(tx)?, &self.statements, key).await })
    }

    fn list_all<'a>(&'a self, tx: Tx<'a>) -> Fut<'a, Rows<T>> {
        Box::pin(async move { crud::list_all(self.exec(tx)?, &self.statements).await })
    }

    fn count<'a>(&'a self, tx: Tx<'a>) -> Fut<'a, u64> {
        Box::pin(async move { crud::count(self.exec(tx)?, &self.statements).await })
    }

    fn update<'a>(
        &'a self,
        tx: Tx<'a>,
        key: &'a T::Key,
        data: &'a T,
        tags: Option<&'a [String]>,
        expected: Option<i64>,
    ) -> Fut<'a, Record<T>> {
        Box::pin(async move { crud::update(self.exec(tx)?, &self.statements, key, data, tags, expected).await })
    }

    fn delete<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move { crud::delete(self.exec(tx)?, &self.statements, key).await })
    }

    fn delete_versioned<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key, expected: i64) -> Fut<'a, Record<T>> {
        Box::pin(async move { crud::delete_versioned(self.exec(tx)?, &self.statements, key, expected).await })
    }

    fn restore<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move { crud::restore(self.exec(tx)?, &self.statements, key).await })
    }

    fn force_delete<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move { crud::force_delete(self.exec(tx)?, &self.statements, key).await })
    }

    fn tags<'a>(
        &'a self,
        tx: Tx<'a>,
        edit: TagEdit,
        key: &'a T::Key,
        tags: &'a [String],
    ) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move { crud::tags(self.exec(tx)?, &self.statements, edit, key, tags).await })
    }

    fn why_unchanged<'a>(&'a self, tx: Tx<'a>, key: &'a T::Key, expected: Option<i64>) -> BoxFuture<'a, StoreError> {
        Box::pin(async move {
            match self.exec(tx) {
                Ok(exec) => crud::why_unchanged::<B, T>(exec, &self.statements, key, expected).await,
                Err(error) => error,
            }
        })
    }

    fn find<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery) -> Fut<'a, Rows<T>> {
        Box::pin(async move { query::find(self.exec(tx)?, q).await })
    }

    fn find_page<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery) -> Fut<'a, PageRows<T>> {
        Box::pin(async move { query::find_page(self.exec(tx)?, q).await })
    }

    fn stream<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery, sink: &'a Sink<T>) -> Fut<'a, ()> {
        Box::pin(async move { query::stream(self.exec(tx)?, q, sink).await })
    }

    fn count_where<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery) -> Fut<'a, u64> {
        Box::pin(async move { query::count_where(self.exec(tx)?, q).await })
    }

    fn update_where<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery, set: &'a [Assignment]) -> Fut<'a, Rows<T>> {
        Box::pin(async move {
            // The one write whose values SQL computes (`increment`), so the one a range guard can refuse.
            query::update_where(self.exec(tx)?, self.statements.emit, q, set)
                .await
                .map_err(|error| crate::schema::range_violation(T::TABLE, error))
        })
    }

    fn delete_where<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery, hard: bool) -> Fut<'a, Rows<T>> {
        Box::pin(async move { query::delete_where(self.exec(tx)?, self.statements.emit, q, hard).await })
    }

    fn restore_where<'a>(&'a self, tx: Tx<'a>, q: &'a ResolvedQuery) -> Fut<'a, Rows<T>> {
        Box::pin(async move { query::restore_where(self.exec(tx)?, self.statements.emit, q).await })
    }

    fn create_many<'a>(&'a self, tx: Tx<'a>, data: &'a [T], tags: &'a [String]) -> Fut<'a, Rows<T>> {
        Box::pin(async move { batch::create_many(self, self.exec(tx)?, data, tags).await })
    }

    fn create_many_or_ignore<'a>(&'a self, tx: Tx<'a>, data: &'a [T], tags: &'a [String]) -> Fut<'a, Rows<T>> {
        Box::pin(async move { batch::insert_rows(self, self.exec(tx)?, data, tags, batch::Insert::IgnoreAny).await })
    }

    fn upsert_many<'a>(&'a self, tx: Tx<'a>, data: &'a [T], tags: Option<&'a [String]>) -> Fut<'a, Rows<T>> {
        Box::pin(async move { batch::upsert_many(self, self.exec(tx)?, data, tags).await })
    }

    fn update_many<'a>(&'a self, tx: Tx<'a>, items: &'a [(T::Key, T)]) -> Fut<'a, Rows<T>> {
        Box::pin(async move { batch::update_many(self, self.exec(tx)?, items).await })
    }

    fn delete_many<'a>(&'a self, tx: Tx<'a>, keys: &'a [T::Key]) -> Fut<'a, Rows<T>> {
        Box::pin(async move { batch::delete_many(self, self.exec(tx)?, keys).await })
    }
}

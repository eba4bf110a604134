//! The operations a store runs on its table, written once over [`Backend`].
//!
//! [`Table<T>`] is what a [`GenericStore`](crate::GenericStore) holds: the operations of model `T`
//! on one backend, behind a trait object that [`DbPool`](super::DbPool) builds, so nothing above
//! this folder knows which backend it runs on.

mod batch;
mod crud;
mod query;
mod upsert;

pub(crate) use query::write_statement;

use super::executor::{Db, Executor, TxHandle, tx_cell};
use super::sql::Statements;
pub(crate) use super::sql::TagEdit;
use super::{Backend, BatchStatements};
use crate::error::StoreError;
use crate::model::{Model, Record};
use crate::query::resolved::{Assignment, ResolvedQuery};
use crate::query::{ResolvedUpsert, Scope, ScopeShape};
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

/// Where a call runs (an open transaction, or none for the pool) and which rows it may reach:
/// what every operation of a [`Table`] takes, so none runs without a scope.
#[derive(Clone, Copy)]
pub(crate) struct Cx<'a> {
    pub tx: Option<&'a dyn TxHandle>,
    pub scope: &'a Scope,
}

/// The future of an operation.
type Fut<'a, R> = BoxFuture<'a, Result<R>>;

/// The rows a write returns.
type Rows<T> = Vec<Record<T>>;

/// The operations of model `T` on its table. Every call runs on `cx.tx` when given, else on the
/// pool, and reaches only the rows of `cx.scope`.
pub(crate) trait Table<T: Model>: Send + Sync + fmt::Debug {
    fn insert<'a>(&'a self, cx: Cx<'a>, data: &'a T, tags: &'a [String]) -> Fut<'a, Record<T>>;
    /// `insert`, or nothing when the row conflicts with a unique constraint or the key.
    fn insert_or_ignore<'a>(&'a self, cx: Cx<'a>, data: &'a T, tags: &'a [String]) -> Fut<'a, Option<Record<T>>>;
    /// Inserts `data`, or updates the live row meeting it on `how.target`; a soft-deleted row
    /// there is `StoreError::Deleted`. `tags: None` keeps an existing row's tags.
    fn upsert<'a>(
        &'a self,
        cx: Cx<'a>,
        data: &'a T,
        tags: Option<&'a [String]>,
        how: &'a ResolvedUpsert,
    ) -> Fut<'a, Record<T>>;
    fn get<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key, with_deleted: bool) -> Fut<'a, Option<Record<T>>>;
    /// The live row `key` as values in record-column order (for keeping it outside the database).
    fn get_values<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key) -> Fut<'a, Option<Vec<Value>>>;
    fn list_all<'a>(&'a self, cx: Cx<'a>) -> Fut<'a, Rows<T>>;
    fn count<'a>(&'a self, cx: Cx<'a>) -> Fut<'a, u64>;
    /// Writes the update columns of `data` to the live row `key` (and its tags when given), if its
    /// version is `expected` when given.
    fn update<'a>(
        &'a self,
        cx: Cx<'a>,
        key: &'a T::Key,
        data: &'a T,
        tags: Option<&'a [String]>,
        expected: Option<i64>,
    ) -> Fut<'a, Record<T>>;
    /// Soft-deletes (or deletes, without soft delete) the live row `key`.
    fn delete<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>>;
    /// [`Table::delete`] if the row's version is `expected`; `Err` saying why not otherwise.
    fn delete_versioned<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key, expected: i64) -> Fut<'a, Record<T>>;
    /// Brings a soft-deleted row back; `None` without soft delete or when not deleted.
    fn restore<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>>;
    fn force_delete<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>>;
    /// `None` when no live row has the key.
    fn tags<'a>(&'a self, cx: Cx<'a>, edit: TagEdit, key: &'a T::Key, tags: &'a [String])
    -> Fut<'a, Option<Record<T>>>;
    /// Grants (`TagEdit::Add`) or revokes (`TagEdit::Remove`) `principals` on the live row
    /// `key`; `None` when no live row in scope has the key.
    fn access<'a>(
        &'a self,
        cx: Cx<'a>,
        edit: TagEdit,
        key: &'a T::Key,
        principals: &'a [String],
    ) -> Fut<'a, Option<Record<T>>>;
    /// Explains a write by key that changed nothing: no such row, a soft-deleted row, or a stale
    /// version.
    fn why_unchanged<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key, expected: Option<i64>) -> BoxFuture<'a, StoreError>;

    fn find<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery) -> Fut<'a, Rows<T>>;
    fn find_page<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery) -> Fut<'a, PageRows<T>>;
    /// Sends the records of `q` to `sink` as they are read; stops early when the consumer is gone.
    fn stream<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery, sink: &'a Sink<T>) -> Fut<'a, ()>;
    fn count_where<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery) -> Fut<'a, u64>;
    fn update_where<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery, set: &'a [Assignment]) -> Fut<'a, Rows<T>>;
    /// Soft-deletes (where the table has it, unless `hard`) or deletes the matching rows.
    fn delete_where<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery, hard: bool) -> Fut<'a, Rows<T>>;
    fn restore_where<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery) -> Fut<'a, Rows<T>>;

    /// Inserts every row of `data` with `tags`; returns the records in the order given.
    fn create_many<'a>(&'a self, cx: Cx<'a>, data: &'a [T], tags: &'a [String]) -> Fut<'a, Rows<T>>;
    /// Inserts the rows of `data` that conflict with no unique constraint or key; returns those,
    /// in the order given.
    fn create_many_or_ignore<'a>(&'a self, cx: Cx<'a>, data: &'a [T], tags: &'a [String]) -> Fut<'a, Rows<T>>;
    /// Inserts `data`, updating live rows whose key exists; rows whose key belongs to a
    /// soft-deleted row are left alone and not returned. `tags: None` keeps existing rows' tags.
    fn upsert_many<'a>(&'a self, cx: Cx<'a>, data: &'a [T], tags: Option<&'a [String]>) -> Fut<'a, Rows<T>>;
    /// Writes the update columns of each value to the live row of its key; returns the rows updated.
    fn update_many<'a>(&'a self, cx: Cx<'a>, items: &'a [(T::Key, T)]) -> Fut<'a, Rows<T>>;
    /// Soft-deletes (or deletes, without soft delete) the live rows with these keys.
    fn delete_many<'a>(&'a self, cx: Cx<'a>, keys: &'a [T::Key]) -> Fut<'a, Rows<T>>;
}

/// Where a stream's records go.
pub(crate) type Sink<T> = tokio::sync::mpsc::Sender<Result<Record<T>>>;

/// The table of model `T` on backend `B`.
pub(crate) struct BackendTable<B: Backend, T> {
    db: Db<B>,
    /// The statements of each [`ScopeShape`] the model can be used with, by shape index.
    statements: [Option<Statements>; 4],
    /// The statements of chunked batch writes per shape, built on the first batch; an `Err` is
    /// kept, as building again would fail again.
    batch: [OnceLock<Result<BatchStatements, StoreError>>; 4],
    emit: bool,
    model: PhantomData<fn() -> T>,
}

impl<B: Backend, T: Model> BackendTable<B, T> {
    pub(crate) fn new(db: Db<B>, emit: bool) -> Self {
        let statements =
            ScopeShape::ALL.map(|shape| shape.fits(T::TABLE).then(|| Statements::new::<B>(T::TABLE, emit, shape)));
        BackendTable { db, statements, batch: Default::default(), emit, model: PhantomData }
    }

    /// Where a call runs, and the statements of its scope.
    async fn at<'a>(&'a self, cx: Cx<'a>) -> Result<(Executor<'a, B>, &'a Statements)> {
        let statements = self.statements(cx.scope)?;
        Ok((self.exec(cx).await?, statements))
    }

    /// Where a call runs. In a transaction on a `row_security` table, the database is told the
    /// scope first (for the rest of the transaction, until a store of another scope says
    /// otherwise), so its policies hold the transaction's hand-written SQL to it too.
    async fn exec<'a>(&'a self, cx: Cx<'a>) -> Result<Executor<'a, B>> {
        let Some(tx) = cx.tx else { return Ok(Executor::Pool(&self.db)) };
        let exec = Executor::Tx(tx_cell::<B>(tx)?);
        if T::TABLE.row_security
            && let Some((sql, args)) = B::scope_statement(cx.scope)?
        {
            exec.fetch_all(sql, args).await?;
        }
        Ok(exec)
    }

    /// The statements of stores of `scope`'s shape.
    fn statements(&self, scope: &Scope) -> Result<&Statements> {
        self.statements[scope.shape().index()].as_ref().ok_or_else(|| StoreError::Validation {
            field: None,
            message: format!("`{}` has no such access scope", T::TABLE.name),
        })
    }

    /// The chunked batch statements of `scope`, built on first use.
    fn batch(&self, scope: &Scope) -> Result<&BatchStatements> {
        let shape = scope.shape();
        self.batch[shape.index()]
            .get_or_init(|| B::batch_statements(T::TABLE, self.emit, shape))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl<B: Backend, T> fmt::Debug for BackendTable<B, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table").field("backend", &B::NAME).field("emit", &self.emit).finish_non_exhaustive()
    }
}

impl<B: Backend, T: Model> Table<T> for BackendTable<B, T> {
    fn insert<'a>(&'a self, cx: Cx<'a>, data: &'a T, tags: &'a [String]) -> Fut<'a, Record<T>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::insert(exec, s, cx.scope, data, tags).await
        })
    }

    fn insert_or_ignore<'a>(&'a self, cx: Cx<'a>, data: &'a T, tags: &'a [String]) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::insert_or_ignore(exec, s, cx.scope, data, tags, 0).await
        })
    }

    fn upsert<'a>(
        &'a self,
        cx: Cx<'a>,
        data: &'a T,
        tags: Option<&'a [String]>,
        how: &'a ResolvedUpsert,
    ) -> Fut<'a, Record<T>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            upsert::upsert(exec, s, cx.scope, data, tags, how).await
        })
    }

    fn get<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key, with_deleted: bool) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::get(exec, s, cx.scope, key, with_deleted).await
        })
    }

    fn get_values<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key) -> Fut<'a, Option<Vec<Value>>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::get_values::<B, T>(exec, s, cx.scope, key).await
        })
    }

    fn list_all<'a>(&'a self, cx: Cx<'a>) -> Fut<'a, Rows<T>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::list_all(exec, s, cx.scope).await
        })
    }

    fn count<'a>(&'a self, cx: Cx<'a>) -> Fut<'a, u64> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::count::<B, T>(exec, s, cx.scope).await
        })
    }

    fn update<'a>(
        &'a self,
        cx: Cx<'a>,
        key: &'a T::Key,
        data: &'a T,
        tags: Option<&'a [String]>,
        expected: Option<i64>,
    ) -> Fut<'a, Record<T>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::update(exec, s, cx.scope, key, data, tags, expected).await
        })
    }

    fn delete<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::delete(exec, s, cx.scope, key).await
        })
    }

    fn delete_versioned<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key, expected: i64) -> Fut<'a, Record<T>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::delete_versioned(exec, s, cx.scope, key, expected).await
        })
    }

    fn restore<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::restore(exec, s, cx.scope, key).await
        })
    }

    fn force_delete<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::force_delete(exec, s, cx.scope, key).await
        })
    }

    fn tags<'a>(
        &'a self,
        cx: Cx<'a>,
        edit: TagEdit,
        key: &'a T::Key,
        tags: &'a [String],
    ) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            crud::tags(exec, s, cx.scope, &s.tags[edit as usize], key, tags).await
        })
    }

    fn access<'a>(
        &'a self,
        cx: Cx<'a>,
        edit: TagEdit,
        key: &'a T::Key,
        principals: &'a [String],
    ) -> Fut<'a, Option<Record<T>>> {
        Box::pin(async move {
            let (exec, s) = self.at(cx).await?;
            let statement = match (&s.access, edit) {
                (Some([grant, _]), TagEdit::Add) => grant,
                (Some([_, revoke]), TagEdit::Remove) => revoke,
                _ => {
                    return Err(StoreError::Unsupported {
                        backend: "model",
                        operation: format!("access edits on `{}`, which is not #[table(auth)]", T::TABLE.name).into(),
                    });
                }
            };
            crud::tags(exec, s, cx.scope, statement, key, principals).await
        })
    }

    fn why_unchanged<'a>(&'a self, cx: Cx<'a>, key: &'a T::Key, expected: Option<i64>) -> BoxFuture<'a, StoreError> {
        Box::pin(async move {
            match self.at(cx).await {
                Ok((exec, s)) => crud::why_unchanged::<B, T>(exec, s, cx.scope, key, expected).await,
                Err(error) => error,
            }
        })
    }

    fn find<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery) -> Fut<'a, Rows<T>> {
        Box::pin(async move { query::find(self.exec(cx).await?, &cx.scope.restrict(q)).await })
    }

    fn find_page<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery) -> Fut<'a, PageRows<T>> {
        Box::pin(async move { query::find_page(self.exec(cx).await?, &cx.scope.restrict(q)).await })
    }

    fn stream<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery, sink: &'a Sink<T>) -> Fut<'a, ()> {
        Box::pin(async move { query::stream(self.exec(cx).await?, &cx.scope.restrict(q), sink).await })
    }

    fn count_where<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery) -> Fut<'a, u64> {
        Box::pin(async move { query::count_where(self.exec(cx).await?, &cx.scope.restrict(q)).await })
    }

    fn update_where<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery, set: &'a [Assignment]) -> Fut<'a, Rows<T>> {
        Box::pin(async move {
            cx.scope.check_assignments(T::TABLE, set)?;
            // The one write whose values SQL computes (`increment`), so the one a range guard can refuse.
            query::update_where(self.exec(cx).await?, self.emit, &cx.scope.restrict(q), set)
                .await
                .map_err(|error| crate::schema::range_violation(T::TABLE, error))
        })
    }

    fn delete_where<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery, hard: bool) -> Fut<'a, Rows<T>> {
        Box::pin(async move { query::delete_where(self.exec(cx).await?, self.emit, &cx.scope.restrict(q), hard).await })
    }

    fn restore_where<'a>(&'a self, cx: Cx<'a>, q: &'a ResolvedQuery) -> Fut<'a, Rows<T>> {
        Box::pin(async move { query::restore_where(self.exec(cx).await?, self.emit, &cx.scope.restrict(q)).await })
    }

    fn create_many<'a>(&'a self, cx: Cx<'a>, data: &'a [T], tags: &'a [String]) -> Fut<'a, Rows<T>> {
        Box::pin(async move {
            batch::insert_rows(self, self.exec(cx).await?, cx.scope, data, tags, batch::Insert::Plain).await
        })
    }

    fn create_many_or_ignore<'a>(&'a self, cx: Cx<'a>, data: &'a [T], tags: &'a [String]) -> Fut<'a, Rows<T>> {
        Box::pin(async move {
            batch::insert_rows(self, self.exec(cx).await?, cx.scope, data, tags, batch::Insert::IgnoreAny).await
        })
    }

    fn upsert_many<'a>(&'a self, cx: Cx<'a>, data: &'a [T], tags: Option<&'a [String]>) -> Fut<'a, Rows<T>> {
        Box::pin(async move { batch::upsert_many(self, self.exec(cx).await?, cx.scope, data, tags).await })
    }

    fn update_many<'a>(&'a self, cx: Cx<'a>, items: &'a [(T::Key, T)]) -> Fut<'a, Rows<T>> {
        Box::pin(async move { batch::update_many(self, self.exec(cx).await?, cx.scope, items).await })
    }

    fn delete_many<'a>(&'a self, cx: Cx<'a>, keys: &'a [T::Key]) -> Fut<'a, Rows<T>> {
        Box::pin(async move { batch::delete_many(self, self.exec(cx).await?, cx.scope, keys).await })
    }
}

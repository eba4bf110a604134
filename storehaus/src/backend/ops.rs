//! Store operations, dispatched to the backend that owns the connection.

use super::postgres::store as pg;
use super::sqlite::store as lite;
use crate::error::StoreError;
use crate::model::Model;
use crate::query::resolved::{Assignment, ResolvedQuery};
use crate::store::Record;
use crate::types::Value;

/// Statements a model runs on every call, built once per store.
#[derive(Debug)]
pub(crate) enum ModelStatements {
    Postgres(pg::Statements),
    Sqlite(lite::Statements),
}

/// An open transaction's connection.
#[derive(Debug)]
pub(crate) enum TxState {
    Postgres(pg::TxCell),
    Sqlite(lite::TxCell),
}

impl TxState {
    pub(crate) async fn commit(&self) -> Result<(), StoreError> {
        match self {
            TxState::Postgres(cell) => cell.commit().await,
            TxState::Sqlite(cell) => cell.commit().await,
        }
    }

    pub(crate) async fn rollback(&self) -> Result<(), StoreError> {
        match self {
            TxState::Postgres(cell) => cell.rollback().await,
            TxState::Sqlite(cell) => cell.rollback().await,
        }
    }

    /// Appends an application event to the event log as part of the transaction.
    pub(crate) async fn publish(&self, channel: &str, payload: serde_json::Value) -> Result<(), StoreError> {
        match self {
            TxState::Postgres(cell) => super::postgres::events::publish(pg::PgExec::Tx(cell), channel, payload).await,
            TxState::Sqlite(cell) => {
                let event =
                    crate::signals::DatabaseEvent::new(crate::signals::EventType::Channel, channel, "", payload);
                lite::SqliteExec::Tx(cell).emit(vec![event]).await;
                Ok(())
            }
        }
    }

    /// Whether commit or rollback already ran.
    pub(crate) async fn is_finished(&self) -> bool {
        match self {
            TxState::Postgres(cell) => cell.is_finished().await,
            TxState::Sqlite(cell) => cell.is_finished().await,
        }
    }
}

/// The operations of one store call: where they run and the model's statements.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ops<'a> {
    Postgres { exec: pg::PgExec<'a>, statements: &'a pg::Statements },
    Sqlite { exec: lite::SqliteExec<'a>, statements: &'a lite::Statements },
}

impl<'a> Ops<'a> {
    /// The operations on `tx` when given, else on `pool`. The three always come from the same
    /// backend: a store's statements and transactions are made by its own pool.
    pub(crate) fn new(pool: &'a super::DbPool, statements: &'a ModelStatements, tx: Option<&'a TxState>) -> Self {
        use super::Pool;
        match (&pool.inner, statements, tx) {
            (_, ModelStatements::Postgres(statements), Some(TxState::Postgres(cell))) => {
                Ops::Postgres { exec: pg::PgExec::Tx(cell), statements }
            }
            (Pool::Postgres(pool), ModelStatements::Postgres(statements), _) => {
                Ops::Postgres { exec: pg::PgExec::Pool(pool), statements }
            }
            (_, ModelStatements::Sqlite(statements), Some(TxState::Sqlite(cell))) => {
                Ops::Sqlite { exec: lite::SqliteExec::Tx(cell), statements }
            }
            (Pool::Sqlite(db), ModelStatements::Sqlite(statements), _) => {
                Ops::Sqlite { exec: lite::SqliteExec::Pool(db), statements }
            }
            _ => unreachable!("a store's statements and transactions come from its own pool's backend"),
        }
    }

    pub(crate) async fn insert<T: Model>(self, data: &T, tags: &[String]) -> Result<Record<T>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::insert(exec, statements, data, tags).await,
            Ops::Sqlite { exec, statements } => lite::insert(exec, statements, data, tags).await,
        }
    }

    pub(crate) async fn get<T: Model>(self, key: &T::Key, with_deleted: bool) -> Result<Option<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::get(exec, statements, key, with_deleted).await,
            Ops::Sqlite { exec, statements } => lite::get(exec, statements, key, with_deleted).await,
        }
    }

    /// The live row `key` as values in record-column order.
    pub(crate) async fn get_values<T: Model>(self, key: &T::Key) -> Result<Option<Vec<Value>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::get_values::<T>(exec, statements, key).await,
            Ops::Sqlite { exec, statements } => lite::get_values::<T>(exec, statements, key).await,
        }
    }

    pub(crate) async fn list_all<T: Model>(self) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::list_all(exec, statements).await,
            Ops::Sqlite { exec, statements } => lite::list_all(exec, statements).await,
        }
    }

    pub(crate) async fn count(self) -> Result<u64, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::count(exec, statements).await,
            Ops::Sqlite { exec, statements } => lite::count(exec, statements).await,
        }
    }

    pub(crate) async fn update<T: Model>(
        self,
        key: &T::Key,
        data: &T,
        tags: Option<&[String]>,
        expected_version: Option<i64>,
    ) -> Result<Record<T>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::update(exec, statements, key, data, tags, expected_version).await,
            Ops::Sqlite { exec, statements } => lite::update(exec, statements, key, data, tags, expected_version).await,
        }
    }

    /// Soft-deletes (or deletes, without soft delete) the live row with `key`.
    pub(crate) async fn delete<T: Model>(self, key: &T::Key) -> Result<Option<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::by_key(exec, &statements.delete, key).await,
            Ops::Sqlite { exec, statements } => lite::delete(exec, statements, key).await,
        }
    }

    /// Brings a soft-deleted row back; `Ok(None)` without soft delete or when not deleted.
    pub(crate) async fn restore<T: Model>(self, key: &T::Key) -> Result<Option<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => match &statements.restore {
                Some(sql) => pg::by_key(exec, sql, key).await,
                None => Ok(None),
            },
            Ops::Sqlite { exec, statements } => lite::restore(exec, statements, key).await,
        }
    }

    pub(crate) async fn force_delete<T: Model>(self, key: &T::Key) -> Result<Option<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::by_key(exec, &statements.force_delete, key).await,
            Ops::Sqlite { exec, statements } => lite::force_delete(exec, statements, key).await,
        }
    }

    /// Explains a by-key write that changed nothing.
    pub(crate) async fn why_unchanged<T: Model>(self, key: &T::Key, expected_version: Option<i64>) -> StoreError {
        match self {
            Ops::Postgres { exec, statements } => pg::why_unchanged::<T>(exec, statements, key, expected_version).await,
            Ops::Sqlite { exec, statements } => lite::why_unchanged::<T>(exec, statements, key, expected_version).await,
        }
    }

    pub(crate) async fn tags<T: Model>(
        self,
        edit: TagEdit,
        key: &T::Key,
        tags: &[String],
    ) -> Result<Option<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => {
                let sql = match edit {
                    TagEdit::Add => &statements.add_tags,
                    TagEdit::Remove => &statements.remove_tags,
                    TagEdit::Set => &statements.set_tags,
                };
                pg::tags(exec, sql, key, tags).await
            }
            Ops::Sqlite { exec, statements } => {
                let sql = match edit {
                    TagEdit::Add => &statements.add_tags,
                    TagEdit::Remove => &statements.remove_tags,
                    TagEdit::Set => &statements.set_tags,
                };
                lite::tags(exec, statements, sql, key, tags).await
            }
        }
    }

    pub(crate) async fn find<T: Model>(self, q: &ResolvedQuery) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, .. } => pg::find(exec, q).await,
            Ops::Sqlite { exec, .. } => lite::find(exec, q).await,
        }
    }

    pub(crate) async fn find_page<T: Model>(
        self,
        q: &ResolvedQuery,
    ) -> Result<(Vec<Record<T>>, Option<Vec<Value>>), StoreError> {
        match self {
            Ops::Postgres { exec, .. } => pg::find_page(exec, q).await,
            Ops::Sqlite { exec, .. } => lite::find_page(exec, q).await,
        }
    }

    pub(crate) async fn stream<T: Model>(
        self,
        q: &ResolvedQuery,
        sink: &tokio::sync::mpsc::Sender<Result<Record<T>, StoreError>>,
    ) -> Result<(), StoreError> {
        match self {
            Ops::Postgres { exec, .. } => pg::stream(exec, q, sink).await,
            Ops::Sqlite { exec, .. } => lite::stream(exec, q, sink).await,
        }
    }

    pub(crate) async fn count_where(self, q: &ResolvedQuery) -> Result<u64, StoreError> {
        match self {
            Ops::Postgres { exec, .. } => pg::count_where(exec, q).await,
            Ops::Sqlite { exec, .. } => lite::count_where(exec, q).await,
        }
    }

    pub(crate) async fn update_where<T: Model>(
        self,
        q: &ResolvedQuery,
        set: &[Assignment],
    ) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::update_where(exec, statements.emit, q, set).await,
            Ops::Sqlite { exec, statements } => lite::update_where(exec, statements.emit, q, set).await,
        }
    }

    pub(crate) async fn delete_where<T: Model>(
        self,
        q: &ResolvedQuery,
        hard: bool,
    ) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::delete_where(exec, statements.emit, q, hard).await,
            Ops::Sqlite { exec, statements } => lite::delete_where(exec, statements.emit, q, hard).await,
        }
    }

    pub(crate) async fn restore_where<T: Model>(self, q: &ResolvedQuery) -> Result<Vec<Record<T>>, StoreError> {
        match self {
            Ops::Postgres { exec, statements } => pg::restore_where(exec, statements.emit, q).await,
            Ops::Sqlite { exec, statements } => lite::restore_where(exec, statements.emit, q).await,
        }
    }
}

/// Which tag edit to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagEdit {
    Add,
    Remove,
    Set,
}

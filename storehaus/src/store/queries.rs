//! Query-driven reads and writes of [`GenericStore`].

use super::stream::{RecordStream, STREAM_BUFFER};
use super::{GenericStore, Record, no_soft_delete};
use crate::error::{Result, StoreError};
use crate::model::Model;
use crate::query::resolved::ResolvedQuery;
use crate::query::{Cursor, QueryBuilder, UpdateSet};

/// One page of a keyset-paginated query, from [`GenericStore::find_page`].
///
/// The records are always in the query's order, whichever way the page was read. Pass
/// [`next`](Self::next) to [`QueryBuilder::after`] for the page after this one and
/// [`previous`](Self::previous) to [`QueryBuilder::before`] for the page before it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The records of this page.
    pub records: Vec<Record<T>>,
    /// The position after the last record, for [`QueryBuilder::after`]. `Some` when the page has
    /// records and [`has_next`](Self::has_next), and on every full page read forwards (so a loop
    /// that stops at `None` sees every row; the page after such a page may be empty).
    pub next: Option<Cursor>,
    /// The position before the first record, for [`QueryBuilder::before`]. `Some` when the page
    /// has records and [`has_previous`](Self::has_previous).
    pub previous: Option<Cursor>,
    /// Whether rows of the query sort after the last record (for an empty page read from a
    /// `before` position: whether a position was given).
    pub has_next: bool,
    /// Whether rows of the query sort before the first record (for an empty page read from an
    /// `after` position or an offset: whether one was given).
    pub has_previous: bool,
}

impl<T: Model> GenericStore<T> {
    /// The live records matching `query`.
    pub async fn find(&self, query: QueryBuilder) -> Result<Vec<Record<T>>> {
        let q = &query.resolve(T::TABLE)?;
        self.read("find", || async move { self.table().find(self.cx()?, q).await }).await
    }

    /// The first record matching `query` (in its order), if any.
    pub async fn find_one(&self, query: QueryBuilder) -> Result<Option<Record<T>>> {
        let q = &query.limit(1).resolve(T::TABLE)?;
        self.read("find", || async move { Ok(self.table().find(self.cx()?, q).await?.into_iter().next()) }).await
    }

    /// A page of at most `query`'s limit records, with cursors to the pages on either side.
    ///
    /// Pass [`Page::next`] to [`QueryBuilder::after`] for the next page, and [`Page::previous`]
    /// to [`QueryBuilder::before`] for the previous one; [`QueryBuilder::last`] starts from the
    /// end. Keyset pagination stays correct when rows are inserted meanwhile, and is as fast on
    /// page 1 000 as on page 1. One row more than the limit is read to fill
    /// [`Page::has_next`] (or [`Page::has_previous`] when reading backwards); a page that starts
    /// from a position or an offset runs one more one-row query for the other side.
    pub async fn find_page(&self, query: QueryBuilder) -> Result<Page<T>> {
        let q = &query.resolve(T::TABLE)?;
        let Some(limit) = q.limit else {
            return Err(StoreError::Validation { field: None, message: "find_page needs a limit".into() });
        };
        // A cursor cannot say where a NULL sorts, so it could never continue past one.
        if let Some(order) = q.order.iter().find(|o| o.column.nullable()) {
            return Err(StoreError::validation(
                order.column.name(),
                "find_page sorts only by NOT NULL columns; keyset pagination cannot resume after a NULL",
            ));
        }
        self.read("find", || async move {
            let rows = self.table().find_page(self.cx()?, q).await?;
            let full = u64::try_from(rows.records.len()).is_ok_and(|n| n >= limit);
            let cursor = |values: Option<Vec<_>>, wanted: bool| {
                values.filter(|_| wanted).map(|values| Cursor::from_values(&q.order, values))
            };
            Ok(Page {
                next: cursor(rows.last, rows.has_next || (full && !q.from_end)),
                previous: cursor(rows.first, rows.has_previous),
                has_next: rows.has_next,
                has_previous: rows.has_previous,
                records: rows.records,
            })
        })
        .await
    }

    /// The records matching `query`, read in the background and delivered as a stream.
    pub fn find_stream(&self, query: QueryBuilder) -> RecordStream<T> {
        let (sender, receiver) = tokio::sync::mpsc::channel(STREAM_BUFFER);
        let store = self.clone();
        tokio::spawn(async move {
            let result = match query.resolve(T::TABLE) {
                Ok(q) if q.from_end => Err(StoreError::Validation {
                    field: None,
                    message: "find_stream reads forwards only; use find or find_page with last/before".into(),
                }),
                Ok(q) => match store.cx() {
                    Ok(cx) => store.read_once("find_stream", store.table().stream(cx, &q, &sender)).await,
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                // The consumer may be gone already; then nobody is left to tell.
                let _ = sender.send(Err(error)).await;
            }
        });
        RecordStream::new(receiver)
    }

    /// How many live records match `query`.
    pub async fn count_where(&self, query: QueryBuilder) -> Result<u64> {
        let q = &query.resolve(T::TABLE)?;
        self.read("count", || async move { self.table().count_where(self.cx()?, q).await }).await
    }

    /// Applies `set` to every live record matching `query`; returns the updated records.
    ///
    /// A query without a filter is refused with [`StoreError::UnboundedWrite`] unless it says
    /// [`QueryBuilder::all_rows`].
    pub async fn update_where(&self, query: QueryBuilder, set: UpdateSet) -> Result<Vec<Record<T>>> {
        let q = bounded(query.resolve(T::TABLE)?)?;
        let assignments = set.resolve(T::TABLE)?;
        self.traced("update_where", async {
            let records = self.table().update_where(self.cx()?, &q, &assignments).await?;
            self.written(&records).await;
            Ok(records)
        })
        .await
    }

    /// Deletes (soft-deletes, on soft-delete tables) every live record matching `query`; returns
    /// how many.
    pub async fn delete_where(&self, query: QueryBuilder) -> Result<u64> {
        let q = bounded(query.resolve(T::TABLE)?)?;
        self.traced("delete_where", async {
            let records = self.table().delete_where(self.cx()?, &q, false).await?;
            self.written(&records).await;
            Ok(records.len() as u64)
        })
        .await
    }

    /// Removes every record matching `query` for good (include deleted rows with
    /// [`QueryBuilder::with_deleted`] or [`QueryBuilder::only_deleted`]); returns how many.
    pub async fn force_delete_where(&self, query: QueryBuilder) -> Result<u64> {
        let q = bounded(query.resolve(T::TABLE)?)?;
        self.traced("force_delete_where", async {
            let records = self.table().delete_where(self.cx()?, &q, true).await?;
            self.written(&records).await;
            Ok(records.len() as u64)
        })
        .await
    }

    /// Brings back every soft-deleted record matching `query`; returns the restored records.
    pub async fn restore_where(&self, query: QueryBuilder) -> Result<Vec<Record<T>>> {
        if !T::TABLE.soft_delete {
            return Err(no_soft_delete::<T>("restore_where"));
        }
        let q = bounded(query.resolve(T::TABLE)?)?;
        self.traced("restore_where", async {
            let records = self.table().restore_where(self.cx()?, &q).await?;
            self.written(&records).await;
            Ok(records)
        })
        .await
    }
}

/// Refuses a bulk write that has no condition and did not say `.all_rows()`.
fn bounded(q: ResolvedQuery) -> Result<ResolvedQuery> {
    if q.condition.is_none() && !q.all_rows {
        return Err(StoreError::UnboundedWrite { table: q.table.name.to_owned() });
    }
    Ok(q)
}

//! Queries: which rows a store call reads, updates or deletes.
//!
//! A [`QueryBuilder`] collects filters ([`QueryFilter`]), sort keys, paging and locking; an
//! [`UpdateSet`] collects the assignments of an `update_where`. Both name fields either by string
//! (checked against the model when the query runs) or by typed column (`User::columns().email`,
//! checked by the compiler). Values are always bound parameters, converted by the column's
//! declared type.
//!
//! ```
//! use serde_json::json;
//! use storehaus::query::{QueryBuilder, QueryFilter, SortOrder};
//!
//! let q = QueryBuilder::new()
//!     .filter(QueryFilter::eq("status", json!("active")))
//!     .filter_by_any_tag(["vip", "beta"])
//!     .order_by("name", SortOrder::Asc)
//!     .limit(20);
//! # let _ = q;
//! ```
//!
//! The guide `docs/queries.md` covers every operator, keyset pagination and row locking.

mod cursor;
mod filter;
mod from_json;
mod resolve;
pub(crate) mod resolved;
mod scope;
mod typed;
mod update;
mod upsert;

pub use cursor::{Cursor, CursorKey, MAX_CURSOR_LEN};
pub use filter::{MAX_FILTER_DEPTH, QueryFilter};
pub use scope::{MAX_PRINCIPAL_BYTES, MAX_PRINCIPALS};
pub(crate) use scope::{Scope, ScopeShape, UNSCOPED};
pub use typed::{ArrayColumn, TextColumn};
pub use update::UpdateSet;
pub(crate) use upsert::ResolvedUpsert;
pub use upsert::Upsert;

use crate::model::Column;
use resolved::{RowLock, Visibility};

/// The direction of a sort key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Where keyset pagination starts: a cursor of an earlier page or sort values from the caller.
#[derive(Debug, Clone)]
enum Position {
    Cursor(Cursor),
    Values(Vec<serde_json::Value>),
}

/// Which rows of a [`Position`] a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    After,
    Before,
}

/// A field to sort by and its direction: `SortKey::desc("age")` or `User::columns().age.desc()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortKey {
    pub(crate) field: String,
    pub(crate) order: SortOrder,
}

impl SortKey {
    /// Sorts by `field`, smallest first.
    pub fn asc(field: impl Into<String>) -> Self {
        SortKey { field: field.into(), order: SortOrder::Asc }
    }

    /// Sorts by `field`, largest first.
    pub fn desc(field: impl Into<String>) -> Self {
        SortKey { field: field.into(), order: SortOrder::Desc }
    }
}

/// What [`QueryBuilder::order_by`] accepts as a field: a name (`&str`, `String`) or a typed
/// [`Column`].
pub trait IntoSortKey {
    /// The sort key of this field in direction `order`.
    fn into_sort_key(self, order: SortOrder) -> SortKey;
}

impl IntoSortKey for &str {
    fn into_sort_key(self, order: SortOrder) -> SortKey {
        SortKey { field: self.to_owned(), order }
    }
}

impl IntoSortKey for String {
    fn into_sort_key(self, order: SortOrder) -> SortKey {
        SortKey { field: self, order }
    }
}

impl IntoSortKey for &String {
    fn into_sort_key(self, order: SortOrder) -> SortKey {
        SortKey { field: self.clone(), order }
    }
}

impl<M, T> IntoSortKey for Column<M, T> {
    fn into_sort_key(self, order: SortOrder) -> SortKey {
        SortKey { field: self.name().to_owned(), order }
    }
}

/// Which rows a store call reads, updates or deletes, in which order, and how many.
///
/// Everything is checked against the model when the store runs the query; nothing here touches
/// the database. Filters added with [`filter`](Self::filter) all have to hold. Deleted rows of
/// soft-delete models are left out unless [`with_deleted`](Self::with_deleted) or
/// [`only_deleted`](Self::only_deleted) says otherwise.
#[derive(Debug, Clone, Default)]
pub struct QueryBuilder {
    filters: Vec<QueryFilter>,
    order: Vec<SortKey>,
    limit: Option<u64>,
    offset: Option<u64>,
    visibility: Visibility,
    /// Where keyset pagination starts, and on which side of it the rows are.
    position: Option<(Position, Side)>,
    /// Read from the end of the order ([`last`](Self::last), or a [`before`](Self::before) position).
    from_end: bool,
    lock: Option<RowLock>,
    all_rows: bool,
    /// A builder argument that could not be accepted; reported when the query is resolved, so the
    /// builder methods stay infallible.
    invalid: Option<String>,
}

impl QueryBuilder {
    /// [`QueryBuilder::new`] as a constant.
    pub(crate) const EMPTY: QueryBuilder = QueryBuilder {
        filters: Vec::new(),
        order: Vec::new(),
        limit: None,
        offset: None,
        visibility: Visibility::Live,
        position: None,
        from_end: false,
        lock: None,
        all_rows: false,
        invalid: None,
    };

    /// A query matching every live row.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a filter; every filter has to hold.
    pub fn filter(mut self, filter: QueryFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Keeps records that have at least one of `tags`.
    pub fn filter_by_any_tag<I>(self, tags: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.filter(QueryFilter::has_any_tag(tags))
    }

    /// Keeps records that have every one of `tags`.
    pub fn filter_by_all_tags<I>(self, tags: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.filter(QueryFilter::has_all_tags(tags))
    }

    /// Keeps records that have `tag`.
    pub fn filter_by_tag(self, tag: impl Into<String>) -> Self {
        self.filter(QueryFilter::has_all_tags([tag.into()]))
    }

    /// Adds a sort key; earlier keys take precedence. The primary key is always the last key, so
    /// the order is total and pages never overlap.
    pub fn order_by(mut self, field: impl IntoSortKey, order: SortOrder) -> Self {
        self.order.push(field.into_sort_key(order));
        self
    }

    /// Adds a sort key built by `SortKey::asc/desc` or a typed column's `.asc()` / `.desc()`.
    pub fn order(mut self, key: SortKey) -> Self {
        self.order.push(key);
        self
    }

    /// Returns at most `n` rows. Any integer type works; a negative `n` is refused when the query
    /// runs.
    pub fn limit<N: TryInto<u64>>(mut self, n: N) -> Self {
        match n.try_into() {
            Ok(n) => self.limit = Some(n),
            Err(_) => self.invalid = Some("limit must be a non-negative integer".to_owned()),
        }
        self
    }

    /// Skips the first `n` rows. For deep paging prefer [`after`](Self::after), which does not
    /// read the skipped rows.
    pub fn offset<N: TryInto<u64>>(mut self, n: N) -> Self {
        match n.try_into() {
            Ok(n) => self.offset = Some(n),
            Err(_) => self.invalid = Some("offset must be a non-negative integer".to_owned()),
        }
        self
    }

    /// Includes soft-deleted rows (a no-op for models without soft delete).
    pub fn with_deleted(mut self) -> Self {
        self.visibility = Visibility::WithDeleted;
        self
    }

    /// Only soft-deleted rows (an error for models without soft delete).
    pub fn only_deleted(mut self) -> Self {
        self.visibility = Visibility::OnlyDeleted;
        self
    }

    /// Lets `update_where` / `delete_where` run without any filter, on every row.
    pub fn all_rows(mut self) -> Self {
        self.all_rows = true;
        self
    }

    /// Keyset pagination: continues after the last row of the page `cursor` came from. The query
    /// must sort exactly as the one that produced the cursor, by columns that are never `NULL`.
    ///
    /// Replaces any position set before by `after`, `before` or their `_values` forms.
    pub fn after(mut self, cursor: &Cursor) -> Self {
        self.position = Some((Position::Cursor(cursor.clone()), Side::After));
        self
    }

    /// Keyset pagination backwards: the rows before the first row of the page `cursor` came from
    /// (a page's [`previous`](crate::store::Page::previous) cursor), the nearest `limit` of them,
    /// still returned in the query's order. The query must sort exactly as the one that produced
    /// the cursor, by columns that are never `NULL`.
    ///
    /// Replaces any position set before by `after`, `before` or their `_values` forms.
    pub fn before(mut self, cursor: &Cursor) -> Self {
        self.position = Some((Position::Cursor(cursor.clone()), Side::Before));
        self.from_end = true;
        self
    }

    /// Keyset pagination from plain sort values: the rows that sort strictly after `values`,
    /// one JSON value per sort key from the first (the primary key, always the last sort key,
    /// may be left out).
    ///
    /// With fewer values than sort keys, the comparison covers only the keys given: after
    /// `[json!(10)]` on a query sorted by `price` starts at the first row whose price is above
    /// 10. Values are converted like filter values; a `null`, a value of the wrong type, or more
    /// values than sort keys is `StoreError::Validation` when the query runs.
    ///
    /// ```
    /// use serde_json::json;
    /// use storehaus::query::{QueryBuilder, SortOrder};
    ///
    /// let q = QueryBuilder::new().order_by("price", SortOrder::Asc).after_values([json!(10)]).limit(20);
    /// # let _ = q;
    /// ```
    pub fn after_values<I: IntoIterator<Item = serde_json::Value>>(mut self, values: I) -> Self {
        self.position = Some((Position::Values(values.into_iter().collect()), Side::After));
        self
    }

    /// [`after_values`](Self::after_values) the other way: the rows that sort strictly before
    /// `values`, the nearest `limit` of them, returned in the query's order.
    pub fn before_values<I: IntoIterator<Item = serde_json::Value>>(mut self, values: I) -> Self {
        self.position = Some((Position::Values(values.into_iter().collect()), Side::Before));
        self.from_end = true;
        self
    }

    /// The last `n` rows of the query's order (after any position given), returned in that
    /// order: `last(10)` on a query sorted by `created_at` gives the ten newest, oldest first.
    /// The database reads them from the end (the order reversed), so this costs what `limit`
    /// costs.
    pub fn last<N: TryInto<u64>>(mut self, n: N) -> Self {
        self.from_end = true;
        self.limit(n)
    }

    /// Locks the rows read (`FOR UPDATE`) until the transaction ends.
    pub fn for_update(mut self) -> Self {
        self.lock = Some(RowLock::ForUpdate);
        self
    }

    /// Locks the rows read and skips rows another transaction holds (`FOR UPDATE SKIP LOCKED`):
    /// the usual way for several workers to take jobs from one table.
    pub fn for_update_skip_locked(mut self) -> Self {
        self.lock = Some(RowLock::ForUpdateSkipLocked);
        self
    }
}

#[cfg(test)]
pub(crate) mod tests;

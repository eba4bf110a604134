//! Filters and sort keys from typed columns: `User::columns().age.gte(18)`.
//!
//! The value's Rust type is the field's, so a mismatch is a compile error, and it converts straight
//! to a [`Value`](crate::Value) without a detour through JSON.

use super::filter::{FilterKind, Operand, QueryFilter};
use super::resolved::CompareOp;
use super::{SortKey, SortOrder};
use crate::model::Column;
use crate::types::{ArrayElement, ColumnType, SqlType};

/// Field types stored as text, for which `like` / `ilike` exist on their typed columns.
///
/// Implement it for your own [`SqlType`] that is stored as `TEXT` to get those methods on it.
///
/// ```
/// # use storehaus::Column;
/// # struct User;
/// let name: Column<User, String> = Column::new("name", 0);
/// let _ = name.like("A%");
/// ```
///
/// Other columns have no `like`:
///
/// ```compile_fail
/// # use storehaus::Column;
/// # struct User;
/// let age: Column<User, i32> = Column::new("age", 0);
/// let _ = age.like("1%");
/// ```
pub trait TextColumn: SqlType {}

impl TextColumn for String {}
impl TextColumn for Option<String> {}

/// Field types stored as arrays, for which `array_contains` / `array_overlaps` exist on their
/// typed columns.
pub trait ArrayColumn: SqlType {
    /// The element type.
    type Element: ArrayElement;
}

impl<E: ArrayElement> ArrayColumn for Vec<E> {
    type Element = E;
}

impl<E: ArrayElement> ArrayColumn for Option<Vec<E>> {
    type Element = E;
}

fn typed<T: SqlType>(value: &T, ty: ColumnType) -> Operand {
    Operand::Typed { value: value.to_value().map_err(|e| e.to_string()), ty }
}

impl<M, T: SqlType> Column<M, T> {
    fn compare(self, op: CompareOp, value: T) -> QueryFilter {
        FilterKind::Compare { field: self.name().to_owned(), op, value: typed(&value, T::COLUMN_TYPE) }.into()
    }

    fn in_list<I>(self, values: I, negated: bool) -> QueryFilter
    where
        I: IntoIterator,
        I::Item: Into<T>,
    {
        let values = values.into_iter().map(|v| typed(&v.into(), T::COLUMN_TYPE)).collect();
        FilterKind::In { field: self.name().to_owned(), values, negated }.into()
    }

    /// `column = value`
    pub fn eq(self, value: impl Into<T>) -> QueryFilter {
        self.compare(CompareOp::Eq, value.into())
    }

    /// `column <> value`
    pub fn ne(self, value: impl Into<T>) -> QueryFilter {
        self.compare(CompareOp::Ne, value.into())
    }

    /// `column > value`
    pub fn gt(self, value: impl Into<T>) -> QueryFilter {
        self.compare(CompareOp::Gt, value.into())
    }

    /// `column >= value`
    pub fn gte(self, value: impl Into<T>) -> QueryFilter {
        self.compare(CompareOp::Gte, value.into())
    }

    /// `column < value`
    pub fn lt(self, value: impl Into<T>) -> QueryFilter {
        self.compare(CompareOp::Lt, value.into())
    }

    /// `column <= value`
    pub fn lte(self, value: impl Into<T>) -> QueryFilter {
        self.compare(CompareOp::Lte, value.into())
    }

    /// `column` equals one of `values`; an empty list matches nothing.
    pub fn in_values<I>(self, values: I) -> QueryFilter
    where
        I: IntoIterator,
        I::Item: Into<T>,
    {
        self.in_list(values, false)
    }

    /// `column` equals none of `values`; an empty list matches every row.
    pub fn not_in_values<I>(self, values: I) -> QueryFilter
    where
        I: IntoIterator,
        I::Item: Into<T>,
    {
        self.in_list(values, true)
    }

    /// `column IS NULL`
    pub fn is_null(self) -> QueryFilter {
        QueryFilter::is_null(self.name())
    }

    /// `column IS NOT NULL`
    pub fn is_not_null(self) -> QueryFilter {
        QueryFilter::is_not_null(self.name())
    }

    /// Sorts by this column, smallest first.
    pub fn asc(self) -> SortKey {
        SortKey { field: self.name().to_owned(), order: SortOrder::Asc }
    }

    /// Sorts by this column, largest first.
    pub fn desc(self) -> SortKey {
        SortKey { field: self.name().to_owned(), order: SortOrder::Desc }
    }
}

impl<M, T: TextColumn> Column<M, T> {
    /// `column LIKE pattern`; `%` and `_` are wildcards, `\` escapes them.
    pub fn like(self, pattern: impl Into<String>) -> QueryFilter {
        QueryFilter::like(self.name(), pattern)
    }

    /// `column ILIKE pattern`: [`like`](Self::like), ignoring case.
    pub fn ilike(self, pattern: impl Into<String>) -> QueryFilter {
        QueryFilter::ilike(self.name(), pattern)
    }

    /// `column NOT LIKE pattern`
    pub fn not_like(self, pattern: impl Into<String>) -> QueryFilter {
        QueryFilter::not_like(self.name(), pattern)
    }

    /// `column NOT ILIKE pattern`
    pub fn not_ilike(self, pattern: impl Into<String>) -> QueryFilter {
        QueryFilter::not_ilike(self.name(), pattern)
    }
}

impl<M, T: ArrayColumn> Column<M, T> {
    fn array<I>(self, values: I, all: bool) -> QueryFilter
    where
        I: IntoIterator,
        I::Item: Into<T::Element>,
    {
        let ty = <T::Element as SqlType>::COLUMN_TYPE;
        let values = values.into_iter().map(|v| typed(&v.into(), ty)).collect();
        FilterKind::Array { field: self.name().to_owned(), values, all }.into()
    }

    /// The array holds every one of `values` (`column @> values`).
    pub fn array_contains<I>(self, values: I) -> QueryFilter
    where
        I: IntoIterator,
        I::Item: Into<T::Element>,
    {
        self.array(values, true)
    }

    /// The array holds at least one of `values` (`column && values`).
    pub fn array_overlaps<I>(self, values: I) -> QueryFilter
    where
        I: IntoIterator,
        I::Item: Into<T::Element>,
    {
        self.array(values, false)
    }
}

//! Filters on one leaf of a JSON document: numeric comparisons, and whether a path leads anywhere.

use super::{FilterKind, QueryFilter, strings};
use crate::query::resolved::CompareOp;

impl QueryFilter {
    fn json_path_compare<I>(
        field: impl Into<String>,
        path: I,
        op: CompareOp,
        value: impl Into<serde_json::Value>,
    ) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        FilterKind::JsonPathCompare { field: field.into(), path: strings(path), op, value: value.into() }.into()
    }

    /// On a JSON field: the value at `path` is a number greater than `value`, compared as
    /// numbers (`9` < `10`, `1.5` > `1`).
    ///
    /// `value` must be a JSON number, else resolving the query fails with
    /// `StoreError::Validation`. A row whose value at `path` is absent, `null`, or not a number
    /// (the string `"12"` included) is not matched, and never makes the query fail; under
    /// [`QueryFilter::not`] it is not matched either, as with SQL `NULL`. The path's steps are
    /// object keys, or array indexes written as digits (`["sizes", "0"]`), as in
    /// [`QueryFilter::json_path_eq`].
    ///
    /// ```
    /// use serde_json::json;
    /// use storehaus::QueryFilter;
    ///
    /// let heavy = QueryFilter::json_path_gt("attrs", ["shipping", "weight_kg"], json!(2.5));
    /// # let _ = heavy;
    /// ```
    pub fn json_path_gt<I>(field: impl Into<String>, path: I, value: impl Into<serde_json::Value>) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::json_path_compare(field, path, CompareOp::Gt, value)
    }

    /// On a JSON field: the value at `path` is a number `>= value`; see [`QueryFilter::json_path_gt`].
    pub fn json_path_gte<I>(field: impl Into<String>, path: I, value: impl Into<serde_json::Value>) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::json_path_compare(field, path, CompareOp::Gte, value)
    }

    /// On a JSON field: the value at `path` is a number `< value`; see [`QueryFilter::json_path_gt`].
    pub fn json_path_lt<I>(field: impl Into<String>, path: I, value: impl Into<serde_json::Value>) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::json_path_compare(field, path, CompareOp::Lt, value)
    }

    /// On a JSON field: the value at `path` is a number `<= value`; see [`QueryFilter::json_path_gt`].
    pub fn json_path_lte<I>(field: impl Into<String>, path: I, value: impl Into<serde_json::Value>) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::json_path_compare(field, path, CompareOp::Lte, value)
    }

    /// On a JSON field: the value at `path` is a number from `low` to `high`, both included
    /// (`json_path_gte` and `json_path_lte` together); see [`QueryFilter::json_path_gt`].
    pub fn json_path_between<I>(
        field: impl Into<String>,
        path: I,
        low: impl Into<serde_json::Value>,
        high: impl Into<serde_json::Value>,
    ) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let (field, path) = (field.into(), strings(path));
        QueryFilter::and(vec![
            Self::json_path_compare(field.clone(), path.clone(), CompareOp::Gte, low),
            Self::json_path_compare(field, path, CompareOp::Lte, high),
        ])
    }

    /// On a JSON field: `path` leads to a value, at any depth (JSON `null` counts as a value).
    /// A row whose field is SQL `NULL` has no value at any path. With an empty path it matches
    /// every row whose field is not `NULL`.
    ///
    /// ```
    /// use storehaus::QueryFilter;
    ///
    /// let has_street = QueryFilter::json_path_exists("profile", ["address", "street"]);
    /// # let _ = has_street;
    /// ```
    pub fn json_path_exists<I>(field: impl Into<String>, path: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        FilterKind::JsonPathExists { field: field.into(), path: strings(path), negated: false }.into()
    }

    /// On a JSON field: `path` leads to no value: a key is missing at some level, an index is past
    /// the end, a step goes into a scalar, or the field is SQL `NULL`. Exactly the rows
    /// [`QueryFilter::json_path_exists`] does not match.
    pub fn json_path_absent<I>(field: impl Into<String>, path: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        FilterKind::JsonPathExists { field: field.into(), path: strings(path), negated: true }.into()
    }
}

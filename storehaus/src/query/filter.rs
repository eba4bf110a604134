//! [`QueryFilter`]: one condition of a query, naming fields by string or by typed column.

use super::resolved::CompareOp;
use crate::model::Model;
use crate::relation::{Relation, RelationDef};
use crate::types::{ColumnType, Value};
use std::fmt;

/// How many levels of [`and`](QueryFilter::and), [`or`](QueryFilter::or) and
/// [`not`](QueryFilter::not) a filter may nest: `not(eq(..))` is one level, `not(not(eq(..)))`
/// two.
///
/// A deeper filter can still be built (the builders stay infallible), but it keeps none of its
/// conditions and a query holding it fails with `StoreError::Validation` naming this limit, before
/// anything is sent. So every filter that exists is at most this deep, and cloning, comparing,
/// printing, resolving and rendering it never run out of stack. To match one of many values, use
/// one `or` with many items or [`in_values`](QueryFilter::in_values): only nesting is limited, not
/// width.
pub const MAX_FILTER_DEPTH: usize = 64;

/// A condition on a model's fields, combined into a [`QueryBuilder`](super::QueryBuilder) with
/// [`filter`](super::QueryBuilder::filter).
///
/// Field names are checked against the model when the query runs: an unknown name is
/// `StoreError::UnknownField`, and a value that does not fit the column's declared type is
/// `StoreError::Validation`. Values are always sent as bound parameters.
///
/// ```
/// use serde_json::json;
/// use storehaus::query::QueryFilter;
///
/// let adults_named_ada = QueryFilter::and(vec![
///     QueryFilter::eq("name", json!("Ada")),
///     QueryFilter::gte("age", json!(18)),
/// ]);
/// let not_banned = QueryFilter::not(QueryFilter::eq("status", json!("banned")));
/// # let _ = (adults_named_ada, not_banned);
/// ```
///
/// Filters nest at most [`MAX_FILTER_DEPTH`] levels deep.
#[derive(Clone, PartialEq)]
pub struct QueryFilter {
    pub(super) kind: FilterKind,
    /// Levels of `and`/`or`/`not` above the deepest condition; `MAX_FILTER_DEPTH + 1` for
    /// [`FilterKind::TooDeep`]. Known at construction, so the limit is checked without a walk.
    depth: usize,
}

/// A value given to a filter: JSON to convert by the column's type, or already typed by a
/// [`Column`](crate::Column).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operand {
    Json(serde_json::Value),
    /// `value` failed to encode when it is `Err`; the error surfaces when the query is resolved.
    Typed {
        value: Result<Value, String>,
        ty: ColumnType,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum FilterKind {
    Compare {
        field: String,
        op: CompareOp,
        value: Operand,
    },
    Like {
        field: String,
        pattern: String,
        case_insensitive: bool,
        negated: bool,
    },
    In {
        field: String,
        values: Vec<Operand>,
        negated: bool,
    },
    IsNull {
        field: String,
        negated: bool,
    },
    Tags {
        tags: Vec<String>,
        all: bool,
    },
    Array {
        field: String,
        values: Vec<Operand>,
        all: bool,
    },
    JsonPathEq {
        field: String,
        path: Vec<String>,
        value: serde_json::Value,
    },
    JsonPathTextEq {
        field: String,
        path: Vec<String>,
        value: String,
    },
    JsonContains {
        field: String,
        value: serde_json::Value,
    },
    JsonHasKey {
        field: String,
        key: String,
    },
    JsonPathCompare {
        field: String,
        path: Vec<String>,
        op: CompareOp,
        value: serde_json::Value,
    },
    JsonPathExists {
        field: String,
        path: Vec<String>,
        negated: bool,
    },
    And(Vec<QueryFilter>),
    Or(Vec<QueryFilter>),
    Not(Box<QueryFilter>),
    /// Rows with at least one related row of `relation` (matching `filter`, when given).
    Related {
        relation: RelationRef,
        filter: Option<Box<QueryFilter>>,
    },
    // What `and`/`or`/`not` give instead of a filter deeper than `MAX_FILTER_DEPTH`; resolving it
    // is an error. Wrapping it again gives it back, so no filter grows past the limit.
    TooDeep,
}

/// A relation named in a filter; two are the same when they join the same tables the same way.
#[derive(Clone, Copy)]
pub(super) struct RelationRef(pub(super) &'static RelationDef);

impl PartialEq for RelationRef {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0, other.0);
        a.name == b.name && a.from_table().name == b.from_table().name && a.to_table().name == b.to_table().name
    }
}

impl fmt::Debug for RelationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0.from_table().model, self.0.name)
    }
}

impl From<FilterKind> for QueryFilter {
    fn from(kind: FilterKind) -> Self {
        let depth = match &kind {
            FilterKind::And(items) | FilterKind::Or(items) => 1 + items.iter().map(|f| f.depth).max().unwrap_or(0),
            FilterKind::Not(inner) => 1 + inner.depth,
            FilterKind::Related { filter, .. } => filter.as_ref().map_or(0, |f| 1 + f.depth),
            FilterKind::TooDeep => MAX_FILTER_DEPTH + 1,
            _ => 0,
        };
        if depth > MAX_FILTER_DEPTH {
            // `kind`'s children are at most `MAX_FILTER_DEPTH` deep, so dropping them is shallow.
            return QueryFilter { kind: FilterKind::TooDeep, depth: MAX_FILTER_DEPTH + 1 };
        }
        QueryFilter { kind, depth }
    }
}

impl QueryFilter {
    /// Whether this filter nests deeper than [`MAX_FILTER_DEPTH`] (and so holds no conditions).
    pub(super) fn is_too_deep(&self) -> bool {
        self.depth > MAX_FILTER_DEPTH
    }
}

impl fmt::Debug for QueryFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryFilter").field("kind", &self.kind).finish()
    }
}

/// Drops nested filters with a list instead of one stack frame per level, so no shape of filter
/// can overflow the stack when it goes away.
impl Drop for QueryFilter {
    fn drop(&mut self) {
        let mut pending = Vec::new();
        detach_children(&mut self.kind, &mut pending);
        while let Some(mut filter) = pending.pop() {
            detach_children(&mut filter.kind, &mut pending);
        }
    }
}

/// Moves the filters nested in `kind` to `pending`, leaving `kind` without children.
fn detach_children(kind: &mut FilterKind, pending: &mut Vec<QueryFilter>) {
    match kind {
        FilterKind::And(items) | FilterKind::Or(items) => pending.append(items),
        FilterKind::Not(_) => {
            if let FilterKind::Not(inner) = std::mem::replace(kind, FilterKind::TooDeep) {
                pending.push(*inner);
            }
        }
        FilterKind::Related { filter, .. } => {
            if let Some(inner) = filter.take() {
                pending.push(*inner);
            }
        }
        _ => {}
    }
}

fn compare(field: impl Into<String>, op: CompareOp, value: impl Into<serde_json::Value>) -> QueryFilter {
    FilterKind::Compare { field: field.into(), op, value: Operand::Json(value.into()) }.into()
}

fn like(field: impl Into<String>, pattern: impl Into<String>, case_insensitive: bool, negated: bool) -> QueryFilter {
    FilterKind::Like { field: field.into(), pattern: pattern.into(), case_insensitive, negated }.into()
}

fn json_values<I>(values: I) -> Vec<Operand>
where
    I: IntoIterator,
    I::Item: Into<serde_json::Value>,
{
    values.into_iter().map(|v| Operand::Json(v.into())).collect()
}

fn strings<I>(items: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl QueryFilter {
    /// `field = value`. Use [`is_null`](Self::is_null) to match `NULL`.
    pub fn eq(field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        compare(field, CompareOp::Eq, value)
    }

    /// `field <> value` (rows where `field` is `NULL` do not match, as in SQL).
    pub fn ne(field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        compare(field, CompareOp::Ne, value)
    }

    /// `field > value`
    pub fn gt(field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        compare(field, CompareOp::Gt, value)
    }

    /// `field >= value`
    pub fn gte(field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        compare(field, CompareOp::Gte, value)
    }

    /// `field < value`
    pub fn lt(field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        compare(field, CompareOp::Lt, value)
    }

    /// `field <= value`
    pub fn lte(field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        compare(field, CompareOp::Lte, value)
    }

    /// `field LIKE pattern` on a text field; `%` and `_` are wildcards, `\` escapes them.
    pub fn like(field: impl Into<String>, pattern: impl Into<String>) -> Self {
        like(field, pattern, false, false)
    }

    /// `field ILIKE pattern`: [`like`](Self::like), ignoring case.
    pub fn ilike(field: impl Into<String>, pattern: impl Into<String>) -> Self {
        like(field, pattern, true, false)
    }

    /// `field NOT LIKE pattern`
    pub fn not_like(field: impl Into<String>, pattern: impl Into<String>) -> Self {
        like(field, pattern, false, true)
    }

    /// `field NOT ILIKE pattern`
    pub fn not_ilike(field: impl Into<String>, pattern: impl Into<String>) -> Self {
        like(field, pattern, true, true)
    }

    /// `field` equals one of `values`; an empty list matches nothing.
    pub fn in_values<I>(field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<serde_json::Value>,
    {
        FilterKind::In { field: field.into(), values: json_values(values), negated: false }.into()
    }

    /// `field` equals none of `values`; an empty list matches every row.
    pub fn not_in_values<I>(field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<serde_json::Value>,
    {
        FilterKind::In { field: field.into(), values: json_values(values), negated: true }.into()
    }

    /// `field IS NULL`
    pub fn is_null(field: impl Into<String>) -> Self {
        FilterKind::IsNull { field: field.into(), negated: false }.into()
    }

    /// `field IS NOT NULL`
    pub fn is_not_null(field: impl Into<String>) -> Self {
        FilterKind::IsNull { field: field.into(), negated: true }.into()
    }

    /// All of `filters` hold (an empty list always holds). Adds a level of nesting; see
    /// [`MAX_FILTER_DEPTH`].
    pub fn and(filters: Vec<QueryFilter>) -> Self {
        FilterKind::And(filters).into()
    }

    /// At least one of `filters` holds (an empty list never holds). Adds a level of nesting; see
    /// [`MAX_FILTER_DEPTH`].
    pub fn or(filters: Vec<QueryFilter>) -> Self {
        FilterKind::Or(filters).into()
    }

    /// `filter` does not hold (also written `!filter`). Adds a level of nesting; see
    /// [`MAX_FILTER_DEPTH`].
    #[allow(clippy::should_implement_trait)] // the seed's name; `Not` is implemented as well
    pub fn not(filter: QueryFilter) -> Self {
        FilterKind::Not(Box::new(filter)).into()
    }

    /// Keeps records that have at least one related record of `relation`, written as
    /// `EXISTS (SELECT 1 FROM <related> WHERE <join>)`: `QueryFilter::has(User::posts())` keeps
    /// the users who have a post. Soft-deleted related records do not count, and a scoped
    /// store's principals or tenant hold for them too. Wrap it in [`not`](Self::not) for records
    /// without any. Adds a level of nesting when it has a filter; see [`MAX_FILTER_DEPTH`].
    pub fn has<P: Model, C: Model>(relation: Relation<P, C>) -> Self {
        Self::related(relation.def(), None)
    }

    /// Keeps records that have at least one related record of `relation` matching `filter`
    /// (on fields of the related model): the users having a post tagged "rust" are
    /// `QueryFilter::has_where(User::posts(), QueryFilter::has_any_tag(["rust"]))`.
    pub fn has_where<P: Model, C: Model>(relation: Relation<P, C>, filter: QueryFilter) -> Self {
        Self::related(relation.def(), Some(filter))
    }

    /// At least one related row of `def` (matching `filter`).
    pub(crate) fn related(def: &'static RelationDef, filter: Option<QueryFilter>) -> Self {
        FilterKind::Related { relation: RelationRef(def), filter: filter.map(Box::new) }.into()
    }

    /// The record has at least one of `tags` (`__tags__ && tags`).
    pub fn has_any_tag<I>(tags: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        FilterKind::Tags { tags: strings(tags), all: false }.into()
    }

    /// The record has every one of `tags` (`__tags__ @> tags`).
    pub fn has_all_tags<I>(tags: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        FilterKind::Tags { tags: strings(tags), all: true }.into()
    }

    /// On a JSONB field: the JSON found at `path` (object keys, or array indexes as strings)
    /// equals `value`, compared as JSON (`field #> path = value`).
    pub fn json_path_eq<I>(field: impl Into<String>, path: I, value: serde_json::Value) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        FilterKind::JsonPathEq { field: field.into(), path: strings(path), value }.into()
    }

    /// On a JSONB field: the text of the JSON found at `path` equals `text` (`field #>> path = text`).
    /// A string compares without its quotes, a number as its digits.
    pub fn json_path_text_eq<I>(field: impl Into<String>, path: I, text: impl Into<String>) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        FilterKind::JsonPathTextEq { field: field.into(), path: strings(path), value: text.into() }.into()
    }

    /// On a JSONB field: the document contains `value` (`field @> value`), e.g.
    /// `json!({"theme": "dark"})` matches any object whose `theme` is `"dark"`.
    pub fn json_contains(field: impl Into<String>, value: serde_json::Value) -> Self {
        FilterKind::JsonContains { field: field.into(), value }.into()
    }

    /// On a JSONB field: the top-level object has `key` (`field ? key`). For a key below the top
    /// level, see [`QueryFilter::json_path_exists`] and [`QueryFilter::json_path_absent`].
    pub fn json_has_key(field: impl Into<String>, key: impl Into<String>) -> Self {
        FilterKind::JsonHasKey { field: field.into(), key: key.into() }.into()
    }

    /// On an array field: it holds every one of `values` (`field @> values`).
    pub fn array_contains<I>(field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<serde_json::Value>,
    {
        FilterKind::Array { field: field.into(), values: json_values(values), all: true }.into()
    }

    /// On an array field: it holds at least one of `values` (`field && values`).
    pub fn array_overlaps<I>(field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<serde_json::Value>,
    {
        FilterKind::Array { field: field.into(), values: json_values(values), all: false }.into()
    }
}

impl std::ops::Not for QueryFilter {
    type Output = QueryFilter;

    fn not(self) -> QueryFilter {
        QueryFilter::not(self)
    }
}

mod json_leaf;

#[cfg(test)]
pub(crate) mod tests;

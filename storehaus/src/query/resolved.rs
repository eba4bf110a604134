//! A query after every name in it has been checked against the model: what backends render.
//!
//! Building a [`QueryBuilder`](super::QueryBuilder) accepts any strings; resolving it against a
//! [`TableDef`] turns each field name into a [`ColumnRef`] (or fails with
//! `StoreError::UnknownField`) and each JSON value into a [`Value`] of the column's type. Nothing
//! here holds user text that could end up in SQL except as a bound value.

use crate::error::StoreError;
use crate::model::system::SystemColumn;
use crate::model::{ColumnDef, TableDef};
use crate::types::{ColumnType, Value};

/// A column of the model's table: a declared field or a system column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnRef {
    Declared(&'static ColumnDef),
    System(&'static SystemColumn),
}

impl ColumnRef {
    /// The column name (unquoted).
    pub(crate) fn name(self) -> &'static str {
        match self {
            ColumnRef::Declared(c) => c.name,
            ColumnRef::System(c) => c.name,
        }
    }

    /// The column type.
    pub(crate) fn ty(self) -> ColumnType {
        match self {
            ColumnRef::Declared(c) => c.ty,
            ColumnRef::System(c) => c.ty,
        }
    }

    /// Whether the column accepts `NULL`.
    pub(crate) fn nullable(self) -> bool {
        match self {
            ColumnRef::Declared(c) => c.nullable,
            ColumnRef::System(c) => c.nullable,
        }
    }

    /// Finds `name` among the declared and system columns of `table`.
    pub(crate) fn find(table: &TableDef, name: &str) -> Option<ColumnRef> {
        table
            .column(name)
            .map(ColumnRef::Declared)
            .or_else(|| table.system_columns().find(|c| c.name == name).map(ColumnRef::System))
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CompareOp {
    /// The SQL operator, spaced.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            CompareOp::Eq => " = ",
            CompareOp::Ne => " <> ",
            CompareOp::Gt => " > ",
            CompareOp::Gte => " >= ",
            CompareOp::Lt => " < ",
            CompareOp::Lte => " <= ",
        }
    }
}

/// A JSON operator on a JSONB column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonCondition {
    /// `column #>> '{path}' = value` — the text at `path` equals `value`.
    PathTextEq { path: Vec<String>, value: String },
    /// `column #> '{path}' = value` — the JSON at `path` equals `value`.
    PathEq { path: Vec<String>, value: serde_json::Value },
    /// `column @> value` — the document contains `value`.
    Contains(serde_json::Value),
    /// `column ? key` — the top-level object has `key`.
    HasKey(String),
    /// The value at `path` is a number and compares with `value` by `op` (an ordering), as numbers.
    PathCompare { path: Vec<String>, op: CompareOp, value: serde_json::Number },
    /// `path` leads to a value (JSON `null` included), or with `negated`, to none.
    PathExists { path: Vec<String>, negated: bool },
}

/// A boolean condition over the model's columns, with every value already typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    /// `column op value`; `value` has the column's type (never `Null`: see `IsNull`).
    Compare { column: ColumnRef, op: CompareOp, value: Value },
    /// `column [NOT] LIKE/ILIKE pattern` on a text column.
    Like { column: ColumnRef, pattern: String, case_insensitive: bool, negated: bool },
    /// `column = ANY($1)` / `NOT (column = ANY($1))`; `values` holds elements of the column's type.
    In { column: ColumnRef, values: Vec<Value>, negated: bool },
    /// `column IS [NOT] NULL`.
    IsNull { column: ColumnRef, negated: bool },
    /// `__tags__ && $1` — has any of the tags.
    TagsAny(Vec<String>),
    /// `__tags__ @> $1` — has all of the tags.
    TagsAll(Vec<String>),
    /// An array column: `column @> $1` (contains all) or `column && $1` (overlaps).
    Array { column: ColumnRef, values: Vec<Value>, all: bool },
    /// A JSON operator on a JSONB column.
    Json { column: ColumnRef, condition: JsonCondition },
    /// All of these (an empty list is true).
    And(Vec<Condition>),
    /// Any of these (an empty list is false).
    Or(Vec<Condition>),
    /// Negation.
    Not(Box<Condition>),
    /// `EXISTS` a related row.
    Related(Box<RelatedCondition>),
}

/// At least one row of a related table joined to the row at hand (and matching `condition`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RelatedCondition {
    pub join: crate::relation::Join,
    /// The related table.
    pub table: &'static TableDef,
    /// The related rows' own condition, resolved against `table`.
    pub condition: Option<Condition>,
    /// The store's scope as it holds for `table`, filled in by `Scope::restrict`.
    pub scope: Option<Condition>,
}

impl Condition {
    /// Whether an `EXISTS` over a related table is part of this condition.
    pub(crate) fn mentions_related(&self) -> bool {
        match self {
            Condition::Related(_) => true,
            Condition::And(items) | Condition::Or(items) => items.iter().any(Condition::mentions_related),
            Condition::Not(inner) => inner.mentions_related(),
            _ => false,
        }
    }
}

/// Which rows a query sees with respect to soft delete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// Live rows only (the default; the only choice for tables without soft delete).
    #[default]
    Live,
    /// Live and deleted rows.
    WithDeleted,
    /// Deleted rows only.
    OnlyDeleted,
}

/// A sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Order {
    pub column: ColumnRef,
    pub descending: bool,
}

impl Order {
    /// The same key sorted the other way (NULLs move to the other end too).
    pub(crate) fn reversed(self) -> Order {
        Order { descending: !self.descending, ..self }
    }
}

/// Keyset pagination: continue after (or, with `before`, before) the position whose sort-key
/// values are `after`.
///
/// `after` holds one value per leading entry of [`ResolvedQuery::order`]: all of them for a
/// cursor (the primary key is always the last sort key, so the position is unique), possibly
/// fewer for plain values, which then compare only those keys.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Keyset {
    pub after: Vec<Value>,
    /// The rows before the position in the query's order, rather than after it.
    pub before: bool,
}

/// Row locking for work-queue style reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowLock {
    /// `FOR UPDATE`
    ForUpdate,
    /// `FOR UPDATE SKIP LOCKED`
    ForUpdateSkipLocked,
}

/// A query resolved against one model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResolvedQuery {
    pub table: &'static TableDef,
    pub condition: Option<Condition>,
    pub visibility: Visibility,
    pub order: Vec<Order>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub keyset: Option<Keyset>,
    /// Read from the end of `order` (`last`, `before`): the statement sorts the other way, and
    /// the reader puts the rows back in `order`.
    pub from_end: bool,
    pub lock: Option<RowLock>,
    /// The caller said `.all_rows()`: a bulk write without a condition is intended.
    pub all_rows: bool,
}

impl ResolvedQuery {
    /// Refuses bulk writes without a condition (unless `all_rows`) and paging, which writes cannot
    /// honour on any backend: ignoring a limit would change more rows than asked.
    pub(crate) fn check_write(&self) -> Result<(), StoreError> {
        if self.condition.is_none() && !self.all_rows {
            return Err(StoreError::UnboundedWrite { table: self.table.name.to_owned() });
        }
        if self.limit.is_some() || self.offset.is_some() || self.keyset.is_some() || self.from_end {
            return Err(StoreError::Validation {
                field: None,
                message:
                    "limit, offset, last and after/before(cursor) apply to reads only, not to bulk updates or deletes"
                        .into(),
            });
        }
        Ok(())
    }
}

/// One assignment of an `update_where`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Assignment {
    /// `column = value` (value of the column's type, or `Null` for a nullable column).
    Set { column: &'static ColumnDef, value: Value },
    /// `column = column + value` (numeric columns; a decrement is a negative value).
    Add { column: &'static ColumnDef, value: Value },
}

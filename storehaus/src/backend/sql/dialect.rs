//! What is spelled differently from one database to the next.

use super::Sql;
use crate::error::StoreError;
use crate::model::{ColumnDef, TableDef};
use crate::query::resolved::{ColumnRef, JsonCondition, RowLock};
use crate::signals::EventType;
use crate::types::Value;

/// The SQL spelling of a database: placeholders, the clock, the operators for lists, arrays,
/// JSON and patterns, ordering, paging, locks, increments, tag edits and change events. The
/// statements themselves are written once, in `sql/`, and ask the dialect only for these.
pub(crate) trait Dialect: Sized {
    /// `$1, $2, …`, or `?` bound in order of appearance.
    const NUMBERED_PARAMS: bool;
    /// Whether expressions name columns with their table (`"t"."c"`).
    const QUALIFIED_COLUMNS: bool;
    /// The clock of writes as a server expression (`now()`, the transaction's start time), or
    /// `None` to bind the transaction's clock as a parameter.
    const SERVER_CLOCK: Option<&'static str>;
    /// The literals of true and false.
    const TRUE: &'static str;
    const FALSE: &'static str;
    /// A typed `NULL` of a `BIGINT` expression.
    const NULL_BIGINT: &'static str;
    /// Whether [`Dialect::paging`] writes the limit and offset into the text rather than binding
    /// them: then reads of one query shape with other numbers have other texts.
    const PAGING_IN_TEXT: bool = true;
    /// Whether [`Dialect::in_list`] may write a placeholder per value rather than one for the
    /// list: then lists of other lengths have other texts.
    const LIST_PER_VALUE: bool = true;

    /// Refuses sorting by, or comparing the order of, a column whose stored form does not sort
    /// like its values.
    fn check_orderable(_column: ColumnRef, _what: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// `column [NOT] LIKE pattern` (PostgreSQL's pattern syntax), case-insensitive when asked.
    fn like(sql: &mut Sql<'_, Self>, column: ColumnRef, pattern: &str, how: LikeMatch) -> Result<(), StoreError>;

    /// `column [NOT] IN values`, `values` of the column's scalar type.
    fn in_list(sql: &mut Sql<'_, Self>, column: ColumnRef, values: &[Value], negated: bool) -> Result<(), StoreError>;

    /// The array column `column` shares an element with `values` (`all`: holds every one).
    fn array_match(sql: &mut Sql<'_, Self>, column: ColumnRef, values: Value, all: bool) -> Result<(), StoreError>;

    /// A JSON operator on `column`.
    fn json(sql: &mut Sql<'_, Self>, column: ColumnRef, condition: &JsonCondition) -> Result<(), StoreError>;

    /// What follows `ASC` / `DESC` so that NULLs sort as on PostgreSQL: last ascending, first
    /// descending.
    fn nulls(_descending: bool, _nullable: bool) -> &'static str {
        ""
    }

    /// ` LIMIT … OFFSET …` of a read.
    fn paging(sql: &mut Sql<'_, Self>, limit: Option<u64>, offset: Option<u64>) -> Result<(), StoreError>;

    /// The row lock of a read, if the database has one.
    fn lock(_sql: &mut Sql<'_, Self>, _lock: RowLock) {}

    /// The new value of `column` incremented by `value`.
    fn add(sql: &mut Sql<'_, Self>, column: &'static ColumnDef, value: Value) -> Result<(), StoreError>;

    /// The new value of the text-array `column` (`__tags__`, `__auth__`) for an edit, with the
    /// edit's elements as a slot; order is kept and nothing is added twice.
    fn tags_value(sql: &mut Sql<'_, Self>, column: &'static str, edit: TagEdit);

    /// `write` (returning the record columns of `table`) made to also append one event of `kind`
    /// per returned row to the event log, in the same statement, where the database records
    /// events itself; the result has the same columns and parameters.
    fn with_events(write: &str, _table: &TableDef, _kind: EventKind) -> String {
        write.to_owned()
    }
}

/// A limit or offset as both databases take it: a `BIGINT`. A larger number is refused rather
/// than capped, so a call means the same on every backend.
pub(crate) fn row_count(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Validation {
        field: None,
        message: format!("{what} {n} is above {}, the largest a database takes", i64::MAX),
    })
}

/// Which tag edit to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagEdit {
    Add,
    Remove,
    Set,
}

/// How a LIKE pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LikeMatch {
    pub case_insensitive: bool,
    pub negated: bool,
}

/// Which event a write produces for each row it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    Create,
    Update,
    Delete,
    SoftDelete,
    Restore,
}

impl EventKind {
    /// The event type of the rows a write of this kind returns.
    pub(crate) fn event_type(self) -> EventType {
        match self {
            EventKind::Create => EventType::Create,
            EventKind::Update => EventType::Update,
            EventKind::Delete => EventType::Delete,
            EventKind::SoftDelete => EventType::SoftDelete,
            EventKind::Restore => EventType::Restore,
        }
    }

    /// The event of a delete on `table`: soft where the table has it.
    pub(crate) fn delete(table: &TableDef) -> Self {
        if table.soft_delete { EventKind::SoftDelete } else { EventKind::Delete }
    }
}

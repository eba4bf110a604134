//! PostgreSQL's spelling: numbered placeholders, the transaction's `now()`, `= ANY` lists, the
//! array and JSONB operators the GIN indexes serve, row locks, and events written by the write's
//! own statement.

use super::Postgres;
use super::types::type_name;
use crate::backend::sql::{BIGINT, Dialect, EventKind, JSON, LikeMatch, Sql, TEXT, TEXT_ARRAY, TagEdit, row_count};
use crate::error::StoreError;
use crate::model::{ColumnDef, TableDef};
use crate::query::resolved::{ColumnRef, JsonCondition, RowLock};
use crate::types::{ColumnType, Value};

impl Dialect for Postgres {
    const NUMBERED_PARAMS: bool = true;
    const QUALIFIED_COLUMNS: bool = false;
    const SERVER_CLOCK: Option<&'static str> = Some("now()");
    const TRUE: &'static str = "TRUE";
    const FALSE: &'static str = "FALSE";
    const NULL_BIGINT: &'static str = "NULL::bigint";
    const PAGING_IN_TEXT: bool = false;
    const LIST_PER_VALUE: bool = false;

    fn like(sql: &mut Sql<'_, Self>, column: ColumnRef, pattern: &str, how: LikeMatch) -> Result<(), StoreError> {
        sql.column(column.name());
        sql.push(match (how.case_insensitive, how.negated) {
            (false, false) => " LIKE ",
            (false, true) => " NOT LIKE ",
            (true, false) => " ILIKE ",
            (true, true) => " NOT ILIKE ",
        });
        sql.param(Value::Text(pattern.to_owned()), TEXT)
    }

    /// One array parameter whatever the list length: one text, one prepared statement.
    fn in_list(sql: &mut Sql<'_, Self>, column: ColumnRef, values: &[Value], negated: bool) -> Result<(), StoreError> {
        sql.push(if negated { "NOT (" } else { "" });
        sql.column(column.name());
        sql.push(" = ANY(");
        sql.param(Value::Array(values.to_vec()), ColumnType::Array(column.ty().scalar()))?;
        sql.push(if negated { "))" } else { ")" });
        Ok(())
    }

    /// `column && $n::T[]` / `column @> $n::T[]`: the explicit type keeps the operator the one the
    /// GIN index serves.
    fn array_match(sql: &mut Sql<'_, Self>, column: ColumnRef, values: Value, all: bool) -> Result<(), StoreError> {
        sql.column(column.name());
        sql.push(if all { " @> " } else { " && " });
        sql.param(values, column.ty())?;
        sql.push("::");
        sql.push(&type_name(column.ty()));
        Ok(())
    }

    fn json(sql: &mut Sql<'_, Self>, column: ColumnRef, condition: &JsonCondition) -> Result<(), StoreError> {
        let path = |path: &[String]| Value::Array(path.iter().cloned().map(Value::Text).collect());
        match condition {
            JsonCondition::PathEq { path: p, value } => {
                sql.push("(");
                sql.column(column.name());
                sql.push(" #> ");
                sql.param(path(p), TEXT_ARRAY)?;
                sql.push(") = ");
                sql.param(Value::Json(value.clone()), JSON)
            }
            JsonCondition::PathTextEq { path: p, value } => {
                sql.push("(");
                sql.column(column.name());
                sql.push(" #>> ");
                sql.param(path(p), TEXT_ARRAY)?;
                sql.push(") = ");
                sql.param(Value::Text(value.clone()), TEXT)
            }
            JsonCondition::Contains(value) => {
                sql.column(column.name());
                sql.push(" @> ");
                sql.param(Value::Json(value.clone()), JSON)
            }
            // `?` is an operator here, not a placeholder: PostgreSQL's placeholders are `$n`.
            JsonCondition::HasKey(key) => {
                sql.column(column.name());
                sql.push(" ? ");
                sql.param(Value::Text(key.clone()), TEXT)
            }
            // `CASE` runs the cast only on numbers, so a string leaf is NULL (unmatched) rather
            // than an error; a `jsonb` number always casts to `numeric`, exactly. The bound value
            // travels as its JSON text, which `numeric` also reads exactly (`u64::MAX`, `1e300`).
            JsonCondition::PathCompare { path: p, op, value } => {
                sql.push("(CASE WHEN jsonb_typeof(");
                sql.column(column.name());
                sql.push(" #> ");
                sql.param(path(p), TEXT_ARRAY)?;
                sql.push(") = 'number' THEN CAST(");
                sql.column(column.name());
                sql.push(" #> ");
                sql.param(path(p), TEXT_ARRAY)?;
                sql.push(" AS NUMERIC) END)");
                sql.push(op.sql());
                sql.push("CAST(");
                sql.param(Value::Text(value.to_string()), TEXT)?;
                sql.push(" AS NUMERIC)");
                Ok(())
            }
            // `#>` gives SQL NULL where the path leads nowhere and JSON `null` where it leads to one.
            JsonCondition::PathExists { path: p, negated } => {
                sql.push("((");
                sql.column(column.name());
                sql.push(" #> ");
                sql.param(path(p), TEXT_ARRAY)?;
                sql.push(if *negated { ") IS NULL)" } else { ") IS NOT NULL)" });
                Ok(())
            }
        }
    }

    /// Bound, so every page of a query shares one prepared statement.
    fn paging(sql: &mut Sql<'_, Self>, limit: Option<u64>, offset: Option<u64>) -> Result<(), StoreError> {
        if let Some(limit) = limit {
            sql.push(" LIMIT ");
            sql.param(Value::BigInt(row_count(limit, "limit")?), BIGINT)?;
        }
        if let Some(offset) = offset {
            sql.push(" OFFSET ");
            sql.param(Value::BigInt(row_count(offset, "offset")?), BIGINT)?;
        }
        Ok(())
    }

    fn lock(sql: &mut Sql<'_, Self>, lock: RowLock) {
        sql.push(match lock {
            RowLock::ForUpdate => " FOR UPDATE",
            RowLock::ForUpdateSkipLocked => " FOR UPDATE SKIP LOCKED",
        });
    }

    /// PostgreSQL checks the result against the column's range itself.
    fn add(sql: &mut Sql<'_, Self>, column: &'static ColumnDef, value: Value) -> Result<(), StoreError> {
        sql.column(column.name);
        sql.push(" + ");
        sql.param(value, column.ty)
    }

    /// Edits keep the existing order and append only tags not already present.
    fn tags_value(sql: &mut Sql<'_, Self>, column: &'static str, edit: TagEdit) {
        match edit {
            TagEdit::Add => {
                sql.column(column);
                sql.push(" || ARRAY(SELECT t FROM unnest(");
                sql.slot();
                sql.push("::text[]) WITH ORDINALITY AS n(t, i) WHERE t <> ALL(");
                sql.column(column);
                sql.push(") ORDER BY i)");
            }
            TagEdit::Remove => {
                sql.push("ARRAY(SELECT t FROM unnest(");
                sql.column(column);
                sql.push(") WITH ORDINALITY AS n(t, i) WHERE t <> ALL(");
                sql.slot();
                sql.push("::text[]) ORDER BY i)");
            }
            TagEdit::Set => {
                sql.slot();
                sql.push("::text[]");
            }
        }
    }

    fn with_events(write: &str, table: &TableDef, kind: EventKind) -> String {
        super::events::with_events(write, table, kind)
    }
}

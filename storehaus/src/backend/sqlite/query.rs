//! Resolved queries rendered as SQLite statements.
//!
//! Statements are written as text. Identifiers come only from the model's metadata and are
//! quoted; every value is a `?` placeholder, bound in order of appearance through
//! [`values::bind`], so it is compared in exactly the encoding the column stores. Each statement
//! returns the columns of [`record_columns`] in that order, so rows read back as records.
//!
//! Column references in expressions are qualified with the table name (`"posts"."title"`):
//! SQLite reads an unknown double-quoted name as a string literal, so an unqualified column
//! missing from the database would silently compare or return the column's name instead of
//! failing. Qualified names always fail loudly.

mod condition;
mod json;
#[cfg(test)]
mod tests;

use super::values;
use crate::backend::layout::record_columns;
use crate::backend::quote_ident;
use crate::error::StoreError;
use crate::model::TableDef;
use crate::model::system::{DELETED_AT, UPDATED_AT, VERSION};
use crate::query::resolved::{Assignment, Condition, Order, ResolvedQuery, Visibility};
use crate::types::{ColumnType, ScalarType, Value};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteArguments;

const TIMESTAMPTZ: ColumnType = ColumnType::Scalar(ScalarType::TimestampTz);

/// An SQL statement with its bound arguments.
#[derive(Debug)]
pub(crate) struct Statement {
    pub sql: String,
    pub args: SqliteArguments,
}

/// A statement being written: its text and the arguments bound so far, in placeholder order.
struct Sql {
    text: String,
    args: SqliteArguments,
    /// The quoted table name, qualifying every column reference.
    table: String,
}

impl Sql {
    fn new(table: &TableDef) -> Self {
        Sql { text: String::with_capacity(256), args: SqliteArguments::default(), table: quote_ident(table.name) }
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// A bare quoted name: the table itself, or the target of an assignment.
    fn ident(&mut self, name: &str) {
        self.text.push_str(&quote_ident(name));
    }

    /// `"name" = `, the start of an assignment.
    fn assign(&mut self, name: &str) {
        self.ident(name);
        self.push(" = ");
    }

    /// A column of the table, as an expression.
    fn column(&mut self, name: &str) {
        self.text.push_str(&self.table);
        self.text.push('.');
        self.text.push_str(&quote_ident(name));
    }

    /// A placeholder bound to `value`, encoded as a column of type `ty` stores it.
    fn param(&mut self, value: Value, ty: ColumnType) -> Result<(), StoreError> {
        values::bind(&mut self.args, value, ty)?;
        self.text.push('?');
        Ok(())
    }

    /// `items` separated by `", "`, each written by `each`.
    fn list<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut each: impl FnMut(&mut Self, T) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            each(self, item)?;
        }
        Ok(())
    }

    fn finish(self) -> Statement {
        Statement { sql: self.text, args: self.args }
    }
}

/// `SELECT <record columns> FROM t WHERE … ORDER BY … LIMIT … OFFSET …`
///
/// Row locks render nothing: SQLite has none, and every transaction of this backend starts with
/// `BEGIN IMMEDIATE`, holding the database's write lock, so a locked read is already exclusive.
/// `SKIP LOCKED` therefore never skips on SQLite: workers take turns instead.
pub(crate) fn select(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    let mut sql = Sql::new(q.table);
    sql.push("SELECT ");
    columns(&mut sql, q.table);
    sql.push(" FROM ");
    sql.ident(q.table.name);
    filter(&mut sql, q, q.visibility, true)?;
    order_by(&mut sql, &q.order)?;
    paging(&mut sql, q.limit, q.offset);
    Ok(sql.finish())
}

/// `SELECT COUNT(*) FROM t WHERE …`: the rows `select` would return without paging.
pub(crate) fn count(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    let mut sql = Sql::new(q.table);
    sql.push("SELECT COUNT(*) FROM ");
    sql.ident(q.table.name);
    filter(&mut sql, q, q.visibility, false)?;
    Ok(sql.finish())
}

/// `UPDATE t SET …, __updated_at__ = <now> WHERE … RETURNING <record columns>`; versioned tables
/// also bump `__version__`.
pub(crate) fn update(q: &ResolvedQuery, set: &[Assignment], now: DateTime<Utc>) -> Result<Statement, StoreError> {
    q.check_write()?;
    if set.is_empty() {
        return Err(StoreError::Validation { field: None, message: "an update needs at least one assignment".into() });
    }
    let mut sql = Sql::new(q.table);
    sql.push("UPDATE ");
    sql.ident(q.table.name);
    sql.push(" SET ");
    sql.list(set, assignment)?;
    sql.push(", ");
    sql.assign(UPDATED_AT);
    sql.param(Value::TimestampTz(now), TIMESTAMPTZ)?;
    if q.table.versioned {
        sql.push(", ");
        sql.assign(VERSION);
        sql.column(VERSION);
        sql.push(" + 1");
    }
    filter(&mut sql, q, q.visibility, false)?;
    returning(&mut sql, q.table);
    Ok(sql.finish())
}

/// `UPDATE t SET __deleted_at__ = <now>, __updated_at__ = <now> WHERE <live> AND … RETURNING …`
pub(crate) fn soft_delete(q: &ResolvedQuery, now: DateTime<Utc>) -> Result<Statement, StoreError> {
    flip_deleted(q, now, true)
}

/// `UPDATE t SET __deleted_at__ = NULL, __updated_at__ = <now> WHERE <deleted> AND … RETURNING …`
pub(crate) fn restore(q: &ResolvedQuery, now: DateTime<Utc>) -> Result<Statement, StoreError> {
    flip_deleted(q, now, false)
}

/// `DELETE FROM t WHERE … RETURNING <record columns>`
pub(crate) fn delete(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    q.check_write()?;
    let mut sql = Sql::new(q.table);
    sql.push("DELETE FROM ");
    sql.ident(q.table.name);
    filter(&mut sql, q, q.visibility, false)?;
    returning(&mut sql, q.table);
    Ok(sql.finish())
}

/// Soft delete (`deleting`) or restore: flips `__deleted_at__` on the rows in the opposite state,
/// whatever visibility the query asked for.
fn flip_deleted(q: &ResolvedQuery, now: DateTime<Utc>, deleting: bool) -> Result<Statement, StoreError> {
    q.check_write()?;
    if !q.table.soft_delete {
        return Err(StoreError::Validation {
            field: None,
            message: format!("`{}` is not declared with soft delete", q.table.name),
        });
    }
    let mut sql = Sql::new(q.table);
    sql.push("UPDATE ");
    sql.ident(q.table.name);
    sql.push(" SET ");
    sql.assign(DELETED_AT);
    if deleting {
        sql.param(Value::TimestampTz(now), TIMESTAMPTZ)?;
    } else {
        sql.push("NULL");
    }
    sql.push(", ");
    sql.assign(UPDATED_AT);
    sql.param(Value::TimestampTz(now), TIMESTAMPTZ)?;
    let visibility = if deleting { Visibility::Live } else { Visibility::OnlyDeleted };
    filter(&mut sql, q, visibility, false)?;
    returning(&mut sql, q.table);
    Ok(sql.finish())
}

/// `column = value` or `column = column + value`.
fn assignment(sql: &mut Sql, assignment: &Assignment) -> Result<(), StoreError> {
    match assignment {
        Assignment::Set { column, value } => {
            sql.assign(column.name);
            sql.param(value.clone(), column.ty)
        }
        Assignment::Add { column, value } => {
            // Decimals are stored as text; SQLite's `+` would turn them into lossy floats.
            if column.ty.scalar() == ScalarType::Decimal {
                return Err(super::unsupported(format!("increment/decrement of decimal column `{}`", column.name)));
            }
            sql.assign(column.name);
            let Some((min, max)) = integer_range(column.ty.scalar()) else {
                sql.column(column.name);
                sql.push(" + ");
                return sql.param(value.clone(), column.ty);
            };
            // SQLite's integers are 64-bit and overflow into floats, so a sum out of the column's
            // range would be stored and then fail to read back. `abs` of the smallest integer
            // raises SQLite's "integer overflow" error instead, which aborts the statement, as
            // PostgreSQL's range check does; NULL stays NULL, as there.
            let sum = |sql: &mut Sql| -> Result<(), StoreError> {
                sql.column(column.name);
                sql.push(" + ");
                sql.param(value.clone(), column.ty)
            };
            sql.push("CASE WHEN ");
            sum(sql)?;
            sql.push(&format!(" BETWEEN {min} AND {max} AND typeof("));
            sum(sql)?;
            sql.push(") = 'integer' THEN ");
            sum(sql)?;
            sql.push(" WHEN ");
            sql.column(column.name);
            sql.push(" IS NULL THEN NULL ELSE abs(-9223372036854775807 - 1) END");
            Ok(())
        }
    }
}

/// The values an integer column holds.
fn integer_range(scalar: ScalarType) -> Option<(i64, i64)> {
    match scalar {
        ScalarType::SmallInt => Some((i16::MIN.into(), i16::MAX.into())),
        ScalarType::Integer => Some((i32::MIN.into(), i32::MAX.into())),
        ScalarType::BigInt => Some((i64::MIN, i64::MAX)),
        _ => None,
    }
}

fn columns(sql: &mut Sql, table: &TableDef) {
    for (i, name) in record_columns(table).into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.column(name);
    }
}

fn returning(sql: &mut Sql, table: &TableDef) {
    sql.push(" RETURNING ");
    columns(sql, table);
}

/// The WHERE clause: soft-delete visibility (on tables that have it), the condition (a top-level
/// `And` as separate terms), and for reads the keyset position. Nothing when no term restricts
/// the rows.
fn filter(sql: &mut Sql, q: &ResolvedQuery, visibility: Visibility, keyset: bool) -> Result<(), StoreError> {
    let terms: &[Condition] = match &q.condition {
        Some(Condition::And(items)) => items,
        Some(other) => std::slice::from_ref(other),
        None => &[],
    };
    let visibility = if q.table.soft_delete { condition::visibility(visibility) } else { None };
    let keyset = if keyset { q.keyset.as_ref() } else { None };
    if visibility.is_none() && terms.is_empty() && keyset.is_none() {
        return Ok(());
    }
    sql.push(" WHERE ");
    let mut first = true;
    let mut and = |sql: &mut Sql| {
        if !std::mem::take(&mut first) {
            sql.push(" AND ");
        }
    };
    if let Some(test) = visibility {
        and(sql);
        sql.column(DELETED_AT);
        sql.push(test);
    }
    for term in terms {
        and(sql);
        condition::condition(sql, term)?;
    }
    if let Some(keyset) = keyset {
        and(sql);
        condition::keyset(sql, &q.order, &keyset.after)?;
    }
    Ok(())
}

/// `ORDER BY`, with NULLs where PostgreSQL puts them: last ascending, first descending. SQLite's
/// default is the opposite, so nullable keys say so; keys that are never NULL keep the default,
/// which lets an index serve the sort.
fn order_by(sql: &mut Sql, order: &[Order]) -> Result<(), StoreError> {
    if order.is_empty() {
        return Ok(());
    }
    sql.push(" ORDER BY ");
    sql.list(order, |sql, o| {
        condition::orderable(o.column, "sorting by")?;
        sql.column(o.column.name());
        sql.push(match (o.descending, o.column.nullable()) {
            (false, false) => " ASC",
            (false, true) => " ASC NULLS LAST",
            (true, false) => " DESC",
            (true, true) => " DESC NULLS FIRST",
        });
        Ok(())
    })
}

/// `LIMIT n OFFSET m`; SQLite takes an offset only after a limit, and `-1` means none. The numbers
/// come from the model as `u64`, so they are written inline (clamped to SQLite's `i64`).
fn paging(sql: &mut Sql, limit: Option<u64>, offset: Option<u64>) {
    let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    match (limit, offset) {
        (None, None) => {}
        (limit, offset) => {
            sql.push(&format!(" LIMIT {}", limit.map_or(-1, int)));
            if let Some(offset) = offset {
                sql.push(&format!(" OFFSET {}", int(offset)));
            }
        }
    }
}

//! Chunked batch writes on PostgreSQL: each chunk is one statement with one array parameter per
//! column, unnested by the server.
//!
//! `UNNEST` flattens multi-dimensional arrays, so an array column cannot travel as an array of
//! arrays: each row's array is sent as one JSONB document (`JSONB[]` for the column) and rebuilt
//! into the column's element type by the statement.

use super::Postgres;
use super::types::{scalar_name, type_name};
use super::values::bind;
use crate::backend::BatchStatements;
use crate::backend::sql::{Dialect, EventKind, Sql, SqlText, on_conflict_do_nothing, record_columns};
use crate::error::StoreError;
use crate::model::system::{AUTH, DELETED_AT, TAGS, UPDATED_AT, VERSION};
use crate::model::{TableDef, Write};
use crate::query::ScopeShape;
use crate::query::resolved::Condition;
use crate::types::{ColumnType, ScalarType, Value};
use chrono::SecondsFormat;
use serde_json::Value as Json;
use std::fmt::Write as _;

/// The alias of the unnested rows. Reserved-looking, so it never clashes with the target table.
const ROWS: &str = "__batch__";

type Columns = Vec<(&'static str, ColumnType)>;

/// The batch statements of `table` for stores of scope `shape`, with its events when the store
/// records them.
pub(super) fn statements(
    table: &'static TableDef,
    emit: bool,
    shape: ScopeShape,
) -> Result<BatchStatements, StoreError> {
    let scope = shape.template(table);
    let scope = scope.as_ref();
    let events = |sql: String, kind| match emit {
        true => Postgres::with_events(&sql, table, kind),
        false => sql,
    };
    let insert = |ignore| SqlText::assembled(events(insert(table, ignore), EventKind::Create)).shared();
    let key: Vec<&'static str> = table.key_columns().map(|c| c.name).collect();
    Ok(BatchStatements {
        insert: insert(None),
        insert_or_ignore: [insert(Some(&[])), insert(Some(&key))],
        update: [false, true]
            .map(|with_tags| SqlText::assembled(events(update(table, with_tags, scope), EventKind::Update)).shared()),
        delete: delete(table, scope).map(|sql| SqlText::assembled(events(sql, EventKind::delete(table))).shared()),
    })
}

/// Adds one column of a chunk to `args`: an array of the column's scalar, or of JSONB documents
/// for an array column.
pub(super) fn bind_column(
    args: &mut sqlx::postgres::PgArguments,
    values: Vec<Value>,
    ty: ColumnType,
) -> Result<(), StoreError> {
    let values = match ty {
        ColumnType::Scalar(_) => values,
        ColumnType::Array(scalar) => values
            .into_iter()
            .map(|value| array_document(value, scalar))
            .collect::<Result<_, _>>()
            .map_err(|message| StoreError::Validation { field: None, message })?,
    };
    bind(args, Value::Array(values), transport(ty))
}

/// How a column's values travel: an array of the scalar, or JSONB documents for array columns.
fn transport(ty: ColumnType) -> ColumnType {
    match ty {
        ColumnType::Scalar(s) => ColumnType::Array(s),
        ColumnType::Array(_) => ColumnType::Array(ScalarType::Json),
    }
}

/// `UNNEST(CAST($1 AS T1[]), …) AS "__batch__"("c1", …)`: a slot per column, in order.
fn unnest(sql: &mut Sql<'_, Postgres>, columns: &[(&'static str, ColumnType)]) {
    sql.push("UNNEST(");
    for (i, (_, ty)) in columns.iter().enumerate() {
        sql.push(if i > 0 { ", CAST(" } else { "CAST(" });
        sql.slot();
        sql.push(" AS ");
        sql.push(&type_name(transport(*ty)));
        sql.push(")");
    }
    sql.push(") AS ");
    sql.ident(ROWS);
    sql.push("(");
    sql.names(columns.iter().map(|(name, _)| *name));
    sql.push(")");
}

/// The value of column `name` in the unnested row, in the column's own type.
fn unnested(sql: &mut Sql<'_, Postgres>, name: &str, ty: ColumnType) {
    let column = |sql: &mut Sql<'_, Postgres>| {
        sql.ident(ROWS);
        sql.push(".");
        sql.ident(name);
    };
    let ColumnType::Array(scalar) = ty else { return column(sql) };
    let (elements, item) = match scalar {
        ScalarType::Json => ("jsonb_array_elements", "e.v".to_owned()),
        s => ("jsonb_array_elements_text", format!("e.v::{}", scalar_name(s))),
    };
    // WITH ORDINALITY: the array keeps its element order by contract, not by plan luck.
    sql.push("CASE WHEN ");
    column(sql);
    sql.push(&format!(" IS NULL THEN NULL ELSE ARRAY(SELECT {item} FROM {elements}("));
    column(sql);
    sql.push(") WITH ORDINALITY AS e(v, i) ORDER BY e.i) END");
}

/// `RETURNING "t"."c1", …`: qualified, as the unnested rows have columns of the same names.
fn returning_qualified(sql: &mut Sql<'_, Postgres>, table: &TableDef) {
    sql.push(" RETURNING ");
    for (i, name) in record_columns(table).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.ident(table.name);
        sql.push(".");
        sql.ident(name);
    }
}

fn create_columns(table: &TableDef) -> Columns {
    table.written_columns(Write::Create).map(|c| (c.name, c.ty)).collect()
}

/// Writes a statement with the writer, which quotes every identifier.
fn write(table: &'static TableDef, body: impl FnOnce(&mut Sql<'static, Postgres>)) -> String {
    let mut sql = Sql::template(table);
    body(&mut sql);
    sql.finish_template().0.as_str().to_owned()
}

/// `INSERT … SELECT … FROM UNNEST(…)`: the tags of every row, its `__auth__` (`auth` tables),
/// then the create columns; `ignore`
/// as in [`Statements::insert_or_ignore`](crate::backend::sql::Statements::insert_or_ignore).
fn insert(table: &'static TableDef, ignore: Option<&[&'static str]>) -> String {
    let columns = create_columns(table);
    write(table, |sql| {
        sql.push("INSERT INTO ");
        sql.ident(table.name);
        sql.push(" (");
        sql.names(columns.iter().map(|(name, _)| *name).chain([TAGS]).chain(table.auth.then_some(AUTH)));
        sql.push(") SELECT ");
        for (name, ty) in &columns {
            unnested(sql, name, *ty);
            sql.push(", ");
        }
        sql.push("CAST(");
        sql.slot();
        sql.push(" AS TEXT[])");
        if table.auth {
            sql.push(", CAST(");
            sql.slot();
            sql.push(" AS TEXT[])");
        }
        sql.push(" FROM ");
        unnest(sql, &columns);
        on_conflict_do_nothing(sql, ignore);
        sql.returning();
    })
}

/// `"__updated_at__" = now()`, and on versioned tables `"__version__" = "t"."__version__" + 1`.
fn touch(sql: &mut Sql<'_, Postgres>, table: &TableDef) {
    sql.assign(UPDATED_AT);
    sql.push("now()");
    if table.versioned {
        sql.push(", ");
        sql.assign(VERSION);
        qualified(sql, table, VERSION);
        sql.push(" + 1");
    }
}

/// `"t"."c"`
fn qualified(sql: &mut Sql<'_, Postgres>, table: &TableDef, name: &str) {
    sql.ident(table.name);
    sql.push(".");
    sql.ident(name);
}

/// `UPDATE … FROM UNNEST(…)`: the tags when `with_tags` (the same for every row), the keys, then
/// the update columns, then the scope's values. Live rows in scope only.
fn update(table: &'static TableDef, with_tags: bool, scope: Option<&Condition>) -> String {
    let keys = table.key_columns().count();
    let columns: Columns =
        table.key_columns().chain(table.written_columns(Write::Update)).map(|c| (c.name, c.ty)).collect();
    write(table, |sql| {
        sql.push("UPDATE ");
        sql.ident(table.name);
        sql.push(" SET ");
        for (name, ty) in &columns[keys..] {
            sql.assign(name);
            unnested(sql, name, *ty);
            sql.push(", ");
        }
        if with_tags {
            // Before the unnested columns' slots: the tags are the first parameter.
            sql.assign(TAGS);
            sql.push("CAST(");
            sql.slot();
            sql.push(" AS TEXT[]), ");
        }
        touch(sql, table);
        sql.push(" FROM ");
        unnest(sql, &columns);
        sql.push(" WHERE ");
        for (i, key) in table.key_columns().enumerate() {
            if i > 0 {
                sql.push(" AND ");
            }
            qualified(sql, table, key.name);
            sql.push(" = ");
            unnested(sql, key.name, key.ty);
        }
        if table.soft_delete {
            sql.push(" AND ");
            qualified(sql, table, DELETED_AT);
            sql.push(" IS NULL");
        }
        if let Some(scope) = scope {
            // The unnested rows have columns of the table's names: the scope's are the table's.
            sql.qualify_columns();
            sql.push(" AND ");
            sql.slots(scope);
        }
        returning_qualified(sql, table);
    })
}

/// `… WHERE "pk" = ANY(CAST($1 AS K[]))` (for a composite key, `("a", "b") IN (SELECT … FROM
/// UNNEST(…))`), then the scope's values: soft delete of live rows in scope where the table has
/// it, else a delete.
fn delete(table: &'static TableDef, scope: Option<&Condition>) -> Result<String, StoreError> {
    let key = table.primary_key();
    if table.key_columns().any(|c| c.ty.is_array()) {
        return Err(StoreError::Unsupported {
            backend: "postgres",
            operation: format!("delete_many on `{}`, whose key is an array", table.name).into(),
        });
    }
    Ok(write(table, |sql| {
        if table.soft_delete {
            sql.push("UPDATE ");
            sql.ident(table.name);
            sql.push(" SET ");
            sql.assign(DELETED_AT);
            sql.push("now(), ");
            sql.assign(UPDATED_AT);
            sql.push("now()");
        } else {
            sql.push("DELETE FROM ");
            sql.ident(table.name);
        }
        sql.push(" WHERE ");
        if table.composite_key() {
            let columns: Columns = table.key_columns().map(|c| (c.name, c.ty)).collect();
            sql.push("(");
            sql.names(columns.iter().map(|(name, _)| *name));
            sql.push(") IN (SELECT * FROM ");
            unnest(sql, &columns);
            sql.push(")");
        } else {
            sql.ident(key.name);
            sql.push(" = ANY(CAST(");
            sql.slot();
            sql.push(" AS ");
            sql.push(&type_name(transport(key.ty)));
            sql.push("))");
        }
        if table.soft_delete {
            sql.push(" AND ");
            sql.ident(DELETED_AT);
            sql.push(" IS NULL");
        }
        if let Some(scope) = scope {
            sql.push(" AND ");
            sql.slots(scope);
        }
        sql.returning();
    }))
}

/// An array column's value as one JSONB document (`NULL` stays `NULL`).
fn array_document(value: Value, scalar: ScalarType) -> Result<Value, String> {
    match value {
        Value::Null => Ok(Value::Null),
        Value::Array(items) => items
            .into_iter()
            .map(|item| element(item, scalar))
            .collect::<Result<_, _>>()
            .map(|v| Value::Json(Json::Array(v))),
        other => Err(format!("expected Array, found {}", other.kind_name())),
    }
}

/// One array element as JSON whose text the statement casts back to `scalar`: the same
/// PostgreSQL input syntax the type's own text form uses, so nothing is lost on the way.
fn element(value: Value, scalar: ScalarType) -> Result<Json, String> {
    use ScalarType as S;
    let text = |s: String| Ok(Json::String(s));
    match (scalar, value) {
        (_, Value::Null) => Ok(Json::Null),
        (S::Bool, Value::Bool(b)) => Ok(Json::Bool(b)),
        (S::SmallInt, Value::SmallInt(n)) => Ok(n.into()),
        (S::Integer, Value::Integer(n)) => Ok(n.into()),
        (S::BigInt, Value::BigInt(n)) => Ok(n.into()),
        (S::Real, Value::Real(f)) => text(float(f64::from(f), format!("{f:?}"))),
        (S::Double, Value::Double(f)) => text(float(f, format!("{f:?}"))),
        (S::Text, Value::Text(s)) if s.contains('\0') => Err("text contains a NUL byte".to_owned()),
        (S::Text, Value::Text(s)) => text(s),
        (S::Uuid, Value::Uuid(u)) => text(u.to_string()),
        // In STORABLE_YEARS (checked by `Backend::bind_column`), so the year has the four digits the
        // ISO 8601 text form needs.
        (S::TimestampTz, Value::TimestampTz(t)) => text(t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        (S::Timestamp, Value::Timestamp(t)) => text(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        (S::Date, Value::Date(d)) => text(d.format("%Y-%m-%d").to_string()),
        (S::Time, Value::Time(t)) => text(t.format("%H:%M:%S%.6f").to_string()),
        (S::Decimal, Value::Decimal(d)) => text(d.to_string()),
        (S::Json, Value::Json(j)) => Ok(j),
        (S::Bytes, Value::Bytes(b)) => {
            let mut hex = String::with_capacity(2 + 2 * b.len());
            hex.push_str("\\x");
            for byte in b {
                let _ = write!(hex, "{byte:02x}");
            }
            text(hex)
        }
        (scalar, other) => Err(format!("expected {scalar:?} array elements, found {}", other.kind_name())),
    }
}

/// Shortest round-trip digits, and the spellings PostgreSQL reads for the special values.
fn float(f: f64, digits: String) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        digits
    }
}

#[cfg(test)]
mod tests;

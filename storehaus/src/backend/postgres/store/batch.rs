//! Batch writes: each chunk of rows is one statement with one array parameter per column,
//! unnested by the server, so the SQL text (and its prepared statement) is the same whatever the
//! chunk size and no call comes near PostgreSQL's 65 535-parameter limit.
//!
//! `UNNEST` flattens multi-dimensional arrays, so an array column cannot travel as an array of
//! arrays: each row's array is sent as one JSONB document (`JSONB[]` for the column) and rebuilt
//! into the column's element type by the statement.

use super::PgExec;
use super::statements::Statements;
use crate::backend::postgres::events::{EventKind, events_if, with_events};
use crate::backend::postgres::quote_ident;
use crate::backend::postgres::record::record_columns;
use crate::backend::postgres::types::{scalar_name, type_name};
use crate::backend::postgres::values::bind;
use crate::error::StoreError;
use crate::model::system::{DELETED_AT, TAGS, UPDATED_AT, VERSION};
use crate::model::{Model, TableDef, Write};
use crate::store::Record;
use crate::types::{ColumnType, ScalarType, SqlType, Value};
use chrono::{Datelike, SecondsFormat};
use sea_query::extension::postgres::PgFunc;
use sea_query::{Alias, Expr, Func, Iden, OnConflict, PostgresQueryBuilder, Query, Quote, SimpleExpr, TableRef};
use serde_json::Value as Json;
use sqlx::postgres::PgArguments;
use std::fmt::{self, Write as _};

/// Rows per statement: enough to amortize the round trip, few enough to keep each statement's
/// arrays, and the server's memory for them, modest.
pub(crate) const BATCH_ROWS: usize = 5_000;

/// The batch statements of one model, with its events when the store emits them. Built once,
/// on a store's first batch write, so each call only binds: building them with sea-query took
/// as long as a small batch's round trip.
#[derive(Debug, Clone)]
pub(crate) struct BatchStatements {
    insert: String,
    /// Upserts keeping (`[0]`) or replacing (`[1]`) the tags of existing rows.
    upsert: [String; 2],
    update: String,
    /// `Err` when the key is an array, which `= ANY($1)` cannot match.
    delete: Result<String, StoreError>,
}

impl BatchStatements {
    pub(crate) fn new(table: &'static TableDef, emit: bool) -> Result<Self, StoreError> {
        let insert = insert_sql(table, None)?;
        let upsert_sql = |with_tags: bool| -> Result<String, StoreError> {
            let sql = insert_sql(table, Some(with_tags))?;
            Ok(match emit {
                true => with_events(&format!("{sql}, (xmax = 0) AS \"__inserted\""), table, EventKind::Upsert),
                false => sql,
            })
        };
        let deleted = if table.soft_delete { EventKind::SoftDelete } else { EventKind::Delete };
        Ok(BatchStatements {
            insert: events_if(emit, insert, table, EventKind::Create),
            upsert: [upsert_sql(false)?, upsert_sql(true)?],
            update: events_if(emit, update_sql(table), table, EventKind::Update),
            delete: delete_sql(table).map(|sql| events_if(emit, sql, table, deleted)),
        })
    }
}

/// The alias of the unnested rows. Reserved-looking, so it never clashes with the target table.
const ROWS: &str = "__batch__";

const TEXT_ARRAY: ColumnType = ColumnType::Array(ScalarType::Text);

type Columns = Vec<(&'static str, ColumnType)>;

/// `"__batch__"("c1", "c2", …)`: a function-table alias with column names, which sea-query's
/// plain alias cannot spell.
struct RowsAlias(Vec<&'static str>);

impl Iden for RowsAlias {
    fn prepare(&self, s: &mut dyn fmt::Write, q: Quote) {
        Alias::new(ROWS).prepare(s, q);
        let _ = s.write_char('(');
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                let _ = s.write_str(", ");
            }
            Alias::new(*name).prepare(s, q);
        }
        let _ = s.write_char(')');
    }

    fn unquoted(&self, s: &mut dyn fmt::Write) {
        let _ = s.write_str(ROWS);
    }
}

/// How a column's values travel: an array of the scalar, or JSONB documents for array columns.
fn transport(ty: ColumnType) -> ColumnType {
    match ty {
        ColumnType::Scalar(s) => ColumnType::Array(s),
        ColumnType::Array(_) => ColumnType::Array(ScalarType::Json),
    }
}

/// `CAST($n AS <type>)`; parameters are numbered explicitly because the statement does not list
/// them in the order they are bound.
fn param(n: usize, ty: ColumnType) -> SimpleExpr {
    Func::cast_as(Expr::cust(format!("${n}")), Alias::new(type_name(ty))).into()
}

/// `UNNEST(CAST($1 AS T1[]), …) AS "__batch__"("c1", …)`: parameter `i` holds column `i`.
fn unnest(columns: &[(&'static str, ColumnType)]) -> TableRef {
    let args = columns.iter().enumerate().map(|(i, (_, ty))| param(i + 1, transport(*ty)));
    let alias = RowsAlias(columns.iter().map(|(name, _)| *name).collect());
    TableRef::FunctionCall(Func::cust(Alias::new("UNNEST")).args(args), sea_query::IntoIden::into_iden(alias))
}

/// The value of column `name` in the unnested row, in the column's own type.
fn unnested(name: &'static str, ty: ColumnType) -> SimpleExpr {
    let column = Expr::col((Alias::new(ROWS), Alias::new(name)));
    let ColumnType::Array(scalar) = ty else { return column.into() };
    let (elements, item) = match scalar {
        ScalarType::Json => ("jsonb_array_elements", "e.v".to_owned()),
        s => ("jsonb_array_elements_text", format!("e.v::{}", scalar_name(s))),
    };
    // WITH ORDINALITY: the array keeps its element order by contract, not by plan luck.
    let array = format!(
        "ARRAY(SELECT {item} FROM {elements}({}.{}) WITH ORDINALITY AS e(v, i) ORDER BY e.i)",
        quote_ident(ROWS),
        quote_ident(name)
    );
    Expr::case(column.is_null(), Expr::cust("NULL")).finally(Expr::cust(array)).into()
}

fn returning(table: &TableDef, qualified: bool) -> sea_query::ReturningClause {
    let t = table.name;
    if qualified {
        Query::returning().columns(record_columns(table).into_iter().map(|c| (Alias::new(t), Alias::new(c))))
    } else {
        Query::returning().columns(record_columns(table).into_iter().map(Alias::new))
    }
}

fn create_columns(table: &TableDef) -> Columns {
    table.written_columns(Write::Create).map(|c| (c.name, c.ty)).collect()
}

/// The key, then the columns an update writes.
fn update_columns(table: &TableDef) -> Columns {
    let key = table.primary_key();
    std::iter::once((key.name, key.ty)).chain(table.written_columns(Write::Update).map(|c| (c.name, c.ty))).collect()
}

/// `INSERT … SELECT … FROM UNNEST(…)`: `$1…$n` the create columns, `$n+1` the tags of every row.
/// With `upsert`, a conflicting live row gets the columns written on both create and update (and
/// the tags when `upsert == Some(true)`); a soft-deleted one is left alone and not returned.
fn insert_sql(table: &TableDef, upsert: Option<bool>) -> Result<String, StoreError> {
    let columns = create_columns(table);
    let mut select = Query::select();
    for (name, ty) in &columns {
        select.expr(unnested(name, *ty));
    }
    select.expr(param(columns.len() + 1, TEXT_ARRAY));
    select.from(unnest(&columns));
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(table.name))
        .columns(columns.iter().map(|(name, _)| Alias::new(*name)).chain([Alias::new(TAGS)]))
        .select_from(select)
        .map_err(|e| StoreError::Validation { field: None, message: e.to_string() })?;
    if let Some(with_tags) = upsert {
        let t = || Alias::new(table.name);
        let mut on_conflict = OnConflict::column(Alias::new(table.primary_key().name));
        on_conflict.update_columns(table.columns.iter().filter(|c| c.create && c.update).map(|c| Alias::new(c.name)));
        if with_tags {
            on_conflict.update_column(Alias::new(TAGS));
        }
        on_conflict.value(Alias::new(UPDATED_AT), Expr::cust("now()"));
        if table.versioned {
            on_conflict.value(Alias::new(VERSION), Expr::col((t(), Alias::new(VERSION))).add(1));
        }
        if table.soft_delete {
            on_conflict.action_and_where(Expr::col((t(), Alias::new(DELETED_AT))).is_null());
        }
        insert.on_conflict(on_conflict);
    }
    Ok(insert.returning(returning(table, false)).to_string(PostgresQueryBuilder))
}

/// `UPDATE … FROM UNNEST(…)`: `$1` the keys, `$2…` the update columns. Live rows only.
fn update_sql(table: &TableDef) -> String {
    let t = || Alias::new(table.name);
    let key = table.primary_key();
    let columns = update_columns(table);
    let mut update = Query::update();
    update.table(t());
    for (name, ty) in &columns[1..] {
        update.value(Alias::new(*name), unnested(name, *ty));
    }
    update.value(Alias::new(UPDATED_AT), Expr::cust("now()"));
    if table.versioned {
        update.value(Alias::new(VERSION), Expr::col((t(), Alias::new(VERSION))).add(1));
    }
    update.from(unnest(&columns)).and_where(Expr::col((t(), Alias::new(key.name))).eq(unnested(key.name, key.ty)));
    if table.soft_delete {
        update.and_where(Expr::col((t(), Alias::new(DELETED_AT))).is_null());
    }
    update.returning(returning(table, true)).to_string(PostgresQueryBuilder)
}

/// `… WHERE "pk" = ANY($1)`: soft delete of live rows where the table has it, else a delete.
fn delete_sql(table: &TableDef) -> Result<String, StoreError> {
    let key = table.primary_key();
    let ColumnType::Scalar(scalar) = key.ty else {
        return Err(StoreError::Unsupported {
            backend: "postgres",
            operation: format!("delete_many on `{}`, whose key is an array", table.name).into(),
        });
    };
    let matches = Expr::col(Alias::new(key.name)).eq(PgFunc::any(param(1, ColumnType::Array(scalar))));
    let sql = if table.soft_delete {
        Query::update()
            .table(Alias::new(table.name))
            .value(Alias::new(DELETED_AT), Expr::cust("now()"))
            .value(Alias::new(UPDATED_AT), Expr::cust("now()"))
            .and_where(matches)
            .and_where(Expr::col(Alias::new(DELETED_AT)).is_null())
            .returning(returning(table, false))
            .to_string(PostgresQueryBuilder)
    } else {
        Query::delete()
            .from_table(Alias::new(table.name))
            .and_where(matches)
            .returning(returning(table, false))
            .to_string(PostgresQueryBuilder)
    };
    Ok(sql)
}

/// Runs `sql` once per chunk of `items`, with the arguments `bind_chunk` makes for the chunk.
async fn each_chunk<I: Sync, T: Model>(
    exec: PgExec<'_>,
    sql: &str,
    items: &[I],
    bind_chunk: impl Fn(&[I]) -> Result<PgArguments, StoreError>,
) -> Result<Vec<Record<T>>, StoreError> {
    let mut records = Vec::with_capacity(items.len());
    for chunk in items.chunks(BATCH_ROWS) {
        let args = bind_chunk(chunk)?;
        records.extend(exec.fetch_records::<T>(sql, args).await?);
    }
    Ok(records)
}

pub(crate) async fn create_many<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    data: &[T],
    tags: &[String],
) -> Result<Vec<Record<T>>, StoreError> {
    let sql = &statements.batch()?.insert;
    insert_many(exec, sql, data, tags).await
}

/// Inserts `data`, updating the live rows whose keys exist already; `tags: None` keeps their tags.
pub(crate) async fn upsert_many<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    data: &[T],
    tags: Option<&[String]>,
) -> Result<Vec<Record<T>>, StoreError> {
    let sql = &statements.batch()?.upsert[usize::from(tags.is_some())];
    insert_many(exec, sql, data, tags.unwrap_or_default()).await
}

async fn insert_many<T: Model>(
    exec: PgExec<'_>,
    sql: &str,
    data: &[T],
    tags: &[String],
) -> Result<Vec<Record<T>>, StoreError> {
    let columns = create_columns(T::TABLE);
    each_chunk(exec, sql, data, |chunk| {
        let mut rows = Rows::new(&columns, chunk.len());
        for data in chunk {
            rows.push(data, Write::Create)?;
        }
        let mut args = rows.into_args()?;
        bind(&mut args, Value::Array(tags.iter().cloned().map(Value::Text).collect()), TEXT_ARRAY)?;
        Ok(args)
    })
    .await
}

pub(crate) async fn update_many<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    items: &[(T::Key, T)],
) -> Result<Vec<Record<T>>, StoreError> {
    let columns = update_columns(T::TABLE);
    each_chunk(exec, &statements.batch()?.update, items, |chunk| {
        let mut rows = Rows::new(&columns, chunk.len());
        for (id, data) in chunk {
            rows.push_key::<T>(id)?;
            rows.push(data, Write::Update)?;
        }
        rows.into_args()
    })
    .await
}

/// Deletes (soft-deletes, where the table has it) the live rows with these keys.
pub(crate) async fn delete_many<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    keys: &[T::Key],
) -> Result<Vec<Record<T>>, StoreError> {
    let key = T::TABLE.primary_key();
    let sql = statements.batch()?.delete.as_ref().map_err(Clone::clone)?;
    let columns = [(key.name, key.ty)];
    each_chunk(exec, sql, keys, |chunk| {
        let mut rows = Rows::new(&columns, chunk.len());
        for id in chunk {
            rows.push_key::<T>(id)?;
        }
        rows.into_args()
    })
    .await
}

/// A chunk's values gathered by column, each column in the form it travels in.
struct Rows<'c> {
    columns: &'c [(&'static str, ColumnType)],
    values: Vec<Vec<Value>>,
    /// The next column `push` fills.
    next: usize,
}

impl<'c> Rows<'c> {
    fn new(columns: &'c [(&'static str, ColumnType)], rows: usize) -> Self {
        Rows { columns, values: columns.iter().map(|_| Vec::with_capacity(rows)).collect(), next: 0 }
    }

    fn push_value(&mut self, value: Value) -> Result<(), StoreError> {
        let (name, ty) = self.columns[self.next];
        let value = match ty {
            ColumnType::Scalar(_) => value,
            ColumnType::Array(scalar) => array_document(value, scalar).map_err(|e| StoreError::validation(name, e))?,
        };
        self.values[self.next].push(value);
        self.next = (self.next + 1) % self.columns.len();
        Ok(())
    }

    fn push_key<T: Model>(&mut self, key: &T::Key) -> Result<(), StoreError> {
        let name = T::TABLE.primary_key().name;
        self.push_value(key.to_value().map_err(|e| StoreError::validation(name, e.to_string()))?)
    }

    fn push<T: Model>(&mut self, data: &T, write: Write) -> Result<(), StoreError> {
        let mut values = Vec::with_capacity(self.columns.len());
        data.write_values(write, &mut values)?;
        values.into_iter().try_for_each(|value| self.push_value(value))
    }

    fn into_args(self) -> Result<PgArguments, StoreError> {
        let mut args = PgArguments::default();
        for ((name, ty), values) in self.columns.iter().zip(self.values) {
            bind(&mut args, Value::Array(values), transport(*ty)).map_err(|e| match e {
                StoreError::Validation { field: None, message } => StoreError::validation(*name, message),
                other => other,
            })?;
        }
        Ok(args)
    }
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
        (S::TimestampTz, Value::TimestampTz(t)) => {
            in_range(t.year()).and_then(|()| text(t.to_rfc3339_opts(SecondsFormat::Micros, true)))
        }
        (S::Timestamp, Value::Timestamp(t)) => {
            in_range(t.year()).and_then(|()| text(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()))
        }
        (S::Date, Value::Date(d)) => in_range(d.year()).and_then(|()| text(d.format("%Y-%m-%d").to_string())),
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

/// Years outside 1…9999 have no unambiguous ISO 8601 text form for PostgreSQL to read.
fn in_range(year: i32) -> Result<(), String> {
    if (1..=9999).contains(&year) {
        Ok(())
    } else {
        Err(format!("year {year} is outside 1..=9999, which batch writes of arrays support"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_keep_their_exact_text_form() {
        let doc = |items: Vec<Value>, s| array_document(Value::Array(items), s).unwrap();
        let floats = vec![Value::Double(0.1), Value::Double(f64::NAN), Value::Double(f64::NEG_INFINITY), Value::Null];
        assert_eq!(doc(floats, ScalarType::Double), Value::Json(serde_json::json!(["0.1", "NaN", "-Infinity", null])));
        assert_eq!(doc(vec![Value::Real(0.1)], ScalarType::Real), Value::Json(serde_json::json!(["0.1"])));
        assert_eq!(
            doc(vec![Value::Bytes(vec![0, 255])], ScalarType::Bytes),
            Value::Json(serde_json::json!(["\\x00ff"]))
        );
        assert!(array_document(Value::Array(vec![Value::Text("5".into())]), ScalarType::Integer).is_err());
        assert!(array_document(Value::Array(vec![Value::Text("a\0".into())]), ScalarType::Text).is_err());
        assert_eq!(array_document(Value::Null, ScalarType::Text).unwrap(), Value::Null);
    }
}

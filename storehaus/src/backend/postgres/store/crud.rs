//! Single-row operations by key, and the query-driven reads and writes.

use super::{PgExec, Statements};
use crate::backend::outcome::{RowState, name_field, unchanged_error, unversioned};
use crate::backend::postgres::events::{EventKind, events_if};
use crate::backend::postgres::query;
use crate::backend::postgres::record::{read_column, read_record, read_values};
use crate::backend::postgres::values::bind;
use crate::error::StoreError;
use crate::model::{Model, Write};
use crate::query::resolved::{Assignment, ResolvedQuery};
use crate::store::Record;
use crate::types::{ColumnType, ScalarType, SqlType, Value};
use sqlx::Row;
use sqlx::postgres::{PgArguments, PgRow};

const TEXT_ARRAY: ColumnType = ColumnType::Array(ScalarType::Text);

fn key_args<T: Model>(key: &T::Key) -> Result<PgArguments, StoreError> {
    let mut args = PgArguments::default();
    bind_key::<T>(&mut args, key)?;
    Ok(args)
}

fn bind_key<T: Model>(args: &mut PgArguments, key: &T::Key) -> Result<(), StoreError> {
    let column = T::TABLE.primary_key();
    let value = key.to_value().map_err(|e| StoreError::validation(column.name, e.to_string()))?;
    bind(args, value, column.ty)
}

fn bind_tags(args: &mut PgArguments, tags: &[String]) -> Result<(), StoreError> {
    bind(args, Value::Array(tags.iter().cloned().map(Value::Text).collect()), TEXT_ARRAY)
}

/// Binds the values `data` writes on `write`, in column order.
fn bind_model<T: Model>(args: &mut PgArguments, data: &T, write: Write) -> Result<(), StoreError> {
    let mut values = Vec::with_capacity(T::TABLE.columns.len());
    data.write_values(write, &mut values)?;
    for (value, column) in values.into_iter().zip(T::TABLE.written_columns(write)) {
        bind(args, value, column.ty).map_err(|e| name_field(e, column.name))?;
    }
    Ok(())
}

fn records<T: Model>(rows: &[PgRow]) -> Result<Vec<Record<T>>, StoreError> {
    rows.iter().map(read_record::<T>).collect()
}

pub(crate) async fn insert<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    data: &T,
    tags: &[String],
) -> Result<Record<T>, StoreError> {
    let mut args = PgArguments::default();
    bind_model(&mut args, data, Write::Create)?;
    bind_tags(&mut args, tags)?;
    read_record(&exec.fetch_one(&statements.insert, args).await?)
}

pub(crate) async fn get<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    key: &T::Key,
    with_deleted: bool,
) -> Result<Option<Record<T>>, StoreError> {
    let sql = if with_deleted { &statements.get_with_deleted } else { &statements.get };
    exec.fetch_optional(sql, key_args::<T>(key)?).await?.as_ref().map(read_record).transpose()
}

/// The live row `key` as values in record-column order (for keeping it outside the database).
pub(crate) async fn get_values<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    key: &T::Key,
) -> Result<Option<Vec<Value>>, StoreError> {
    let row = exec.fetch_optional(&statements.get, key_args::<T>(key)?).await?;
    row.as_ref().map(|row| read_values(row, T::TABLE)).transpose()
}

pub(crate) async fn list_all<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
) -> Result<Vec<Record<T>>, StoreError> {
    exec.fetch_records(&statements.list_all, PgArguments::default()).await
}

pub(crate) async fn count(exec: PgExec<'_>, statements: &Statements) -> Result<u64, StoreError> {
    count_row(&exec.fetch_one(&statements.count, PgArguments::default()).await?)
}

fn count_row(row: &PgRow) -> Result<u64, StoreError> {
    let n: i64 = row.try_get(0)?;
    Ok(n.unsigned_abs())
}

pub(crate) async fn update<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    key: &T::Key,
    data: &T,
    tags: Option<&[String]>,
    expected_version: Option<i64>,
) -> Result<Record<T>, StoreError> {
    let unversioned = unversioned::<T>;
    let sql = match (tags.is_some(), expected_version.is_some()) {
        (false, false) => &statements.update,
        (true, false) => &statements.update_with_tags,
        (false, true) => statements.update_versioned.as_ref().ok_or_else(unversioned)?,
        (true, true) => statements.update_with_tags_versioned.as_ref().ok_or_else(unversioned)?,
    };
    let mut args = PgArguments::default();
    bind_model(&mut args, data, Write::Update)?;
    if let Some(tags) = tags {
        bind_tags(&mut args, tags)?;
    }
    bind_key::<T>(&mut args, key)?;
    if let Some(version) = expected_version {
        bind(&mut args, Value::BigInt(version), ColumnType::Scalar(ScalarType::BigInt))?;
    }
    match exec.fetch_optional(sql, args).await? {
        Some(row) => read_record(&row),
        None => Err(why_unchanged::<T>(exec, statements, key, expected_version).await),
    }
}

/// Tells why a write by key changed nothing: no such row, a soft-deleted row, or a stale version.
pub(crate) async fn why_unchanged<T: Model>(
    exec: PgExec<'_>,
    statements: &Statements,
    key: &T::Key,
    expected_version: Option<i64>,
) -> StoreError {
    let probe = async {
        let row = exec.fetch_optional(&statements.probe, key_args::<T>(key)?).await?;
        let state = |row: PgRow| Ok::<_, StoreError>(RowState { deleted: row.try_get(0)?, version: row.try_get(1)? });
        row.map(state).transpose()
    };
    unchanged_error::<T>(key, probe.await, expected_version)
}

/// Runs a per-key statement whose only parameter is the key; returns the affected record.
pub(crate) async fn by_key<T: Model>(
    exec: PgExec<'_>,
    sql: &str,
    key: &T::Key,
) -> Result<Option<Record<T>>, StoreError> {
    exec.fetch_optional(sql, key_args::<T>(key)?).await?.as_ref().map(read_record).transpose()
}

/// Runs a tag statement (`$1` the tags, `$2` the key); `None` when no live row has the key.
pub(crate) async fn tags<T: Model>(
    exec: PgExec<'_>,
    sql: &str,
    key: &T::Key,
    tags: &[String],
) -> Result<Option<Record<T>>, StoreError> {
    let mut args = PgArguments::default();
    bind_tags(&mut args, tags)?;
    bind_key::<T>(&mut args, key)?;
    exec.fetch_optional(sql, args).await?.as_ref().map(read_record).transpose()
}

pub(crate) async fn find<T: Model>(exec: PgExec<'_>, q: &ResolvedQuery) -> Result<Vec<Record<T>>, StoreError> {
    let statement = query::select(q)?;
    exec.fetch_records(&statement.sql, statement.args).await
}

/// A page of records and the sort-key values of its last row (for the next page's cursor).
pub(crate) async fn find_page<T: Model>(
    exec: PgExec<'_>,
    q: &ResolvedQuery,
) -> Result<(Vec<Record<T>>, Option<Vec<Value>>), StoreError> {
    let statement = query::select(q)?;
    let rows = exec.fetch_all(&statement.sql, statement.args).await?;
    let last = match rows.last() {
        Some(row) => Some(q.order.iter().map(|o| read_column(row, q.table, o.column)).collect::<Result<_, _>>()?),
        None => None,
    };
    Ok((records(&rows)?, last))
}

pub(crate) async fn count_where(exec: PgExec<'_>, q: &ResolvedQuery) -> Result<u64, StoreError> {
    let statement = query::count(q)?;
    count_row(&exec.fetch_one(&statement.sql, statement.args).await?)
}

pub(crate) async fn update_where<T: Model>(
    exec: PgExec<'_>,
    emit: bool,
    q: &ResolvedQuery,
    set: &[Assignment],
) -> Result<Vec<Record<T>>, StoreError> {
    let statement = query::update(q, set)?;
    let sql = events_if(emit, statement.sql, q.table, EventKind::Update);
    exec.fetch_records(&sql, statement.args).await
}

/// Soft-deletes (where the table has it, unless `hard`) or deletes the matching rows.
pub(crate) async fn delete_where<T: Model>(
    exec: PgExec<'_>,
    emit: bool,
    q: &ResolvedQuery,
    hard: bool,
) -> Result<Vec<Record<T>>, StoreError> {
    let (statement, kind) = if q.table.soft_delete && !hard {
        (query::soft_delete(q)?, EventKind::SoftDelete)
    } else {
        (query::delete(q)?, EventKind::Delete)
    };
    let sql = events_if(emit, statement.sql, q.table, kind);
    exec.fetch_records(&sql, statement.args).await
}

pub(crate) async fn restore_where<T: Model>(
    exec: PgExec<'_>,
    emit: bool,
    q: &ResolvedQuery,
) -> Result<Vec<Record<T>>, StoreError> {
    let statement = query::restore(q)?;
    let sql = events_if(emit, statement.sql, q.table, EventKind::Restore);
    exec.fetch_records(&sql, statement.args).await
}

/// Sends the records of `q` to `sink` as they are read; stops early when the consumer is gone.
pub(crate) async fn stream<T: Model>(
    exec: PgExec<'_>,
    q: &ResolvedQuery,
    sink: &tokio::sync::mpsc::Sender<Result<Record<T>, StoreError>>,
) -> Result<(), StoreError> {
    use futures_util::TryStreamExt;

    let statement = query::select(q)?;
    match exec {
        PgExec::Pool(pool) => {
            let mut rows = sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), statement.args).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                if sink.send(read_record(&row)).await.is_err() {
                    break;
                }
            }
        }
        // A transaction's connection cannot be held across the consumer's awaits without blocking
        // the transaction's other calls, so its rows are read first.
        PgExec::Tx(_) => {
            for row in exec.fetch_all(&statement.sql, statement.args).await? {
                if sink.send(read_record(&row)).await.is_err() {
                    break;
                }
            }
        }
    }
    Ok(())
}

//! Single-row operations by key, on the statements kept for the model.

use super::Result;
use crate::backend::executor::{Executor, RowReader};
use crate::backend::sql::{BIGINT, EventKind, Statement, Statements, TEXT_ARRAY, name_field};
use crate::backend::{Backend, Events};
use crate::error::StoreError;
use crate::model::{Model, Record, Write, key_is_unset, key_values, read_record};
use crate::types::Value;
use chrono::{DateTime, Utc};

/// The parameters of one call of a kept statement, in the order every one takes them: written
/// values, tags, clock slots, key, expected version.
pub(super) struct Params<B: Backend>(B::Arguments);

impl<B: Backend> Params<B> {
    pub(super) fn new() -> Self {
        Params(B::Arguments::default())
    }

    fn bind(mut self, value: Value, column: &'static str, ty: crate::types::ColumnType) -> Result<Self> {
        B::bind(&mut self.0, value, ty).map_err(|e| name_field(e, column))?;
        Ok(self)
    }

    /// The values `data` writes on `write`, in column order.
    pub(super) fn values<T: Model>(self, data: &T, write: Write) -> Result<Self> {
        let mut values = Vec::with_capacity(T::TABLE.columns.len());
        data.write_values(write, &mut values)?;
        values
            .into_iter()
            .zip(T::TABLE.written_columns(write))
            .try_fold(self, |params, (value, column)| params.bind(value, column.name, column.ty))
    }

    pub(super) fn tags(self, tags: &[String]) -> Result<Self> {
        self.bind(Value::Array(tags.iter().cloned().map(Value::Text).collect()), "__tags__", TEXT_ARRAY)
    }

    /// The clock slots of `statement`, each bound to `now`.
    pub(super) fn clocks(self, statement: &Statement, now: DateTime<Utc>) -> Result<Self> {
        (0..statement.clocks).try_fold(self, |params, _| {
            params.bind(Value::TimestampTz(now), "__updated_at__", super::super::sql::TIMESTAMPTZ)
        })
    }

    /// The key's values, one per key column.
    pub(super) fn key<T: Model>(self, key: &T::Key) -> Result<Self> {
        key_values::<T>(key)?
            .into_iter()
            .zip(T::TABLE.key_columns())
            .try_fold(self, |params, (value, column)| params.bind(value, column.name, column.ty))
    }

    fn version(self, version: Option<i64>) -> Result<Self> {
        match version {
            Some(version) => self.bind(Value::BigInt(version), "__version__", BIGINT),
            None => Ok(self),
        }
    }

    pub(super) fn into_args(self) -> B::Arguments {
        self.0
    }
}

/// Runs a write that returns the record columns; where this process records the events, logs one
/// of `kind` per returned row when the store has signals (elsewhere the statement wrote them).
pub(super) async fn write_rows<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    emit: bool,
    kind: EventKind,
    statement: &Statement,
    params: Params<B>,
) -> Result<Vec<Record<T>>> {
    write_sql(exec, emit, kind, statement.sql.clone(), params.into_args()).await
}

/// [`write_rows`] of a statement written for this call.
pub(super) async fn write_sql<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    emit: bool,
    kind: EventKind,
    sql: crate::backend::sql::SqlText,
    args: B::Arguments,
) -> Result<Vec<Record<T>>> {
    exec.write(async |exec| {
        if B::EVENTS == Events::InProcess && emit {
            let rows = exec.fetch_all(sql, args).await?;
            exec.emit(B::row_events(T::TABLE, kind.event_type(), &rows)?).await;
            return rows.iter().map(|row| read_record(&mut RowReader::<B>::new(row))).collect();
        }
        exec.fetch_records(sql, args).await
    })
    .await
}

/// [`write_rows`] of a write by key, which affects one row or none.
async fn write_row<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    emit: bool,
    kind: EventKind,
    statement: &Statement,
    params: Params<B>,
) -> Result<Option<Record<T>>> {
    Ok(write_rows(exec, emit, kind, statement, params).await?.pop())
}

/// Reads the one row (or none) of a kept statement as a record.
async fn read_row<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    statement: &Statement,
    params: Params<B>,
) -> Result<Option<Record<T>>> {
    let row = exec.fetch_optional(statement.sql.clone(), params.into_args()).await?;
    row.map(|row| read_record(&mut RowReader::<B>::new(&row))).transpose()
}

/// Refuses a value of an `#[table(auto_increment)]` model whose key is set: inserts never write
/// the key, so the value given would be silently replaced by the one the database assigns.
pub(super) fn check_unset_key<T: Model>(data: &T) -> Result<()> {
    match T::TABLE.generated_key() {
        Some(column) if !key_is_unset(&data.key()) => Err(StoreError::validation(
            column.name,
            format!(
                "`{}` is assigned by the database; leave it 0 when creating a row (found {:?})",
                column.name,
                data.key()
            ),
        )),
        _ => Ok(()),
    }
}

pub(super) async fn insert<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    data: &T,
    tags: &[String],
) -> Result<Record<T>> {
    check_unset_key(data)?;
    let params = Params::new().values(data, Write::Create)?.tags(tags)?.clocks(&s.insert, exec.now())?;
    let record = write_row(exec, s.emit, EventKind::Create, &s.insert, params).await?;
    // An insert that succeeded returned its row; none is the driver's "no row" error, as a
    // `fetch_one` reports it.
    record.ok_or_else(|| B::error(sqlx::Error::RowNotFound))
}

/// [`insert`] that skips a row conflicting as `statements.insert_or_ignore[which]` says.
pub(super) async fn insert_or_ignore<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    data: &T,
    tags: &[String],
    which: usize,
) -> Result<Option<Record<T>>> {
    check_unset_key(data)?;
    let statement = &s.insert_or_ignore[which];
    let params = Params::new().values(data, Write::Create)?.tags(tags)?.clocks(statement, exec.now())?;
    write_row(exec, s.emit, EventKind::Create, statement, params).await
}

pub(super) async fn get<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
    with_deleted: bool,
) -> Result<Option<Record<T>>> {
    let statement = if with_deleted { &s.get_with_deleted } else { &s.get };
    read_row(exec, statement, Params::new().key::<T>(key)?).await
}

pub(super) async fn get_values<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
) -> Result<Option<Vec<Value>>> {
    let row = exec.fetch_optional(s.get.sql.clone(), Params::<B>::new().key::<T>(key)?.into_args()).await?;
    row.map(|row| read_values::<B>(&row, T::TABLE)).transpose()
}

/// The values of a row laid out as the record columns, each read as its column's type.
pub(super) fn read_values<B: Backend>(row: &B::Row, table: &crate::model::TableDef) -> Result<Vec<Value>> {
    crate::backend::sql::record_types(table)
        .enumerate()
        .map(|(index, (name, ty))| {
            B::read_value(row, index, ty).map_err(|message| StoreError::Decode { column: name.to_owned(), message })
        })
        .collect()
}

pub(super) async fn list_all<B: Backend, T: Model>(exec: Executor<'_, B>, s: &Statements) -> Result<Vec<Record<T>>> {
    exec.fetch_records(s.list_all.sql.clone(), B::Arguments::default()).await
}

pub(super) async fn count<B: Backend>(exec: Executor<'_, B>, s: &Statements) -> Result<u64> {
    count_row::<B>(&exec.fetch_one(s.count.sql.clone(), B::Arguments::default()).await?)
}

/// The count a `SELECT COUNT(*)` returned.
pub(super) fn count_row<B: Backend>(row: &B::Row) -> Result<u64> {
    let n: i64 = B::read(row, 0).map_err(|message| StoreError::Decode { column: "count".into(), message })?;
    Ok(n.unsigned_abs())
}

pub(super) async fn update<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
    data: &T,
    tags: Option<&[String]>,
    expected_version: Option<i64>,
) -> Result<Record<T>> {
    let statement = s.update(T::TABLE, tags.is_some(), expected_version.is_some())?;
    let mut params = Params::new().values(data, Write::Update)?;
    if let Some(tags) = tags {
        params = params.tags(tags)?;
    }
    let params = params.clocks(statement, exec.now())?.key::<T>(key)?.version(expected_version)?;
    match write_row(exec, s.emit, EventKind::Update, statement, params).await? {
        Some(record) => Ok(record),
        None => Err(why_unchanged::<B, T>(exec, s, key, expected_version).await),
    }
}

/// Why a write by `key` changed nothing: no such row, a soft-deleted row, or a stale version.
pub(super) async fn why_unchanged<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
    expected_version: Option<i64>,
) -> StoreError {
    let probe = probe::<B, T>(exec, s, key).await;
    let table = T::TABLE.name.to_owned();
    let key = format!("{key:?}");
    match probe {
        Err(e) => e,
        Ok(None) => StoreError::NotFound { table, key },
        Ok(Some((true, _))) => StoreError::Deleted { table, key },
        Ok(Some((false, Some(version)))) if expected_version.is_some_and(|v| v != version) => {
            StoreError::Conflict { table, key }
        }
        Ok(Some(_)) => StoreError::NotFound { table, key },
    }
}

/// The state of the row `key`, whatever it is: whether it is soft-deleted, and its version
/// (versioned tables only); `None` when there is no such row.
pub(super) async fn probe<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
) -> Result<Option<(bool, Option<i64>)>> {
    let row = exec.fetch_optional(s.probe.sql.clone(), Params::<B>::new().key::<T>(key)?.into_args()).await?;
    let decode = |column: &'static str| move |message| StoreError::Decode { column: column.to_owned(), message };
    let state = |row: B::Row| -> Result<(bool, Option<i64>)> {
        Ok((B::read(&row, 0).map_err(decode("is_deleted"))?, B::read(&row, 1).map_err(decode("version"))?))
    };
    row.map(state).transpose()
}

/// Soft-deletes (or deletes, without soft delete) the live row with `key`.
pub(super) async fn delete<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
) -> Result<Option<Record<T>>> {
    by_key(exec, s, &s.delete, EventKind::delete(T::TABLE), key).await
}

/// [`delete`] of the row with `key` at version `expected` only; `Err` saying why when nothing
/// was deleted: no such row, a soft-deleted row, a stale version, an unversioned table.
pub(super) async fn delete_versioned<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
    expected: i64,
) -> Result<Record<T>> {
    let statement = s.delete_versioned.as_ref().ok_or_else(|| StoreError::Validation {
        field: None,
        message: format!("`{}` is not versioned; declare #[table(versioned)] to delete by version", T::TABLE.name),
    })?;
    let params = Params::new().clocks(statement, exec.now())?.key::<T>(key)?.version(Some(expected))?;
    match write_row(exec, s.emit, EventKind::delete(T::TABLE), statement, params).await? {
        Some(record) => Ok(record),
        None => Err(why_unchanged::<B, T>(exec, s, key, Some(expected)).await),
    }
}

pub(super) async fn restore<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
) -> Result<Option<Record<T>>> {
    match &s.restore {
        Some(statement) => by_key(exec, s, statement, EventKind::Restore, key).await,
        None => Ok(None),
    }
}

pub(super) async fn force_delete<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    key: &T::Key,
) -> Result<Option<Record<T>>> {
    by_key(exec, s, &s.force_delete, EventKind::Delete, key).await
}

/// Runs a write whose parameters are the clock slots and the key.
async fn by_key<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    statement: &Statement,
    kind: EventKind,
    key: &T::Key,
) -> Result<Option<Record<T>>> {
    let params = Params::new().clocks(statement, exec.now())?.key::<T>(key)?;
    write_row(exec, s.emit, kind, statement, params).await
}

pub(super) async fn tags<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    edit: super::TagEdit,
    key: &T::Key,
    tags: &[String],
) -> Result<Option<Record<T>>> {
    let statement = &s.tags[edit as usize];
    let params = Params::new().tags(tags)?.clocks(statement, exec.now())?.key::<T>(key)?;
    write_row(exec, s.emit, EventKind::Update, statement, params).await
}

//! Single-row operations by key, on the statements kept for the model.

use super::Result;
use super::query::Args;
use crate::backend::executor::{Executor, RowReader};
use crate::backend::sql::{BIGINT, EventKind, Statement, Statements, TEXT_ARRAY, bind_condition, name_field};
use crate::backend::{Backend, Events};
use crate::error::StoreError;
use crate::model::system::AUTH;
use crate::model::{Model, Record, Write, key_is_unset, key_values, read_record};
use crate::query::Scope;
use crate::types::{ColumnType, Value};
use chrono::{DateTime, Utc};

/// The parameters of one call of a kept statement, in the order every one takes them: written
/// values, tags, the new row's `__auth__`, clock slots, key, the scope's values, expected version.
pub(super) struct Params<B: Backend>(B::Arguments);

impl<B: Backend> Params<B> {
    pub(super) fn new() -> Self {
        Params(B::Arguments::default())
    }

    fn bind_named(mut self, value: Value, column: &'static str, ty: ColumnType) -> Result<Self> {
        B::bind(&mut self.0, value, ty).map_err(|e| name_field(e, column))?;
        Ok(self)
    }

    /// The values `data` writes on `write`, in column order, with the scope's tenant.
    pub(super) fn values<T: Model>(self, data: &T, write: Write, scope: &Scope) -> Result<Self> {
        let values = written_values(data, write, scope)?;
        values
            .into_iter()
            .zip(T::TABLE.written_columns(write))
            .try_fold(self, |params, (value, column)| params.bind_named(value, column.name, column.ty))
    }

    pub(super) fn tags(self, tags: &[String]) -> Result<Self> {
        self.bind_named(Value::Array(tags.iter().cloned().map(Value::Text).collect()), "__tags__", TEXT_ARRAY)
    }

    /// The `__auth__` of a row the scope creates, on `auth` tables.
    pub(super) fn owner<T: Model>(self, scope: &Scope) -> Result<Self> {
        match T::TABLE.auth {
            true => self.bind_named(scope.owner(), AUTH, TEXT_ARRAY),
            false => Ok(self),
        }
    }

    /// The clock slots of `statement`, each bound to `now`.
    pub(super) fn clocks(self, statement: &Statement, now: DateTime<Utc>) -> Result<Self> {
        (0..statement.clocks).try_fold(self, |params, _| {
            params.bind_named(Value::TimestampTz(now), "__updated_at__", super::super::sql::TIMESTAMPTZ)
        })
    }

    /// The key's values, one per key column, then the scope's: a row is only ever reached by
    /// key within the scope.
    pub(super) fn key<T: Model>(self, key: &T::Key, scope: &Scope) -> Result<Self> {
        key_values::<T>(key)?
            .into_iter()
            .zip(T::TABLE.key_columns())
            .try_fold(self, |params, (value, column)| params.bind_named(value, column.name, column.ty))?
            .scope::<T>(scope)
    }

    /// The values of the scope's filter, as the statements of its shape hold them.
    pub(super) fn scope<T: Model>(mut self, scope: &Scope) -> Result<Self> {
        bind_scope::<B, T>(&mut self.0, scope)?;
        Ok(self)
    }

    fn version(self, version: Option<i64>) -> Result<Self> {
        match version {
            Some(version) => self.bind_named(Value::BigInt(version), "__version__", BIGINT),
            None => Ok(self),
        }
    }

    pub(super) fn into_args(self) -> B::Arguments {
        self.0
    }
}

/// Binds into `args` the values of the scope's filter, in the order the statements of its shape
/// hold their slots (the SQL writer binds them, as it does for any condition).
pub(super) fn bind_scope<B: Backend, T: Model>(args: &mut B::Arguments, scope: &Scope) -> Result<()> {
    match scope.condition(T::TABLE) {
        Some(condition) => bind_condition::<B>(T::TABLE, &mut Args::<B>(args), &condition),
        None => Ok(()),
    }
}

/// The values `data` writes on `write`, in written-column order, with the tenant of `scope`
/// filled in (create) and checked.
pub(super) fn written_values<T: Model>(data: &T, write: Write, scope: &Scope) -> Result<Vec<Value>> {
    let mut values = Vec::with_capacity(T::TABLE.columns.len());
    data.write_values(write, &mut values)?;
    scope.check_values(T::TABLE, write, &mut values)?;
    Ok(values)
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
            exec.emit(B::row_events(T::TABLE, kind.event_type(), &rows)?).await?;
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
    scope: &Scope,
    data: &T,
    tags: &[String],
) -> Result<Record<T>> {
    check_unset_key(data)?;
    let params = Params::new()
        .values(data, Write::Create, scope)?
        .tags(tags)?
        .owner::<T>(scope)?
        .clocks(&s.insert, exec.now())?;
    let record = write_row(exec, s.emit, EventKind::Create, &s.insert, params).await?;
    // An insert that succeeded returned its row; none is the driver's "no row" error, as a
    // `fetch_one` reports it.
    record.ok_or_else(|| B::error(sqlx::Error::RowNotFound))
}

/// [`insert`] that skips a row conflicting as `statements.insert_or_ignore[which]` says.
pub(super) async fn insert_or_ignore<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    data: &T,
    tags: &[String],
    which: usize,
) -> Result<Option<Record<T>>> {
    check_unset_key(data)?;
    let statement = &s.insert_or_ignore[which];
    let params = Params::new()
        .values(data, Write::Create, scope)?
        .tags(tags)?
        .owner::<T>(scope)?
        .clocks(statement, exec.now())?;
    write_row(exec, s.emit, EventKind::Create, statement, params).await
}

pub(super) async fn get<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    key: &T::Key,
    with_deleted: bool,
) -> Result<Option<Record<T>>> {
    let statement = if with_deleted { &s.get_with_deleted } else { &s.get };
    read_row(exec, statement, Params::new().key::<T>(key, scope)?).await
}

pub(super) async fn get_values<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    key: &T::Key,
) -> Result<Option<Vec<Value>>> {
    let row = exec.fetch_optional(s.get.sql.clone(), Params::<B>::new().key::<T>(key, scope)?.into_args()).await?;
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

pub(super) async fn list_all<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
) -> Result<Vec<Record<T>>> {
    exec.fetch_records(s.list_all.sql.clone(), Params::<B>::new().scope::<T>(scope)?.into_args()).await
}

pub(super) async fn count<B: Backend, T: Model>(exec: Executor<'_, B>, s: &Statements, scope: &Scope) -> Result<u64> {
    count_row::<B>(&exec.fetch_one(s.count.sql.clone(), Params::<B>::new().scope::<T>(scope)?.into_args()).await?)
}

/// The count a `SELECT COUNT(*)` returned.
pub(super) fn count_row<B: Backend>(row: &B::Row) -> Result<u64> {
    let n: i64 = B::read(row, 0).map_err(|message| StoreError::Decode { column: "count".into(), message })?;
    Ok(n.unsigned_abs())
}

pub(super) async fn update<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    key: &T::Key,
    data: &T,
    tags: Option<&[String]>,
    expected_version: Option<i64>,
) -> Result<Record<T>> {
    let statement = s.update(T::TABLE, tags.is_some(), expected_version.is_some())?;
    let params = update_params(exec, statement, scope, key, data, tags)?.version(expected_version)?;
    match write_row(exec, s.emit, EventKind::Update, statement, params).await? {
        Some(record) => Ok(record),
        None => Err(why_unchanged::<B, T>(exec, s, scope, key, expected_version).await),
    }
}

/// The parameters of an update of the row `key` to `data`, up to the expected version.
pub(super) fn update_params<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    statement: &Statement,
    scope: &Scope,
    key: &T::Key,
    data: &T,
    tags: Option<&[String]>,
) -> Result<Params<B>> {
    let mut params = Params::new().values(data, Write::Update, scope)?;
    if let Some(tags) = tags {
        params = params.tags(tags)?;
    }
    params.clocks(statement, exec.now())?.key::<T>(key, scope)
}

/// Why a write by `key` changed nothing: no such row (in scope: a row out of scope is told
/// apart from none by nothing), a soft-deleted row, or a stale version.
pub(super) async fn why_unchanged<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    key: &T::Key,
    expected_version: Option<i64>,
) -> StoreError {
    let probe = probe::<B, T>(exec, s, scope, key).await;
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

/// The state of the row `key` in scope, whatever it is: whether it is soft-deleted, and its
/// version (versioned tables only); `None` when there is no such row.
pub(super) async fn probe<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    key: &T::Key,
) -> Result<Option<(bool, Option<i64>)>> {
    let row = exec.fetch_optional(s.probe.sql.clone(), Params::<B>::new().key::<T>(key, scope)?.into_args()).await?;
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
    scope: &Scope,
    key: &T::Key,
) -> Result<Option<Record<T>>> {
    by_key(exec, s, scope, &s.delete, EventKind::delete(T::TABLE), key).await
}

/// [`delete`] of the row with `key` at version `expected` only; `Err` saying why when nothing
/// was deleted: no such row, a soft-deleted row, a stale version, an unversioned table.
pub(super) async fn delete_versioned<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    key: &T::Key,
    expected: i64,
) -> Result<Record<T>> {
    let statement = s.delete_versioned.as_ref().ok_or_else(|| StoreError::Validation {
        field: None,
        message: format!("`{}` is not versioned; declare #[table(versioned)] to delete by version", T::TABLE.name),
    })?;
    let params = Params::new().clocks(statement, exec.now())?.key::<T>(key, scope)?.version(Some(expected))?;
    match write_row(exec, s.emit, EventKind::delete(T::TABLE), statement, params).await? {
        Some(record) => Ok(record),
        None => Err(why_unchanged::<B, T>(exec, s, scope, key, Some(expected)).await),
    }
}

pub(super) async fn restore<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    key: &T::Key,
) -> Result<Option<Record<T>>> {
    match &s.restore {
        Some(statement) => by_key(exec, s, scope, statement, EventKind::Restore, key).await,
        None => Ok(None),
    }
}

pub(super) async fn force_delete<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    key: &T::Key,
) -> Result<Option<Record<T>>> {
    by_key(exec, s, scope, &s.force_delete, EventKind::Delete, key).await
}

/// Runs a write whose parameters are the clock slots and the key.
async fn by_key<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    statement: &Statement,
    kind: EventKind,
    key: &T::Key,
) -> Result<Option<Record<T>>> {
    let params = Params::new().clocks(statement, exec.now())?.key::<T>(key, scope)?;
    write_row(exec, s.emit, kind, statement, params).await
}

/// Runs an edit of a text-array column (`s.tags`, `s.access`) of the live row `key`.
pub(super) async fn tags<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    s: &Statements,
    scope: &Scope,
    statement: &Statement,
    key: &T::Key,
    items: &[String],
) -> Result<Option<Record<T>>> {
    let params = Params::new().tags(items)?.clocks(statement, exec.now())?.key::<T>(key, scope)?;
    write_row(exec, s.emit, EventKind::Update, statement, params).await
}

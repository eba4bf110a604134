//! Query-driven reads and writes: statements written for each call from a resolved query.

use super::Result;
use super::crud::{count_row, write_sql};
use crate::backend::Backend;
use crate::backend::executor::Executor;
use crate::backend::sql::{self, Bind, EventKind, Sql, SqlText};
use crate::error::StoreError;
use crate::model::{Model, Record, TableDef};
use crate::query::resolved::{Assignment, ResolvedQuery};
use crate::types::{ColumnType, Value};
use chrono::{DateTime, Utc};

/// A backend's arguments as the SQL writer binds into them.
struct Args<B: Backend>(B::Arguments);

impl<B: Backend> Bind for Args<B> {
    fn bind(&mut self, value: Value, ty: ColumnType) -> Result<()> {
        B::bind(&mut self.0, value, ty)
    }
}

/// The statement `write` writes on `table` with `now` as the clock of writes, with its arguments.
pub(crate) fn write_statement<B: Backend>(
    table: &'static TableDef,
    now: DateTime<Utc>,
    write: impl FnOnce(&mut Sql<'_, B>) -> Result<()>,
) -> Result<(SqlText, B::Arguments)> {
    let mut args = Args::<B>(B::Arguments::default());
    let mut sql = Sql::new(table, &mut args, now);
    write(&mut sql)?;
    let text = sql.finish()?;
    Ok((text, args.0))
}

/// [`write_statement`] for a call on `exec`.
fn statement<B: Backend>(
    exec: Executor<'_, B>,
    table: &'static TableDef,
    write: impl FnOnce(&mut Sql<'_, B>) -> Result<()>,
) -> Result<(SqlText, B::Arguments)> {
    write_statement(table, exec.now(), write)
}

pub(super) async fn find<B: Backend, T: Model>(exec: Executor<'_, B>, q: &ResolvedQuery) -> Result<Vec<Record<T>>> {
    let (text, args) = statement(exec, q.table, |s| sql::select(s, q))?;
    exec.fetch_records(text, args).await
}

pub(super) async fn find_page<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    q: &ResolvedQuery,
) -> Result<super::PageRows<T>> {
    let (text, args) = statement(exec, q.table, |s| sql::select(s, q))?;
    let rows = exec.fetch_all(text, args).await?;
    let last = match rows.last() {
        Some(row) => Some(
            q.order
                .iter()
                .map(|o| {
                    B::read_value(row, sql::record_column_index(q.table, o.column), o.column.ty())
                        .map_err(|message| StoreError::Decode { column: o.column.name().to_owned(), message })
                })
                .collect::<Result<_>>()?,
        ),
        None => None,
    };
    let records = rows
        .iter()
        .map(|row| crate::model::read_record(&mut crate::backend::executor::RowReader::<B>::new(row)))
        .collect::<Result<_>>()?;
    Ok((records, last))
}

pub(super) async fn stream<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    q: &ResolvedQuery,
    sink: &tokio::sync::mpsc::Sender<Result<Record<T>>>,
) -> Result<()> {
    let (text, args) = statement(exec, q.table, |s| sql::select(s, q))?;
    exec.stream(text, args, sink).await
}

pub(super) async fn count_where<B: Backend>(exec: Executor<'_, B>, q: &ResolvedQuery) -> Result<u64> {
    let (text, args) = statement(exec, q.table, |s| sql::count(s, q))?;
    count_row::<B>(&exec.fetch_one(text, args).await?)
}

pub(super) async fn update_where<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    emit: bool,
    q: &ResolvedQuery,
    set: &[Assignment],
) -> Result<Vec<Record<T>>> {
    let (text, args) = statement(exec, q.table, |s| sql::update(s, q, set))?;
    write_sql(exec, emit, EventKind::Update, events::<B>(emit, text, q.table, EventKind::Update), args).await
}

/// Soft-deletes (where the table has it, unless `hard`) or deletes the matching rows.
pub(super) async fn delete_where<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    emit: bool,
    q: &ResolvedQuery,
    hard: bool,
) -> Result<Vec<Record<T>>> {
    let (kind, (text, args)) = if q.table.soft_delete && !hard {
        (EventKind::SoftDelete, statement(exec, q.table, |s| sql::soft_delete(s, q))?)
    } else {
        (EventKind::Delete, statement(exec, q.table, |s| sql::delete(s, q))?)
    };
    write_sql(exec, emit, kind, events::<B>(emit, text, q.table, kind), args).await
}

pub(super) async fn restore_where<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    emit: bool,
    q: &ResolvedQuery,
) -> Result<Vec<Record<T>>> {
    let (text, args) = statement(exec, q.table, |s| sql::restore(s, q))?;
    write_sql(exec, emit, EventKind::Restore, events::<B>(emit, text, q.table, EventKind::Restore), args).await
}

/// `write` made to append its events in the same statement, where the dialect does that.
fn events<B: Backend>(emit: bool, write: SqlText, table: &TableDef, kind: EventKind) -> SqlText {
    match emit {
        true => SqlText::assembled(B::with_events(write.as_str(), table, kind)),
        false => write,
    }
}

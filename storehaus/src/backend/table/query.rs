//! Query-driven reads and writes: statements written from a resolved query, reads' texts kept
//! per query shape.

use super::Result;
use super::crud::{count_row, write_sql};
use crate::backend::Backend;
use crate::backend::executor::Executor;
use crate::backend::sql::shape::Read;
use crate::backend::sql::{self, Bind, EventKind, Sql, SqlText};
use crate::error::StoreError;
use crate::model::{Model, Record, TableDef};
use crate::query::resolved::{Assignment, Keyset, ResolvedQuery};
use crate::types::{ColumnType, Value};
use chrono::{DateTime, Utc};

/// A backend's arguments as the SQL writer binds into them.
pub(super) struct Args<'a, B: Backend>(pub(super) &'a mut B::Arguments);

impl<B: Backend> Bind for Args<'_, B> {
    fn bind(&mut self, value: Value, ty: ColumnType) -> Result<()> {
        B::bind(self.0, value, ty)
    }
}

/// The statement `write` writes on `table` with `now` as the clock of writes, with its arguments.
pub(crate) fn write_statement<B: Backend>(
    table: &'static TableDef,
    now: DateTime<Utc>,
    write: impl FnOnce(&mut Sql<'_, B>) -> Result<()>,
) -> Result<(SqlText, B::Arguments)> {
    let mut arguments = B::Arguments::default();
    let mut args = Args::<B>(&mut arguments);
    let mut sql = Sql::new(table, &mut args, now);
    write(&mut sql)?;
    let text = sql.finish()?;
    Ok((text, arguments))
}

/// [`write_statement`] for a call on `exec`.
fn statement<B: Backend>(
    exec: Executor<'_, B>,
    table: &'static TableDef,
    write: impl FnOnce(&mut Sql<'_, B>) -> Result<()>,
) -> Result<(SqlText, B::Arguments)> {
    write_statement(table, exec.now(), write)
}

/// The statement of `read` on `q` for a call on `exec`: the text kept for `q`'s shape, or written
/// now, with `q`'s values bound.
fn read<B: Backend>(exec: Executor<'_, B>, read: Read, q: &ResolvedQuery) -> Result<(SqlText, B::Arguments)> {
    sql::shape::statement::<B, B::Arguments>(read, q, exec.now(), B::bind)
}

pub(super) async fn find<B: Backend, T: Model>(exec: Executor<'_, B>, q: &ResolvedQuery) -> Result<Vec<Record<T>>> {
    let (text, args) = read(exec, Read::Rows, q)?;
    let mut records = exec.fetch_records(text, args).await?;
    if q.from_end {
        records.reverse();
    }
    Ok(records)
}

/// Reads one row past the page's limit, to tell whether more rows follow in the direction read.
pub(super) async fn find_page<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    q: &ResolvedQuery,
) -> Result<super::PageRows<T>> {
    let limit = q.limit.unwrap_or(u64::MAX);
    // A limit of i64::MAX has nothing past it, and one more would be refused as too large.
    let probe = ResolvedQuery { limit: q.limit.map(|n| if n < i64::MAX as u64 { n + 1 } else { n }), ..q.clone() };
    let (text, args) = read(exec, Read::Rows, &probe)?;
    let mut rows = exec.fetch_all(text, args).await?;
    let more = u64::try_from(rows.len()).is_ok_and(|n| n > limit);
    if more {
        rows.pop();
    }
    if q.from_end {
        rows.reverse();
    }
    let sort_values = |row: &B::Row| -> Result<Vec<_>> {
        q.order
            .iter()
            .map(|o| {
                B::read_value(row, sql::record_column_index(q.table, o.column), o.column.ty())
                    .map_err(|message| StoreError::Decode { column: o.column.name().to_owned(), message })
            })
            .collect()
    };
    let first = rows.first().map(sort_values).transpose()?;
    let last = rows.last().map(sort_values).transpose()?;
    let records = rows
        .iter()
        .map(|row| crate::model::read_record(&mut crate::backend::executor::RowReader::<B>::new(row)))
        .collect::<Result<_>>()?;
    // Rows on the side the page was not read towards exist only past a starting position or
    // offset; then one row beyond the page's edge settles it.
    let started_inside = q.keyset.is_some() || q.offset.is_some_and(|n| n > 0);
    let edge = if q.from_end { &last } else { &first };
    let behind = match (started_inside, edge) {
        (false, _) => false,
        (true, None) => true,
        (true, Some(values)) => exists_beyond(exec, q, values.clone(), !q.from_end).await?,
    };
    let (has_previous, has_next) = if q.from_end { (more, behind) } else { (behind, more) };
    Ok(super::PageRows { records, has_previous, has_next, first, last })
}

/// Whether a row of `q` sorts before (`before`) or after the position `values`.
async fn exists_beyond<B: Backend>(
    exec: Executor<'_, B>,
    q: &ResolvedQuery,
    values: Vec<Value>,
    before: bool,
) -> Result<bool> {
    let probe = ResolvedQuery {
        keyset: Some(Keyset { after: values, before }),
        limit: Some(1),
        offset: None,
        from_end: false,
        lock: None,
        ..q.clone()
    };
    let (text, args) = read(exec, Read::Rows, &probe)?;
    Ok(exec.fetch_optional(text, args).await?.is_some())
}

pub(super) async fn stream<B: Backend, T: Model>(
    exec: Executor<'_, B>,
    q: &ResolvedQuery,
    sink: &tokio::sync::mpsc::Sender<Result<Record<T>>>,
) -> Result<()> {
    let (text, args) = read(exec, Read::Rows, q)?;
    exec.stream(text, args, sink).await
}

pub(super) async fn count_where<B: Backend>(exec: Executor<'_, B>, q: &ResolvedQuery) -> Result<u64> {
    let (text, args) = read(exec, Read::Count, q)?;
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
pub(super) fn events<B: Backend>(emit: bool, write: SqlText, table: &TableDef, kind: EventKind) -> SqlText {
    match emit {
        true => SqlText::assembled(B::with_events(write.as_str(), table, kind)),
        false => write,
    }
}

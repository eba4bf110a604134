//! Resolved queries rendered as PostgreSQL statements.
//!
//! Every statement is built with sea-query: identifiers come from the model's metadata and are
//! quoted, values are `$n` placeholders bound from the collected values. Each statement returns
//! the columns of [`record_columns`] in that order, so rows read back as records.

mod condition;
mod sea_values;
#[cfg(test)]
mod tests;

use super::record::record_columns;
use crate::backend::quote_ident;
use crate::error::StoreError;
use crate::model::TableDef;
use crate::model::system::{DELETED_AT, UPDATED_AT, VERSION};
use crate::query::resolved::{Assignment, ResolvedQuery, RowLock, Visibility};
use condition::col;
use sea_query::{
    Alias, Asterisk, Condition as Cond, Expr, Func, LockBehavior, LockType, Order as SeaOrder, PostgresQueryBuilder,
    Query, ReturningClause, SimpleExpr, Values,
};
use sqlx::postgres::PgArguments;

/// An SQL statement with its bound arguments.
#[derive(Debug)]
pub(crate) struct Statement {
    pub sql: String,
    pub args: PgArguments,
}

impl Statement {
    fn bind((sql, values): (String, Values)) -> Result<Statement, StoreError> {
        Ok(Statement { sql, args: sea_values::bind_all(values)? })
    }
}

/// `SELECT <record columns> FROM t WHERE … ORDER BY … LIMIT … OFFSET … [FOR UPDATE [SKIP LOCKED]]`
pub(crate) fn select(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    Statement::bind(render_select(q)?)
}

/// `SELECT COUNT(*) FROM t WHERE …`: the rows `select` would return without paging.
pub(crate) fn count(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    Statement::bind(render_count(q)?)
}

/// `UPDATE t SET …, __updated_at__ = now() WHERE … RETURNING <record columns>`
pub(crate) fn update(q: &ResolvedQuery, set: &[Assignment]) -> Result<Statement, StoreError> {
    Statement::bind(render_update(q, set)?)
}

/// `UPDATE t SET __deleted_at__ = now(), __updated_at__ = now() WHERE <live> AND … RETURNING …`
pub(crate) fn soft_delete(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    Statement::bind(render_soft_delete(q, true)?)
}

/// `UPDATE t SET __deleted_at__ = NULL, __updated_at__ = now() WHERE <deleted> AND … RETURNING …`
pub(crate) fn restore(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    Statement::bind(render_soft_delete(q, false)?)
}

/// `DELETE FROM t WHERE … RETURNING <record columns>`
pub(crate) fn delete(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    Statement::bind(render_delete(q)?)
}

fn table(q: &ResolvedQuery) -> Alias {
    Alias::new(q.table.name)
}

fn returning(table: &TableDef) -> ReturningClause {
    Query::returning().expr(column_list(table))
}

/// The record columns, quoted and comma-separated, as one expression: the same text sea-query
/// writes for the column list, at a fraction of its cost (a dozen columns cost it more than the
/// rest of a statement).
fn column_list(table: &TableDef) -> SimpleExpr {
    let list: Vec<String> = record_columns(table).into_iter().map(quote_ident).collect();
    Expr::cust(list.join(", "))
}

fn now() -> SimpleExpr {
    Expr::cust("now()")
}

/// The WHERE clause: soft-delete visibility (on tables that have it), the condition, and for
/// reads the keyset position. `None` when nothing restricts the rows.
fn filter(q: &ResolvedQuery, visibility: Visibility, keyset: bool) -> Result<Option<Cond>, StoreError> {
    let mut all = Cond::all();
    if q.table.soft_delete
        && let Some(predicate) = condition::visibility(visibility)
    {
        all = all.add(predicate);
    }
    if let Some(c) = &q.condition {
        all = all.add(condition::condition(c)?);
    }
    if let (true, Some(keyset)) = (keyset, &q.keyset) {
        all = all.add(condition::keyset(&q.order, &keyset.after)?);
    }
    Ok((!all.is_empty()).then_some(all))
}

fn render_select(q: &ResolvedQuery) -> Result<(String, Values), StoreError> {
    let mut select = Query::select();
    select.expr(column_list(q.table)).from(table(q));
    if let Some(filter) = filter(q, q.visibility, true)? {
        select.cond_where(filter);
    }
    for o in &q.order {
        select.order_by(Alias::new(o.column.name()), if o.descending { SeaOrder::Desc } else { SeaOrder::Asc });
    }
    if let Some(limit) = q.limit {
        select.limit(limit);
    }
    if let Some(offset) = q.offset {
        select.offset(offset);
    }
    match q.lock {
        Some(RowLock::ForUpdate) => select.lock(LockType::Update),
        Some(RowLock::ForUpdateSkipLocked) => select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked),
        None => &mut select,
    };
    Ok(select.build(PostgresQueryBuilder))
}

fn render_count(q: &ResolvedQuery) -> Result<(String, Values), StoreError> {
    let mut select = Query::select();
    select.expr(Func::count(Expr::col(Asterisk))).from(table(q));
    if let Some(filter) = filter(q, q.visibility, false)? {
        select.cond_where(filter);
    }
    Ok(select.build(PostgresQueryBuilder))
}

fn render_update(q: &ResolvedQuery, set: &[Assignment]) -> Result<(String, Values), StoreError> {
    q.check_write()?;
    if set.is_empty() {
        return Err(StoreError::Validation { field: None, message: "an update needs at least one assignment".into() });
    }
    let mut values = Vec::with_capacity(set.len() + 2);
    for assignment in set {
        values.push(match assignment {
            Assignment::Set { column, value } => {
                (Alias::new(column.name), SimpleExpr::Value(sea_values::to_sea(value.clone(), column.ty)?))
            }
            Assignment::Add { column, value } => {
                let value = SimpleExpr::Value(sea_values::to_sea(value.clone(), column.ty)?);
                (Alias::new(column.name), col(column.name).add(value))
            }
        });
    }
    values.push((Alias::new(UPDATED_AT), now()));
    if q.table.versioned {
        values.push((Alias::new(VERSION), col(VERSION).add(SimpleExpr::Constant(1_i64.into()))));
    }
    let mut update = Query::update();
    update.table(table(q)).values(values);
    if let Some(filter) = filter(q, q.visibility, false)? {
        update.cond_where(filter);
    }
    Ok(update.returning(returning(q.table)).build(PostgresQueryBuilder))
}

/// Soft delete (`deleting`) or restore: flips `__deleted_at__` on the rows in the opposite state,
/// whatever visibility the query asked for.
fn render_soft_delete(q: &ResolvedQuery, deleting: bool) -> Result<(String, Values), StoreError> {
    q.check_write()?;
    if !q.table.soft_delete {
        return Err(StoreError::Validation {
            field: None,
            message: format!("`{}` is not declared with soft delete", q.table.name),
        });
    }
    let (deleted_at, visibility) = if deleting {
        (now(), Visibility::Live)
    } else {
        (SimpleExpr::Keyword(sea_query::Keyword::Null), Visibility::OnlyDeleted)
    };
    let mut update = Query::update();
    update.table(table(q)).values([(Alias::new(DELETED_AT), deleted_at), (Alias::new(UPDATED_AT), now())]);
    if let Some(filter) = filter(q, visibility, false)? {
        update.cond_where(filter);
    }
    Ok(update.returning(returning(q.table)).build(PostgresQueryBuilder))
}

fn render_delete(q: &ResolvedQuery) -> Result<(String, Values), StoreError> {
    q.check_write()?;
    let mut delete = Query::delete();
    delete.from_table(table(q));
    if let Some(filter) = filter(q, q.visibility, false)? {
        delete.cond_where(filter);
    }
    Ok(delete.returning(returning(q.table)).build(PostgresQueryBuilder))
}

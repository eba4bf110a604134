//! Resolved queries written as statements: reads, counts and the query-driven writes. Each
//! statement returns the record columns, so rows read back as records.

use super::condition::{self, visibility};
use super::{Dialect, Sql, TEXT_ARRAY, name_field};
use crate::error::StoreError;
use crate::model::system::{DELETED_AT, TAGS, UPDATED_AT, VERSION};
use crate::query::resolved::{Assignment, Condition, Order, ResolvedQuery, Visibility};
use crate::types::Value;

/// `SELECT <record columns> FROM t WHERE … ORDER BY … LIMIT … OFFSET … [lock]`; a query read
/// `from_end` sorts the other way (its reader reverses the rows).
pub(crate) fn select<D: Dialect>(sql: &mut Sql<'_, D>, q: &ResolvedQuery) -> Result<(), StoreError> {
    sql.push("SELECT ");
    sql.record_columns();
    sql.push(" FROM ");
    sql.ident(q.table.name);
    filter(sql, q, q.visibility, true)?;
    if q.from_end {
        order_by(sql, &reversed(&q.order))?;
    } else {
        order_by(sql, &q.order)?;
    }
    D::paging(sql, q.limit, q.offset)?;
    if let Some(lock) = q.lock {
        D::lock(sql, lock);
    }
    Ok(())
}

/// `SELECT COUNT(*) FROM t WHERE …`: the rows `select` would return without paging.
pub(crate) fn count<D: Dialect>(sql: &mut Sql<'_, D>, q: &ResolvedQuery) -> Result<(), StoreError> {
    sql.push("SELECT COUNT(*) FROM ");
    sql.ident(q.table.name);
    filter(sql, q, q.visibility, false)
}

/// `UPDATE t SET …, __updated_at__ = <clock> WHERE … RETURNING <record columns>`; versioned
/// tables also bump `__version__`.
pub(crate) fn update<D: Dialect>(
    sql: &mut Sql<'_, D>,
    q: &ResolvedQuery,
    set: &[Assignment],
) -> Result<(), StoreError> {
    q.check_write()?;
    if set.is_empty() {
        return Err(StoreError::Validation { field: None, message: "an update needs at least one assignment".into() });
    }
    update_rows(sql, q, set, None)
}

/// The update half of an upsert: [`update`] that may assign nothing but the system fields, and
/// sets the tags when given.
pub(crate) fn upsert_update<D: Dialect>(
    sql: &mut Sql<'_, D>,
    q: &ResolvedQuery,
    set: &[Assignment],
    tags: Option<&[String]>,
) -> Result<(), StoreError> {
    q.check_write()?;
    update_rows(sql, q, set, tags)
}

fn update_rows<D: Dialect>(
    sql: &mut Sql<'_, D>,
    q: &ResolvedQuery,
    set: &[Assignment],
    tags: Option<&[String]>,
) -> Result<(), StoreError> {
    sql.push("UPDATE ");
    sql.ident(q.table.name);
    sql.push(" SET ");
    for assignment in set {
        match assignment {
            Assignment::Set { column, value } => {
                sql.assign(column.name);
                sql.param(value.clone(), column.ty).map_err(|e| name_field(e, column.name))?;
            }
            Assignment::Add { column, value } => {
                sql.assign(column.name);
                D::add(sql, column, value.clone()).map_err(|e| name_field(e, column.name))?;
            }
        }
        sql.push(", ");
    }
    if let Some(tags) = tags {
        sql.assign(TAGS);
        sql.param(Value::Array(tags.iter().cloned().map(Value::Text).collect()), TEXT_ARRAY)?;
        sql.push(", ");
    }
    touch(sql);
    filter(sql, q, q.visibility, false)?;
    sql.returning();
    Ok(())
}

/// `"__updated_at__" = <clock>`, and on versioned tables `"__version__" = "__version__" + 1`: what
/// every update of a row writes besides its columns.
pub(super) fn touch<D: Dialect>(sql: &mut Sql<'_, D>) {
    sql.assign(UPDATED_AT);
    sql.clock();
    if sql.table().versioned {
        sql.push(", ");
        sql.assign(VERSION);
        sql.column(VERSION);
        sql.push(" + 1");
    }
}

/// `UPDATE t SET __deleted_at__ = <clock>, __updated_at__ = <clock> WHERE <live> AND … RETURNING …`
pub(crate) fn soft_delete<D: Dialect>(sql: &mut Sql<'_, D>, q: &ResolvedQuery) -> Result<(), StoreError> {
    flip_deleted(sql, q, true)
}

/// `UPDATE t SET __deleted_at__ = NULL, __updated_at__ = <clock> WHERE <deleted> AND … RETURNING …`
pub(crate) fn restore<D: Dialect>(sql: &mut Sql<'_, D>, q: &ResolvedQuery) -> Result<(), StoreError> {
    flip_deleted(sql, q, false)
}

/// `DELETE FROM t WHERE … RETURNING <record columns>`
pub(crate) fn delete<D: Dialect>(sql: &mut Sql<'_, D>, q: &ResolvedQuery) -> Result<(), StoreError> {
    q.check_write()?;
    sql.push("DELETE FROM ");
    sql.ident(q.table.name);
    filter(sql, q, q.visibility, false)?;
    sql.returning();
    Ok(())
}

/// Soft delete (`deleting`) or restore: flips `__deleted_at__` on the rows in the opposite state,
/// whatever visibility the query asked for.
fn flip_deleted<D: Dialect>(sql: &mut Sql<'_, D>, q: &ResolvedQuery, deleting: bool) -> Result<(), StoreError> {
    q.check_write()?;
    if !q.table.soft_delete {
        return Err(StoreError::Validation {
            field: None,
            message: format!("`{}` is not declared with soft delete", q.table.name),
        });
    }
    sql.push("UPDATE ");
    sql.ident(q.table.name);
    sql.push(" SET ");
    set_deleted(sql, deleting);
    let visibility = if deleting { Visibility::Live } else { Visibility::OnlyDeleted };
    filter(sql, q, visibility, false)?;
    sql.returning();
    Ok(())
}

/// `"__deleted_at__" = <clock> | NULL, "__updated_at__" = <clock>`
pub(super) fn set_deleted<D: Dialect>(sql: &mut Sql<'_, D>, deleting: bool) {
    sql.assign(DELETED_AT);
    if deleting {
        sql.clock();
    } else {
        sql.push("NULL");
    }
    sql.push(", ");
    sql.assign(UPDATED_AT);
    sql.clock();
}

/// The WHERE clause: soft-delete visibility (on tables that have it), the condition (a top-level
/// `And` as separate terms), and for reads the keyset position. Nothing when no term restricts
/// the rows.
fn filter<D: Dialect>(
    sql: &mut Sql<'_, D>,
    q: &ResolvedQuery,
    visibility: Visibility,
    keyset: bool,
) -> Result<(), StoreError> {
    terms(sql, q, visibility, keyset, false)
}

/// The terms of [`filter`]; with `after_lead`, each as ` AND term` after a WHERE clause the
/// caller began with a term of its own.
pub(super) fn terms<D: Dialect>(
    sql: &mut Sql<'_, D>,
    q: &ResolvedQuery,
    visibility: Visibility,
    keyset: bool,
    after_lead: bool,
) -> Result<(), StoreError> {
    let terms: &[Condition] = match &q.condition {
        Some(Condition::And(items)) => items,
        Some(other) => std::slice::from_ref(other),
        None => &[],
    };
    let visibility = if q.table.soft_delete { self::visibility(visibility) } else { None };
    let keyset = if keyset { q.keyset.as_ref() } else { None };
    if visibility.is_none() && terms.is_empty() && keyset.is_none() {
        return Ok(());
    }
    if !after_lead {
        sql.push(" WHERE ");
    }
    let mut first = !after_lead;
    let mut and = |sql: &mut Sql<'_, D>| {
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
        // Before a position in one order is after it in the reversed order; plain values may
        // cover only the leading keys.
        let order = if keyset.before { reversed(&q.order) } else { q.order.clone() };
        let keys = order.get(..keyset.after.len()).unwrap_or(&order);
        condition::keyset(sql, keys, &keyset.after)?;
    }
    Ok(())
}

/// Every key of `order` sorted the other way.
fn reversed(order: &[Order]) -> Vec<Order> {
    order.iter().map(|o| o.reversed()).collect()
}

/// ` ORDER BY a ASC, b DESC …`, NULLs placed as on PostgreSQL.
pub(super) fn order_by<D: Dialect>(sql: &mut Sql<'_, D>, order: &[Order]) -> Result<(), StoreError> {
    if order.is_empty() {
        return Ok(());
    }
    sql.push(" ORDER BY ");
    sql.list(order, |sql, o| {
        D::check_orderable(o.column, "sorting by")?;
        sql.column(o.column.name());
        sql.push(if o.descending { " DESC" } else { " ASC" });
        sql.push(D::nulls(o.descending, o.column.nullable()));
        Ok(())
    })
}

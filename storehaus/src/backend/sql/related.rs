//! The statements of a relation load: the related rows of many parents in one statement, with
//! every looked-up value in one array parameter, and their counts.

use super::query::{order_by, select, terms};
use super::{BIGINT, Dialect, Sql};
use crate::backend::{JoinedQuery, RelatedQuery};
use crate::error::StoreError;
use crate::model::system::DELETED_AT;
use crate::query::resolved::ColumnRef;
use crate::relation::JoinTo;
use crate::types::Value;

/// The looked-up value of each row through a join table, as a column of a windowed subquery.
const KEY: &str = "__key__";
/// A row's place among its parent's related rows, in a windowed subquery.
const RANK: &str = "__rank__";

/// `SELECT <record columns> FROM <related> WHERE <key> = ANY($1) AND … ORDER BY …`. The
/// looked-up value is a column of the record, except through a join table, whose column is
/// added after the record's.
///
/// With a limit or offset (per parent), the rows are numbered per looked-up value in a subquery
/// that keeps the related table's name, and the outer statement keeps the rows in range.
pub(crate) fn related<D: Dialect>(sql: &mut Sql<'_, D>, r: &RelatedQuery) -> Result<(), StoreError> {
    let q = &r.q;
    let through = matches!(r.join.to, JoinTo::Through { .. });
    sql.qualify_columns();
    let ranked = q.limit.is_some() || q.offset.is_some_and(|n| n > 0);
    sql.push("SELECT ");
    sql.record_columns();
    if !ranked {
        if through {
            sql.push(", ");
            key_column(sql, r);
        }
        sql.push(" FROM ");
        source(sql, r);
        filter(sql, r)?;
        return order_by(sql, &q.order);
    }
    if through {
        sql.push(", ");
        sql.column(KEY);
    }
    sql.push(" FROM (SELECT ");
    sql.qualifier();
    sql.push(".*, ");
    if through {
        key_column(sql, r);
        sql.push(" AS ");
        sql.ident(KEY);
        sql.push(", ");
    }
    sql.push("ROW_NUMBER() OVER (PARTITION BY ");
    key_column(sql, r);
    order_by(sql, &q.order)?;
    sql.push(") AS ");
    sql.ident(RANK);
    sql.push(" FROM ");
    source(sql, r);
    filter(sql, r)?;
    sql.push(") AS ");
    sql.qualifier();
    let offset = q.offset.unwrap_or(0);
    let bound = |n: u64| {
        i64::try_from(n).map_err(|_| StoreError::Validation {
            field: None,
            message: "a related query's limit and offset must fit in an i64".into(),
        })
    };
    sql.push(" WHERE ");
    sql.column(RANK);
    sql.push(" > ");
    sql.param(Value::BigInt(bound(offset)?), BIGINT)?;
    if let Some(limit) = q.limit {
        sql.push(" AND ");
        sql.column(RANK);
        sql.push(" <= ");
        sql.param(Value::BigInt(bound(offset.saturating_add(limit))?), BIGINT)?;
    }
    order_by(sql, &q.order)
}

/// `SELECT <key>, COUNT(*) FROM <related> WHERE <key> = ANY($1) AND … GROUP BY <key>`
pub(crate) fn related_count<D: Dialect>(sql: &mut Sql<'_, D>, r: &RelatedQuery) -> Result<(), StoreError> {
    sql.qualify_columns();
    sql.push("SELECT ");
    key_column(sql, r);
    sql.push(", COUNT(*) FROM ");
    source(sql, r);
    filter(sql, r)?;
    sql.push(" GROUP BY ");
    key_column(sql, r);
    Ok(())
}

/// The column holding the looked-up value: the related table's, or the join table's.
fn key_column<D: Dialect>(sql: &mut Sql<'_, D>, r: &RelatedQuery) {
    match r.join.to {
        JoinTo::Column(column) => sql.column(column),
        JoinTo::Through { table, key, .. } => sql.within(table, None, |sql| sql.column(key)),
    }
}

/// `"related"`, or `"related" JOIN "through" ON "through"."target" = "related"."key"`.
fn source<D: Dialect>(sql: &mut Sql<'_, D>, r: &RelatedQuery) {
    sql.ident(r.q.table.name);
    if let JoinTo::Through { table, target, .. } = r.join.to {
        let related_key = r.q.table.primary_key().name;
        sql.push(" JOIN ");
        sql.ident(table.name);
        sql.push(" ON ");
        sql.within(table, None, |sql| sql.column(target));
        sql.push(" = ");
        sql.column(related_key);
    }
}

/// ` WHERE <key> = ANY($1)`, the join table's rows live (where it has soft delete), then the
/// related query's own terms.
fn filter<D: Dialect>(sql: &mut Sql<'_, D>, r: &RelatedQuery) -> Result<(), StoreError> {
    sql.push(" WHERE ");
    match r.join.to {
        JoinTo::Column(column) => {
            let column = ColumnRef::find(r.q.table, column).ok_or_else(|| unknown(r.q.table.name, column))?;
            D::in_list(sql, column, &r.keys, false)?;
        }
        JoinTo::Through { table, key, .. } => {
            let column = ColumnRef::find(table, key).ok_or_else(|| unknown(table.name, key))?;
            sql.within(table, None, |sql| -> Result<(), StoreError> {
                D::in_list(sql, column, &r.keys, false)?;
                if table.soft_delete {
                    sql.push(" AND ");
                    sql.column(DELETED_AT);
                    sql.push(" IS NULL");
                }
                Ok(())
            })?;
        }
    }
    terms(sql, &r.q, r.q.visibility, false, true)
}

fn unknown(table: &str, column: &str) -> StoreError {
    StoreError::UnknownField { table: table.to_owned(), field: column.to_owned() }
}

/// `SELECT <record columns>, <related record columns> FROM t LEFT JOIN related ON <join> AND
/// <related terms> WHERE … ORDER BY <t's order>, <related order>`. A query that pages or locks
/// runs as a subquery named like its table, so its limit counts records, not joined rows.
pub(crate) fn joined<D: Dialect>(sql: &mut Sql<'_, D>, j: &JoinedQuery) -> Result<(), StoreError> {
    let (p, child) = (&j.parent, &j.child);
    let JoinTo::Column(related_column) = j.join.to else {
        return Err(StoreError::Validation { field: None, message: "a joined relation needs a direct join".into() });
    };
    sql.qualify_columns();
    sql.push("SELECT ");
    sql.record_columns();
    sql.push(", ");
    sql.within(child.table, None, |sql| sql.record_columns());
    sql.push(" FROM ");
    let paged = p.limit.is_some() || p.offset.is_some() || p.keyset.is_some() || p.from_end || p.lock.is_some();
    if paged {
        sql.push("(");
        select(sql, p)?;
        sql.push(") AS ");
    }
    sql.ident(p.table.name);
    sql.push(" LEFT JOIN ");
    sql.ident(child.table.name);
    sql.push(" ON ");
    sql.within(child.table, None, |sql| sql.column(related_column));
    sql.push(" = ");
    sql.column(j.join.from_column);
    sql.within(child.table, None, |sql| terms(sql, child, child.visibility, false, true))?;
    if !paged {
        terms(sql, p, p.visibility, false, false)?;
    }
    order_by(sql, &p.order)?;
    if !child.order.is_empty() {
        sql.push(", ");
        sql.within(child.table, None, |sql| {
            sql.list(&child.order, |sql, o| {
                D::check_orderable(o.column, "sorting by")?;
                sql.column(o.column.name());
                sql.push(if o.descending { " DESC" } else { " ASC" });
                sql.push(D::nulls(o.descending, o.column.nullable()));
                Ok(())
            })
        })?;
    }
    Ok(())
}

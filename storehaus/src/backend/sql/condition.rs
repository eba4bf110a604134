//! Resolved conditions written as SQL expressions.
//!
//! Every compound expression is parenthesized, so callers join expressions with `AND` / `OR` /
//! `NOT` without thinking about precedence. Columns come only from [`ColumnRef`]s (the model's
//! metadata); values, patterns and paths are always parameters.

use super::{Dialect, LikeMatch, Sql};
use crate::error::StoreError;
use crate::model::system::{DELETED_AT, TAGS_COLUMN};
use crate::query::resolved::{ColumnRef, CompareOp, Condition, Order, RelatedCondition, Visibility};
use crate::relation::JoinTo;
use crate::types::Value;

/// Writes the expression of `condition`.
pub(super) fn condition<D: Dialect>(sql: &mut Sql<'_, D>, condition: &Condition) -> Result<(), StoreError> {
    match condition {
        Condition::Compare { column, op, value } => {
            let (op, ordering) = match op {
                CompareOp::Eq => (" = ", false),
                CompareOp::Ne => (" <> ", false),
                CompareOp::Gt => (" > ", true),
                CompareOp::Gte => (" >= ", true),
                CompareOp::Lt => (" < ", true),
                CompareOp::Lte => (" <= ", true),
            };
            if ordering {
                D::check_orderable(*column, "ordering comparisons on")?;
            }
            sql.column(column.name());
            sql.push(op);
            sql.param(value.clone(), column.ty())?;
        }
        Condition::Like { column, pattern, case_insensitive, negated } => {
            D::like(sql, *column, pattern, LikeMatch { case_insensitive: *case_insensitive, negated: *negated })?;
        }
        Condition::In { column, values, negated } => D::in_list(sql, *column, values, *negated)?,
        Condition::IsNull { column, negated } => {
            sql.column(column.name());
            sql.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
        }
        Condition::TagsAny(tags) => D::array_match(sql, tags_column(), texts(tags), false)?,
        Condition::TagsAll(tags) => D::array_match(sql, tags_column(), texts(tags), true)?,
        Condition::Array { column, values, all } => D::array_match(sql, *column, Value::Array(values.clone()), *all)?,
        Condition::Json { column, condition } => D::json(sql, *column, condition)?,
        Condition::And(items) => junction(sql, items, " AND ", D::TRUE)?,
        Condition::Or(items) => junction(sql, items, " OR ", D::FALSE)?,
        Condition::Not(inner) => {
            sql.push("NOT (");
            self::condition(sql, inner)?;
            sql.push(")");
        }
        Condition::Related(related) => exists(sql, related)?,
    }
    Ok(())
}

/// `EXISTS (SELECT 1 FROM "related" AS "__r1" WHERE "__r1"."fk" = "t"."id" AND …)`, through a
/// join table where the relation has one. The related table is aliased, so a relation of a
/// model to itself compares the inner row with the outer one.
fn exists<D: Dialect>(sql: &mut Sql<'_, D>, related: &RelatedCondition) -> Result<(), StoreError> {
    let outer = sql.current_qualifier();
    let alias = sql.next_alias();
    let from_column = related.join.from_column;
    sql.push("EXISTS (SELECT 1 FROM ");
    sql.ident(related.table.name);
    sql.push(" AS ");
    sql.ident(&alias);
    match related.join.to {
        JoinTo::Column(column) => {
            sql.push(" WHERE ");
            sql.qualified_column(&alias, column);
        }
        JoinTo::Through { table, key, target } => {
            let through = sql.next_alias();
            sql.push(" JOIN ");
            sql.ident(table.name);
            sql.push(" AS ");
            sql.ident(&through);
            sql.push(" ON ");
            sql.qualified_column(&through, target);
            sql.push(" = ");
            sql.qualified_column(&alias, related.table.primary_key().name);
            sql.push(" WHERE ");
            if table.soft_delete {
                sql.qualified_column(&through, DELETED_AT);
                sql.push(" IS NULL AND ");
            }
            sql.qualified_column(&through, key);
        }
    }
    sql.push(" = ");
    sql.qualified_column(&outer, from_column);
    sql.within(related.table, Some(alias), |sql| -> Result<(), StoreError> {
        if related.table.soft_delete {
            sql.push(" AND ");
            sql.column(DELETED_AT);
            sql.push(" IS NULL");
        }
        for term in related.scope.iter().chain(&related.condition) {
            sql.push(" AND ");
            condition(sql, term)?;
        }
        Ok(())
    })?;
    sql.push(")");
    Ok(())
}

/// `(a AND b …)` / `(a OR b …)`, or `empty` for no items.
fn junction<D: Dialect>(
    sql: &mut Sql<'_, D>,
    items: &[Condition],
    separator: &str,
    empty: &str,
) -> Result<(), StoreError> {
    if items.is_empty() {
        sql.push(empty);
        return Ok(());
    }
    sql.push("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            sql.push(separator);
        }
        condition(sql, item)?;
    }
    sql.push(")");
    Ok(())
}

fn tags_column() -> ColumnRef {
    ColumnRef::System(TAGS_COLUMN)
}

/// Tags as a text array value.
fn texts(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::Text).collect())
}

/// The soft-delete test of `__deleted_at__` for `visibility`, if any.
pub(super) fn visibility(visibility: Visibility) -> Option<&'static str> {
    match visibility {
        Visibility::Live => Some(" IS NULL"),
        Visibility::OnlyDeleted => Some(" IS NOT NULL"),
        Visibility::WithDeleted => None,
    }
}

/// Rows strictly after the position `after` in the order `order` (one value per key).
///
/// When every key has one direction this is a row comparison, `(a, b) > ($1, $2)`, which an index
/// on `(a, b)` serves with one range scan; otherwise the lexicographic expansion
/// `(a > $1 OR (a = $2 AND b < $3) OR …)`, each key compared in its own direction.
pub(super) fn keyset<D: Dialect>(sql: &mut Sql<'_, D>, order: &[Order], after: &[Value]) -> Result<(), StoreError> {
    if order.len() != after.len() || order.is_empty() {
        return Err(StoreError::Validation { field: None, message: "cursor does not match this query's order".into() });
    }
    for o in order {
        D::check_orderable(o.column, "keyset pagination on")?;
    }
    let beyond = |o: &Order| if o.descending { " < " } else { " > " };
    if order.len() == 1 {
        sql.column(order[0].column.name());
        sql.push(beyond(&order[0]));
        return sql.param(after[0].clone(), order[0].column.ty());
    }
    if order.iter().all(|o| o.descending == order[0].descending) {
        sql.push("(");
        sql.list(order, |sql, o| {
            sql.column(o.column.name());
            Ok(())
        })?;
        sql.push(")");
        sql.push(beyond(&order[0]));
        sql.push("(");
        sql.list(order.iter().zip(after), |sql, (o, v)| sql.param(v.clone(), o.column.ty()))?;
        sql.push(")");
        return Ok(());
    }
    sql.push("(");
    for i in 0..order.len() {
        if i > 0 {
            sql.push(" OR (");
        }
        for (o, v) in order[..i].iter().zip(after) {
            sql.column(o.column.name());
            sql.push(" = ");
            sql.param(v.clone(), o.column.ty())?;
            sql.push(" AND ");
        }
        sql.column(order[i].column.name());
        sql.push(beyond(&order[i]));
        sql.param(after[i].clone(), order[i].column.ty())?;
        if i > 0 {
            sql.push(")");
        }
    }
    sql.push(")");
    Ok(())
}

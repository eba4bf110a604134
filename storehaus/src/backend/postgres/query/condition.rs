//! Resolved conditions as sea-query expressions.
//!
//! Identifiers come only from [`ColumnRef`]s (the model's metadata) and are quoted by sea-query;
//! every value becomes a placeholder. Operators sea-query has no builder for are written as
//! custom expressions whose `$n` slots are filled with those same quoted columns and placeholders.

use super::super::types::type_name;
use super::sea_values::to_sea;
use crate::error::StoreError;
use crate::model::system::{DELETED_AT, TAGS};
use crate::query::resolved::{ColumnRef, CompareOp, Condition, JsonCondition, Order, Visibility};
use crate::types::{ColumnType, ScalarType, Value};
use sea_query::extension::postgres::PgExpr;
use sea_query::{Alias, Condition as Cond, Expr, LikeExpr, SimpleExpr};

const TEXT: ColumnType = ColumnType::Scalar(ScalarType::Text);
const TEXT_ARRAY: ColumnType = ColumnType::Array(ScalarType::Text);
const JSON: ColumnType = ColumnType::Scalar(ScalarType::Json);

/// The quoted column.
pub(super) fn col(name: &'static str) -> Expr {
    Expr::col(Alias::new(name))
}

/// A placeholder bound to `value` as type `ty`.
fn param(value: Value, ty: ColumnType) -> Result<SimpleExpr, StoreError> {
    Ok(SimpleExpr::Value(to_sea(value, ty)?))
}

fn texts(items: &[String]) -> Vec<Value> {
    items.iter().cloned().map(Value::Text).collect()
}

/// `template` with `$1`, `$2`, … replaced by `exprs`.
fn custom<const N: usize>(template: &str, exprs: [SimpleExpr; N]) -> SimpleExpr {
    Expr::cust_with_exprs(template, exprs)
}

/// The expression of `condition`.
pub(super) fn condition(condition: &Condition) -> Result<SimpleExpr, StoreError> {
    Ok(match condition {
        Condition::Compare { column, op, value } => compare(*column, *op, value.clone())?,
        Condition::Like { column, pattern, case_insensitive, negated } => {
            let like = LikeExpr::new(pattern.as_str());
            let column = col(column.name());
            match (case_insensitive, negated) {
                (false, false) => column.like(like),
                (false, true) => column.not_like(like),
                (true, false) => column.ilike(like),
                (true, true) => column.not_ilike(like),
            }
        }
        // One array parameter whatever the list length: one SQL text, one prepared statement.
        Condition::In { column, values, negated } => {
            let list = param(Value::Array(values.clone()), ColumnType::Array(column.ty().scalar()))?;
            let template = if *negated { "NOT ($1 = ANY($2))" } else { "$1 = ANY($2)" };
            custom(template, [col(column.name()).into(), list])
        }
        Condition::IsNull { column, negated: false } => col(column.name()).is_null(),
        Condition::IsNull { column, negated: true } => col(column.name()).is_not_null(),
        // The explicit `text[]` keeps the operator the one the GIN index on `__tags__` serves.
        Condition::TagsAny(tags) => array_op(TAGS, "&&", TEXT_ARRAY, param(Value::Array(texts(tags)), TEXT_ARRAY)?),
        Condition::TagsAll(tags) => array_op(TAGS, "@>", TEXT_ARRAY, param(Value::Array(texts(tags)), TEXT_ARRAY)?),
        Condition::Array { column, values, all } => {
            let operator = if *all { "@>" } else { "&&" };
            array_op(column.name(), operator, column.ty(), param(Value::Array(values.clone()), column.ty())?)
        }
        Condition::Json { column, condition } => json(*column, condition)?,
        Condition::And(items) => {
            items.iter().try_fold(Cond::all(), |all, c| Ok::<_, StoreError>(all.add(self::condition(c)?)))?.into()
        }
        Condition::Or(items) => {
            items.iter().try_fold(Cond::any(), |any, c| Ok::<_, StoreError>(any.add(self::condition(c)?)))?.into()
        }
        Condition::Not(inner) => custom("NOT ($1)", [self::condition(inner)?]),
    })
}

fn compare(column: ColumnRef, op: CompareOp, value: Value) -> Result<SimpleExpr, StoreError> {
    let value = param(value, column.ty())?;
    let column = col(column.name());
    Ok(match op {
        CompareOp::Eq => column.eq(value),
        CompareOp::Ne => column.ne(value),
        CompareOp::Gt => column.gt(value),
        CompareOp::Gte => column.gte(value),
        CompareOp::Lt => column.lt(value),
        CompareOp::Lte => column.lte(value),
    })
}

/// `column <operator> $n::<type>`; `operator` and the type name are fixed strings of this module.
fn array_op(column: &'static str, operator: &str, ty: ColumnType, values: SimpleExpr) -> SimpleExpr {
    Expr::cust_with_exprs(format!("$1 {operator} $2::{}", type_name(ty)), [col(column).into(), values])
}

fn json(column: ColumnRef, condition: &JsonCondition) -> Result<SimpleExpr, StoreError> {
    let column = SimpleExpr::from(col(column.name()));
    let path = |path: &[String]| param(Value::Array(texts(path)), TEXT_ARRAY);
    Ok(match condition {
        JsonCondition::PathEq { path: p, value } => {
            custom("($1 #> $2) = $3", [column, path(p)?, param(Value::Json(value.clone()), JSON)?])
        }
        JsonCondition::PathTextEq { path: p, value } => {
            custom("($1 #>> $2) = $3", [column, path(p)?, param(Value::Text(value.clone()), TEXT)?])
        }
        JsonCondition::Contains(value) => custom("$1 @> $2", [column, param(Value::Json(value.clone()), JSON)?]),
        // `?` is only a placeholder for other databases; sea-query's PostgreSQL builder uses `$n`
        // and leaves it alone (a test pins this).
        JsonCondition::HasKey(key) => custom("$1 ? $2", [column, param(Value::Text(key.clone()), TEXT)?]),
    })
}

/// The soft-delete predicate for `visibility`, if any.
pub(super) fn visibility(visibility: Visibility) -> Option<SimpleExpr> {
    match visibility {
        Visibility::Live => Some(col(DELETED_AT).is_null()),
        Visibility::OnlyDeleted => Some(col(DELETED_AT).is_not_null()),
        Visibility::WithDeleted => None,
    }
}

/// Rows strictly after the position `after` in the order `order` (one value per key).
///
/// When every key has one direction this is a row comparison, `(a, b) > ($1, $2)`, which
/// PostgreSQL serves with one index range scan; otherwise the lexicographic expansion
/// `a > $1 OR (a = $1 AND b < $2) OR …`, each key compared in its own direction.
pub(super) fn keyset(order: &[Order], after: &[Value]) -> Result<SimpleExpr, StoreError> {
    if order.len() != after.len() || order.is_empty() {
        return Err(StoreError::Validation { field: None, message: "cursor does not match this query's order".into() });
    }
    let beyond = |o: &Order, value: SimpleExpr| {
        let column = col(o.column.name());
        if o.descending { column.lt(value) } else { column.gt(value) }
    };
    let param_of = |o: &Order, v: &Value| param(v.clone(), o.column.ty());
    if order.len() == 1 {
        return Ok(beyond(&order[0], param_of(&order[0], &after[0])?));
    }
    if order.iter().all(|o| o.descending == order[0].descending) {
        let columns = Expr::tuple(order.iter().map(|o| SimpleExpr::from(col(o.column.name()))));
        let values = order.iter().zip(after).map(|(o, v)| param_of(o, v)).collect::<Result<Vec<_>, _>>()?;
        let values = Expr::tuple(values);
        return Ok(if order[0].descending { columns.lt(values) } else { columns.gt(values) });
    }
    let mut any = Cond::any();
    for i in 0..order.len() {
        let mut all = Cond::all();
        for (o, v) in order[..i].iter().zip(after) {
            all = all.add(col(o.column.name()).eq(param_of(o, v)?));
        }
        any = any.add(all.add(beyond(&order[i], param_of(&order[i], &after[i])?)));
    }
    Ok(any.into())
}

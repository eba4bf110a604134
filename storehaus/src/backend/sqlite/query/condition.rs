//! Resolved conditions written as SQLite expressions.
//!
//! Every expression is self-contained (compound ones are parenthesized), so callers can join them
//! with `AND` / `OR` / `NOT` without thinking about precedence. Values, LIKE patterns and JSON
//! paths (see `json`) are always bound parameters; only column names from the model and fixed
//! keywords of this module become SQL text.

use super::Sql;
use crate::error::StoreError;
use crate::model::system::TAGS;
use crate::query::resolved::{ColumnRef, CompareOp, Condition, Order, Visibility};
use crate::types::{ColumnType, ScalarType, Value};

const TEXT: ColumnType = ColumnType::Scalar(ScalarType::Text);
const TEXT_ARRAY: ColumnType = ColumnType::Array(ScalarType::Text);

/// Writes the expression of `condition`.
pub(super) fn condition(sql: &mut Sql, condition: &Condition) -> Result<(), StoreError> {
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
                orderable(*column, "ordering comparisons on")?;
            }
            sql.column(column.name());
            sql.push(op);
            sql.param(value.clone(), column.ty())?;
        }
        Condition::Like { column, pattern, case_insensitive, negated } => {
            sql.push(if *negated { "NOT (" } else { "" });
            sql.column(column.name());
            if *case_insensitive {
                // PostgreSQL's ILIKE pattern syntax is SQLite's LIKE with `\` as escape. SQLite
                // folds ASCII letters only: `é` does not match `É`.
                check_escape(*column, pattern)?;
                sql.push(" LIKE ");
                sql.param(Value::Text(pattern.clone()), TEXT)?;
                sql.push(" ESCAPE '\\'");
            } else {
                // SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive matcher.
                sql.push(" GLOB ");
                sql.param(Value::Text(like_to_glob(*column, pattern)?), TEXT)?;
            }
            sql.push(if *negated { ")" } else { "" });
        }
        // `NOT (NULL = ANY('{}'))` is true on PostgreSQL, hence constants for empty lists.
        Condition::In { values, negated, .. } if values.is_empty() => sql.push(if *negated { "1" } else { "0" }),
        Condition::In { column, values, negated } => {
            sql.push(if *negated { "NOT (" } else { "" });
            sql.column(column.name());
            let scalar = column.ty().scalar();
            if in_as_json(scalar, values) {
                // One parameter whatever the list length: SQLite allows 32 766 per statement.
                sql.push(" IN (SELECT value FROM json_each(");
                sql.param(Value::Array(values.clone()), ColumnType::Array(scalar))?;
                sql.push(")");
            } else {
                sql.push(" IN (");
                sql.list(values, |sql, v| sql.param(v.clone(), ColumnType::Scalar(scalar)))?;
            }
            sql.push(if *negated { "))" } else { ")" });
        }
        Condition::IsNull { column, negated } => {
            sql.column(column.name());
            sql.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
        }
        Condition::TagsAny(tags) => array(sql, TAGS, false, Value::Array(texts(tags)), TEXT_ARRAY, false)?,
        Condition::TagsAll(tags) => array(sql, TAGS, false, Value::Array(texts(tags)), TEXT_ARRAY, true)?,
        Condition::Array { column, values, all } => {
            let (name, nullable, ty) = (column.name(), column.nullable(), column.ty());
            array(sql, name, nullable, Value::Array(values.clone()), ty, *all)?;
        }
        Condition::Json { column, condition } => super::json::json(sql, *column, condition)?,
        Condition::And(items) => junction(sql, items, " AND ", "1")?,
        Condition::Or(items) => junction(sql, items, " OR ", "0")?,
        Condition::Not(inner) => {
            sql.push("NOT (");
            self::condition(sql, inner)?;
            sql.push(")");
        }
    }
    Ok(())
}

/// `(a AND b …)` / `(a OR b …)`, or `empty` for no items.
fn junction(sql: &mut Sql, items: &[Condition], separator: &str, empty: &str) -> Result<(), StoreError> {
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

fn texts(items: &[String]) -> Vec<Value> {
    items.iter().cloned().map(Value::Text).collect()
}

/// Refuses sorting and ordering comparisons on columns whose stored form does not sort like the
/// values: decimals (normalized text), JSON and arrays (JSON text). Refusing beats wrong rows.
pub(super) fn orderable(column: ColumnRef, what: &str) -> Result<(), StoreError> {
    let kind = match column.ty() {
        ColumnType::Array(_) => "array",
        ColumnType::Scalar(ScalarType::Decimal) => "decimal",
        ColumnType::Scalar(ScalarType::Json) => "JSON",
        ColumnType::Scalar(_) => return Ok(()),
    };
    Err(super::super::unsupported(format!("{what} {kind} column `{}`", column.name())))
}

/// PostgreSQL refuses a pattern ending in its escape character; so does this backend.
fn check_escape(column: ColumnRef, pattern: &str) -> Result<(), StoreError> {
    let mut escaped = false;
    for c in pattern.chars() {
        escaped = !escaped && c == '\\';
    }
    if escaped {
        return Err(StoreError::validation(
            column.name(),
            "a LIKE pattern must not end with the escape character `\\`",
        ));
    }
    Ok(())
}

/// A PostgreSQL LIKE pattern (`%`, `_`, `\` escaping the next character) as a GLOB pattern:
/// `*`, `?`, and the glob specials `*`, `?`, `[` as one-character classes when literal.
pub(super) fn like_to_glob(column: ColumnRef, pattern: &str) -> Result<String, StoreError> {
    check_escape(column, pattern)?;
    let mut glob = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '%' => {
                glob.push('*');
                continue;
            }
            '_' => {
                glob.push('?');
                continue;
            }
            '\\' => chars.next().unwrap_or('\\'),
            other => other,
        };
        match literal {
            '*' => glob.push_str("[*]"),
            '?' => glob.push_str("[?]"),
            '[' => glob.push_str("[[]"),
            other => glob.push(other),
        }
    }
    Ok(glob)
}

/// `column` (a JSON array of stored encodings) shares an element with `values` (`all`: holds
/// every element of `values`), as PostgreSQL's `&&` / `@>`. Elements compare in their JSON
/// encodings, which both sides share; NULL elements never match, as on PostgreSQL.
fn array(
    sql: &mut Sql,
    column: &str,
    nullable: bool,
    values: Value,
    ty: ColumnType,
    all: bool,
) -> Result<(), StoreError> {
    null_if_null(sql, column, nullable, |sql| {
        if all {
            // A set difference, which SQLite sorts once: a `NOT IN` over the column's elements
            // would be evaluated again for every wanted element, quadratic in the array sizes.
            // Neither side holds a NULL to confuse EXCEPT's NULL-equals-NULL rule: the wanted
            // elements cannot be NULL, and the column's NULL elements are left out.
            sql.push("NOT EXISTS (SELECT w.value FROM json_each(");
            sql.param(values, ty)?;
            sql.push(") AS w EXCEPT SELECT h.value FROM json_each(");
            sql.column(column);
            sql.push(") AS h WHERE h.value IS NOT NULL)");
        } else {
            sql.push("EXISTS (SELECT 1 FROM json_each(");
            sql.column(column);
            sql.push(") AS h WHERE h.value IN (SELECT w.value FROM json_each(");
            sql.param(values, ty)?;
            sql.push(") AS w))");
        }
        Ok(())
    })
}

/// `expr`, but NULL when `column` is: PostgreSQL's array and JSON operators give NULL on a NULL
/// column (so `NOT (…)` stays false), while `EXISTS` would give false.
pub(super) fn null_if_null(
    sql: &mut Sql,
    column: &str,
    nullable: bool,
    expr: impl FnOnce(&mut Sql) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if !nullable {
        return expr(sql);
    }
    sql.push("(CASE WHEN ");
    sql.column(column);
    sql.push(" IS NULL THEN NULL ELSE ");
    expr(sql)?;
    sql.push(" END)");
    Ok(())
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
/// When every key has one direction this is a row-value comparison, `(a, b) > (?, ?)`, which an
/// index on `(a, b)` serves; otherwise the lexicographic expansion `(a > ? OR (a = ? AND b < ?)
/// OR …)`, each key compared in its own direction.
pub(super) fn keyset(sql: &mut Sql, order: &[Order], after: &[Value]) -> Result<(), StoreError> {
    if order.len() != after.len() || order.is_empty() {
        return Err(StoreError::Validation { field: None, message: "cursor does not match this query's order".into() });
    }
    for o in order {
        orderable(o.column, "keyset pagination on")?;
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

/// Whether an `IN` list can travel as one JSON array: its elements' JSON form must compare equal
/// to the stored values, which holds for every type but bytes (hex text in JSON, a BLOB stored)
/// and infinite floats (text in JSON, a REAL stored).
fn in_as_json(scalar: ScalarType, values: &[Value]) -> bool {
    match scalar {
        ScalarType::Bytes => false,
        ScalarType::Real | ScalarType::Double => !values.iter().any(|v| match v {
            Value::Real(x) => x.is_infinite(),
            Value::Double(x) => x.is_infinite(),
            _ => false,
        }),
        _ => true,
    }
}

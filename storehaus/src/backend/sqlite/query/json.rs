//! JSON conditions written as SQLite JSON functions, with paths built here and bound.
//!
//! Stored JSON is compact with sorted keys (serde_json's form), and SQLite's `->` writes a
//! sub-document back compactly, keeping keys and number text as stored; so equal JSON compares as
//! equal text.

use super::Sql;
use super::condition::null_if_null;
use crate::error::StoreError;
use crate::query::resolved::{ColumnRef, JsonCondition};
use crate::types::{ColumnType, ScalarType, Value};

const TEXT: ColumnType = ColumnType::Scalar(ScalarType::Text);
const JSON: ColumnType = ColumnType::Scalar(ScalarType::Json);

/// Writes the expression of a JSON `condition` on `column`.
pub(super) fn json(sql: &mut Sql, column: ColumnRef, condition: &JsonCondition) -> Result<(), StoreError> {
    let name = column.name();
    match condition {
        JsonCondition::PathEq { path, value } => {
            let path = json_path(column, path)?;
            sql.push("(");
            sql.column(name);
            sql.push(" -> ");
            sql.param(Value::Text(path), TEXT)?;
            sql.push(") = ");
            sql.param(Value::Json(value.clone()), JSON)?;
        }
        // PostgreSQL's `#>>`: strings unquoted, JSON null as NULL, anything else as JSON text
        // (`true`, numbers as written).
        JsonCondition::PathTextEq { path, value } => {
            let path = json_path(column, path)?;
            sql.push("(CASE json_type(");
            sql.column(name);
            sql.push(", ");
            sql.param(Value::Text(path.clone()), TEXT)?;
            sql.push(") WHEN 'text' THEN ");
            sql.column(name);
            sql.push(" ->> ");
            sql.param(Value::Text(path.clone()), TEXT)?;
            sql.push(" WHEN 'null' THEN NULL ELSE ");
            sql.column(name);
            sql.push(" -> ");
            sql.param(Value::Text(path), TEXT)?;
            sql.push(" END) = ");
            sql.param(Value::Text(value.clone()), TEXT)?;
        }
        JsonCondition::Contains(_) => {
            return Err(super::super::unsupported(format!("JSON containment (`@>`) on column `{name}`")));
        }
        // PostgreSQL's `?`: a key of the top-level object, or a string element of the top-level
        // array (or the top-level string). Matching `json_each` rows needs no path, so any key
        // works, quotes included.
        JsonCondition::HasKey(key) => null_if_null(sql, name, column.nullable(), |sql| {
            sql.push("EXISTS (SELECT 1 FROM json_each(");
            sql.column(name);
            sql.push(") AS e WHERE (CASE WHEN typeof(e.key) = 'text' THEN e.key ");
            sql.push("WHEN e.type = 'text' THEN e.value END) = ");
            sql.param(Value::Text(key.clone()), TEXT)?;
            sql.push(")");
            Ok(())
        })?,
    }
    Ok(())
}

/// The SQLite JSON path of PostgreSQL path `segments`: `$."a"[0]`. A segment of digits is an array
/// index; anything else is an object key. Backslashes are escaped (SQLite unescapes keys); a
/// double quote cannot appear inside a key of an SQLite path at all.
pub(super) fn json_path(column: ColumnRef, segments: &[String]) -> Result<String, StoreError> {
    let mut path = String::from("$");
    for segment in segments {
        let index = segment.bytes().all(|b| b.is_ascii_digit()).then(|| segment.parse::<i32>().ok()).flatten();
        if let Some(index) = index {
            path.push_str(&format!("[{index}]"));
        } else if segment.contains('"') {
            let message = format!("JSON path keys containing `\"` (column `{}`)", column.name());
            return Err(super::super::unsupported(message));
        } else {
            path.push_str(".\"");
            path.push_str(&segment.replace('\\', "\\\\"));
            path.push('"');
        }
    }
    Ok(path)
}

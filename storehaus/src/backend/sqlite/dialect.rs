//! SQLite's spelling: `?` placeholders, the transaction's clock bound as a parameter, qualified
//! column names, lists, arrays and JSON through `json_each`, patterns as `GLOB`, NULLs ordered as
//! on PostgreSQL, and range-checked increments.
//!
//! Column references are qualified with the table name (`"posts"."title"`): SQLite reads an
//! unknown double-quoted name as a string literal, so an unqualified column missing from the
//! database would silently compare or return the column's name instead of failing. Qualified
//! names always fail loudly.
//!
//! Values are bound in the encoding the column stores (`values.rs`), so comparisons in SQL see
//! exactly what is stored. Stored JSON is compact with sorted keys (serde_json's form), and
//! SQLite's `->` writes a sub-document back compactly, keeping keys and number text as stored; so
//! equal JSON compares as equal text.

use super::{Sqlite, unsupported};
use crate::backend::sql::{Dialect, JSON, LikeMatch, Sql, TEXT, TagEdit, row_count};
use crate::error::StoreError;
use crate::model::ColumnDef;
use crate::query::resolved::{ColumnRef, JsonCondition};
use crate::types::{ColumnType, ScalarType, Value};

impl Dialect for Sqlite {
    const NUMBERED_PARAMS: bool = false;
    const QUALIFIED_COLUMNS: bool = true;
    const SERVER_CLOCK: Option<&'static str> = None;
    const TRUE: &'static str = "1";
    const FALSE: &'static str = "0";
    const NULL_BIGINT: &'static str = "NULL";

    /// Refuses columns whose stored form does not sort like the values: decimals (normalized
    /// text), JSON and arrays (JSON text). Refusing beats wrong rows.
    fn check_orderable(column: ColumnRef, what: &str) -> Result<(), StoreError> {
        let kind = match column.ty() {
            ColumnType::Array(_) => "array",
            ColumnType::Scalar(ScalarType::Decimal) => "decimal",
            ColumnType::Scalar(ScalarType::Json) => "JSON",
            ColumnType::Scalar(_) => return Ok(()),
        };
        Err(unsupported(format!("{what} {kind} column `{}`", column.name())))
    }

    fn like(sql: &mut Sql<'_, Self>, column: ColumnRef, pattern: &str, how: LikeMatch) -> Result<(), StoreError> {
        sql.push(if how.negated { "NOT (" } else { "" });
        sql.column(column.name());
        if how.case_insensitive {
            // PostgreSQL's ILIKE pattern syntax is SQLite's LIKE with `\` as escape. SQLite folds
            // ASCII letters only: `é` does not match `É`.
            check_escape(column, pattern)?;
            sql.push(" LIKE ");
            sql.param(Value::Text(pattern.to_owned()), TEXT)?;
            sql.push(" ESCAPE '\\'");
        } else {
            // SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive matcher.
            sql.push(" GLOB ");
            sql.param(Value::Text(like_to_glob(column, pattern)?), TEXT)?;
        }
        sql.push(if how.negated { ")" } else { "" });
        Ok(())
    }

    fn in_list(sql: &mut Sql<'_, Self>, column: ColumnRef, values: &[Value], negated: bool) -> Result<(), StoreError> {
        // `NOT (NULL = ANY('{}'))` is true on PostgreSQL, hence constants for empty lists.
        if values.is_empty() {
            sql.push(if negated { Self::TRUE } else { Self::FALSE });
            return Ok(());
        }
        sql.push(if negated { "NOT (" } else { "" });
        sql.column(column.name());
        let scalar = column.ty().scalar();
        if in_as_json(scalar, values) {
            // One parameter whatever the list length: SQLite allows 32 766 per statement.
            sql.push(" IN (SELECT value FROM json_each(");
            sql.param(Value::Array(values.to_vec()), ColumnType::Array(scalar))?;
            sql.push(")");
        } else {
            sql.push(" IN (");
            sql.list(values, |sql, v| sql.param(v.clone(), ColumnType::Scalar(scalar)))?;
        }
        sql.push(if negated { "))" } else { ")" });
        Ok(())
    }

    /// `column` (a JSON array of stored encodings) shares an element with `values` (`all`: holds
    /// every element of `values`), as PostgreSQL's `&&` / `@>`. Elements compare in their JSON
    /// encodings, which both sides share; NULL elements never match, as on PostgreSQL.
    fn array_match(sql: &mut Sql<'_, Self>, column: ColumnRef, values: Value, all: bool) -> Result<(), StoreError> {
        let name = column.name();
        null_if_null(sql, column, |sql| {
            if all {
                // A set difference, which SQLite sorts once: a `NOT IN` over the column's elements
                // would be evaluated again for every wanted element, quadratic in the array sizes.
                // Neither side holds a NULL to confuse EXCEPT's NULL-equals-NULL rule: the wanted
                // elements cannot be NULL, and the column's NULL elements are left out.
                sql.push("NOT EXISTS (SELECT w.value FROM json_each(");
                sql.param(values, column.ty())?;
                sql.push(") AS w EXCEPT SELECT h.value FROM json_each(");
                sql.column(name);
                sql.push(") AS h WHERE h.value IS NOT NULL)");
            } else {
                sql.push("EXISTS (SELECT 1 FROM json_each(");
                sql.column(name);
                sql.push(") AS h WHERE h.value IN (SELECT w.value FROM json_each(");
                sql.param(values, column.ty())?;
                sql.push(") AS w))");
            }
            Ok(())
        })
    }

    fn json(sql: &mut Sql<'_, Self>, column: ColumnRef, condition: &JsonCondition) -> Result<(), StoreError> {
        let name = column.name();
        match condition {
            JsonCondition::PathEq { path, value } => {
                let path = json_path(column, path)?;
                sql.push("(");
                sql.column(name);
                sql.push(" -> ");
                sql.param(Value::Text(path), TEXT)?;
                sql.push(") = ");
                sql.param(Value::Json(value.clone()), JSON)
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
                sql.param(Value::Text(value.clone()), TEXT)
            }
            JsonCondition::Contains(_) => Err(unsupported(format!("JSON containment (`@>`) on column `{name}`"))),
            // PostgreSQL's `?`: a key of the top-level object, or a string element of the top-level
            // array (or the top-level string). Matching `json_each` rows needs no path, so any key
            // works, quotes included.
            JsonCondition::HasKey(key) => null_if_null(sql, column, |sql| {
                sql.push("EXISTS (SELECT 1 FROM json_each(");
                sql.column(name);
                sql.push(") AS e WHERE (CASE WHEN typeof(e.key) = 'text' THEN e.key ");
                sql.push("WHEN e.type = 'text' THEN e.value END) = ");
                sql.param(Value::Text(key.clone()), TEXT)?;
                sql.push(")");
                Ok(())
            }),
            // `json_type` names numbers `integer` or `real`; anything else (a string, `null`, no
            // value) is NULL, so unmatched. SQLite compares an integer and a real as numbers.
            JsonCondition::PathCompare { path, op, value } => {
                let path = json_path(column, path)?;
                sql.push("(CASE WHEN json_type(");
                sql.column(name);
                sql.push(", ");
                sql.param(Value::Text(path.clone()), TEXT)?;
                sql.push(") IN ('integer', 'real') THEN json_extract(");
                sql.column(name);
                sql.push(", ");
                sql.param(Value::Text(path), TEXT)?;
                sql.push(") END)");
                sql.push(op.sql());
                match value.as_i64() {
                    Some(int) => sql.param(Value::BigInt(int), ColumnType::Scalar(ScalarType::BigInt)),
                    // Past `i64` (a large `u64`) or fractional: SQLite's JSON holds such numbers
                    // as doubles too.
                    None => sql.param(
                        Value::Double(value.as_f64().unwrap_or(f64::NAN)),
                        ColumnType::Scalar(ScalarType::Double),
                    ),
                }
            }
            // `json_type` is SQL NULL where the path leads nowhere (or the column is NULL) and
            // `'null'` where it leads to JSON `null`.
            JsonCondition::PathExists { path, negated } => {
                let path = json_path(column, path)?;
                sql.push("(json_type(");
                sql.column(name);
                sql.push(", ");
                sql.param(Value::Text(path), TEXT)?;
                sql.push(if *negated { ") IS NULL)" } else { ") IS NOT NULL)" });
                Ok(())
            }
        }
    }

    /// SQLite's default is the opposite of PostgreSQL's, so nullable keys say so; keys that are
    /// never NULL keep the default, which lets an index serve the sort.
    fn nulls(descending: bool, nullable: bool) -> &'static str {
        match (descending, nullable) {
            (_, false) => "",
            (false, true) => " NULLS LAST",
            (true, true) => " NULLS FIRST",
        }
    }

    /// SQLite takes an offset only after a limit, and `-1` means none. The numbers are integers,
    /// not text, so they are written inline.
    fn paging(sql: &mut Sql<'_, Self>, limit: Option<u64>, offset: Option<u64>) -> Result<(), StoreError> {
        if limit.is_none() && offset.is_none() {
            return Ok(());
        }
        let limit = limit.map(|n| row_count(n, "limit")).transpose()?;
        let offset = offset.map(|n| row_count(n, "offset")).transpose()?;
        sql.push(&format!(" LIMIT {}", limit.unwrap_or(-1)));
        if let Some(offset) = offset {
            sql.push(&format!(" OFFSET {offset}"));
        }
        Ok(())
    }

    // No row locks: every transaction of this backend starts with `BEGIN IMMEDIATE`, holding the
    // database's write lock, so a locked read is already exclusive. `SKIP LOCKED` therefore never
    // skips on SQLite: workers take turns instead.

    fn add(sql: &mut Sql<'_, Self>, column: &'static ColumnDef, value: Value) -> Result<(), StoreError> {
        // Decimals are stored as text; SQLite's `+` would turn them into lossy floats.
        if column.ty.scalar() == ScalarType::Decimal {
            return Err(unsupported(format!("increment/decrement of decimal column `{}`", column.name)));
        }
        let sum = |sql: &mut Sql<'_, Self>| -> Result<(), StoreError> {
            sql.column(column.name);
            sql.push(" + ");
            sql.param(value.clone(), column.ty)
        };
        let Some((min, max)) = integer_range(column.ty.scalar()) else { return sum(sql) };
        // SQLite's integers are 64-bit and overflow into floats, so a sum out of the column's range
        // would be stored and then fail to read back. `abs` of the smallest integer raises
        // SQLite's "integer overflow" error instead, which aborts the statement, as PostgreSQL's
        // range check does; NULL stays NULL, as there.
        sql.push("CASE WHEN ");
        sum(sql)?;
        sql.push(&format!(" BETWEEN {min} AND {max} AND typeof("));
        sum(sql)?;
        sql.push(") = 'integer' THEN ");
        sum(sql)?;
        sql.push(" WHEN ");
        sql.column(column.name);
        sql.push(" IS NULL THEN NULL ELSE abs(-9223372036854775807 - 1) END");
        Ok(())
    }

    /// Edits keep the existing order and append only tags not already present.
    fn tags_value(sql: &mut Sql<'_, Self>, column: &'static str, edit: TagEdit) {
        match edit {
            TagEdit::Add => {
                sql.push("(SELECT json_group_array(v ORDER BY s, i) FROM (SELECT value AS v, 0 AS s, key AS i FROM json_each(");
                sql.column(column);
                sql.push(") UNION ALL SELECT value, 1, key FROM json_each(");
                sql.slot();
                sql.push(") WHERE value NOT IN (SELECT value FROM json_each(");
                sql.column(column);
                sql.push("))))");
            }
            TagEdit::Remove => {
                sql.push("(SELECT json_group_array(value ORDER BY key) FROM json_each(");
                sql.column(column);
                sql.push(") WHERE value NOT IN (SELECT value FROM json_each(");
                sql.slot();
                sql.push(")))");
            }
            TagEdit::Set => sql.slot(),
        }
    }
}

/// The values an integer column holds.
fn integer_range(scalar: ScalarType) -> Option<(i64, i64)> {
    match scalar {
        ScalarType::SmallInt => Some((i16::MIN.into(), i16::MAX.into())),
        ScalarType::Integer => Some((i32::MIN.into(), i32::MAX.into())),
        ScalarType::BigInt => Some((i64::MIN, i64::MAX)),
        _ => None,
    }
}

/// `expr`, but NULL when `column` is: PostgreSQL's array and JSON operators give NULL on a NULL
/// column (so `NOT (…)` stays false), while `EXISTS` would give false.
fn null_if_null(
    sql: &mut Sql<'_, Sqlite>,
    column: ColumnRef,
    expr: impl FnOnce(&mut Sql<'_, Sqlite>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if !column.nullable() {
        return expr(sql);
    }
    sql.push("(CASE WHEN ");
    sql.column(column.name());
    sql.push(" IS NULL THEN NULL ELSE ");
    expr(sql)?;
    sql.push(" END)");
    Ok(())
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
            return Err(unsupported(message));
        } else {
            path.push_str(".\"");
            path.push_str(&segment.replace('\\', "\\\\"));
            path.push('"');
        }
    }
    Ok(path)
}

//! Change events of SQLite writes, built in Rust from the rows a write returned.
//!
//! PostgreSQL writes its events in the same statement as the change; SQLite has no
//! data-modifying CTEs and no second process to tell, so the rows a write returns become
//! [`DatabaseEvent`]s here and reach the in-process log when the write commits.

use super::values::{self, Stored, encode};
use crate::backend::sql::record_types;
use crate::error::StoreError;
use crate::model::TableDef;
use crate::model::system::TAGS;
use crate::signals::{DatabaseEvent, EventType};
use crate::types::{ColumnType, Value};
use sqlx::sqlite::SqliteRow;

/// One event of `kind` per row; rows are laid out as the record columns of `table`. Payloads
/// leave out the `#[field(no_signal)]` columns and, as on PostgreSQL, repeat the `#[tenant]`
/// column under `__tenant__` (`__auth__` travels as a column).
pub(crate) fn row_events(
    table: &TableDef,
    kind: EventType,
    rows: &[SqliteRow],
) -> Result<Vec<DatabaseEvent>, StoreError> {
    rows.iter().map(|row| row_event(table, kind, row)).collect()
}

fn row_event(table: &TableDef, kind: EventType, row: &SqliteRow) -> Result<DatabaseEvent, StoreError> {
    let values = record_types(table)
        .enumerate()
        .map(|(index, (name, ty))| {
            values::read_value(row, index, ty)
                .map_err(|message| StoreError::Decode { column: name.to_owned(), message })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut payload = serde_json::Map::new();
    let mut key_parts = Vec::new();
    let mut tags = Vec::new();
    // Declared columns come first in the record, each with its flag; system columns always travel.
    let signals = table.columns.iter().map(|c| c.signal).chain(std::iter::repeat(true));
    for (((name, ty), value), signal) in record_types(table).zip(values).zip(signals) {
        if table.key_columns().any(|c| c.name == name) {
            key_parts.push(key_text(value.clone(), ty));
        }
        if name == TAGS
            && let Value::Array(items) = &value
        {
            tags = items.iter().filter_map(|t| if let Value::Text(t) = t { Some(t.clone()) } else { None }).collect();
        }
        if signal {
            payload.insert(name.to_owned(), to_json(value, ty));
        }
    }
    // A tenant column kept out of events stays out; tenant subscriptions then match nothing.
    if let Some(tenant) = table.tenant_column().filter(|c| c.signal) {
        let value = payload.get(tenant.name).cloned().unwrap_or_default();
        payload.insert(DatabaseEvent::TENANT_KEY.to_owned(), value);
    }
    let record_id = match &key_parts[..] {
        [single] => single.clone(),
        // As PostgreSQL's `json_build_array(..)::text` spells it.
        parts => {
            let parts: Vec<String> = parts.iter().map(|p| serde_json::Value::from(p.as_str()).to_string()).collect();
            format!("[{}]", parts.join(", "))
        }
    };
    Ok(DatabaseEvent { tags, ..DatabaseEvent::new(kind, table.name, record_id, serde_json::Value::Object(payload)) })
}

/// The key as text, as PostgreSQL's `key::text` spells it.
fn key_text(value: Value, ty: ColumnType) -> String {
    match encode(value, ty) {
        Ok(Stored::Integer(v)) => v.to_string(),
        Ok(Stored::Real(v)) => v.to_string(),
        Ok(Stored::Text(v)) => v,
        Ok(Stored::Blob(v)) => hex(&v),
        Ok(Stored::Null) | Err(_) => String::new(),
    }
}

/// Bytes as PostgreSQL's `bytea` text form, `\x` and hex digits.
fn hex(bytes: &[u8]) -> String {
    format!("\\x{}", values::hex(bytes))
}

/// A column value in the event payload, spelled as PostgreSQL's `to_jsonb` spells it where the
/// two can agree: numbers and booleans as JSON, JSON as itself, bytes as `\x…` hex, the rest as
/// their stored text.
fn to_json(value: Value, ty: ColumnType) -> serde_json::Value {
    use serde_json::Value as J;
    match (value, ty) {
        (Value::Null, _) => J::Null,
        (Value::Bool(b), _) => J::Bool(b),
        (Value::Json(j), _) => j,
        (Value::Bytes(b), _) => J::String(hex(&b)),
        (Value::Array(items), ColumnType::Array(scalar)) => {
            J::Array(items.into_iter().map(|item| to_json(item, ColumnType::Scalar(scalar))).collect())
        }
        (Value::Decimal(d), _) => serde_json::from_str(&d.normalize().to_string()).unwrap_or(J::Null),
        (value, ty) => match encode(value, ty) {
            Ok(Stored::Integer(v)) => J::from(v),
            Ok(Stored::Real(v)) => serde_json::Number::from_f64(v).map_or(J::Null, J::Number),
            Ok(Stored::Text(t)) => J::String(t),
            Ok(Stored::Blob(b)) => J::String(hex(&b)),
            Ok(Stored::Null) | Err(_) => J::Null,
        },
    }
}

//! How [`Value`]s are stored in SQLite and read back.
//!
//! SQLite has five storage classes, so every column type has one fixed encoding, chosen so that
//! equality and ordering in SQL agree with the Rust values wherever SQLite can compare them:
//!
//! | column type | stored as |
//! |---|---|
//! | bool | INTEGER 0 / 1 |
//! | smallint, integer, bigint | INTEGER |
//! | real, double | REAL; NaN as the TEXT `NaN` (SQLite would store a NaN as NULL), which sorts above every number as on PostgreSQL |
//! | text | TEXT |
//! | uuid | TEXT, lower-case hyphenated |
//! | timestamptz | TEXT `YYYY-MM-DDTHH:MM:SS.ffffffZ` (fixed width, so text order is time order) |
//! | timestamp, date, time | TEXT `YYYY-MM-DDTHH:MM:SS.ffffff`, `YYYY-MM-DD`, `HH:MM:SS.ffffff` |
//! | decimal | TEXT, normalized (`1.50` is stored as `1.5`, so equal numbers are equal text) |
//! | json | TEXT, compact JSON |
//! | bytes | BLOB |
//! | arrays | TEXT, a JSON array of the elements' encodings: bytes as lower-case hex, non-finite floats as `"NaN"`/`"inf"`/`"-inf"`, JSON documents as their text (so a JSON `null` element stays apart from a SQL `NULL` one) |
//!
//! Dates and times outside [`STORABLE_YEARS`](crate::types::STORABLE_YEARS), where the year has no
//! four digits, are refused by `Backend::bind` before they get here: that text would not sort with
//! the rest, and a `timestamptz` would not read back, leaving a row no read of the table gets past.

use crate::error::StoreError;
use crate::types::{ColumnType, ScalarType, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Row, TypeInfo, ValueRef};
use std::str::FromStr;
use uuid::Uuid;

const TIMESTAMPTZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";
const DATE_FORMAT: &str = "%Y-%m-%d";
const TIME_FORMAT: &str = "%H:%M:%S%.6f";

/// A value in one of SQLite's storage classes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stored {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The stored text of a `TIMESTAMPTZ` (also what the clock of a write is bound as).
pub(crate) fn timestamptz_text(at: DateTime<Utc>) -> String {
    at.format(TIMESTAMPTZ_FORMAT).to_string()
}

/// Adds `value` to `args` as a parameter of column type `ty`.
pub(crate) fn bind(args: &mut SqliteArguments, value: Value, ty: ColumnType) -> Result<(), StoreError> {
    let stored = encode(value, ty).map_err(|message| StoreError::Validation { field: None, message })?;
    let added = match stored {
        Stored::Null => args.add(Option::<i64>::None),
        Stored::Integer(v) => args.add(v),
        Stored::Real(v) => args.add(v),
        Stored::Text(v) => args.add(v),
        Stored::Blob(v) => args.add(v),
    };
    added.map_err(|e| StoreError::Validation { field: None, message: e.to_string() })
}

/// Takes the payload of one variant, or says what was found instead.
macro_rules! expect {
    ($value:expr, $variant:ident) => {
        match $value {
            Value::$variant(v) => v,
            other => return Err(format!("expected {}, found {}", stringify!($variant), other.kind_name())),
        }
    };
}

/// The stored form of `value` in a column of type `ty`.
pub(crate) fn encode(value: Value, ty: ColumnType) -> Result<Stored, String> {
    if value.is_null() {
        return Ok(Stored::Null);
    }
    match ty {
        ColumnType::Scalar(scalar) => encode_scalar(value, scalar),
        ColumnType::Array(scalar) => {
            let items = expect!(value, Array);
            let json = items.into_iter().map(|item| element_to_json(item, scalar)).collect::<Result<Vec<_>, _>>()?;
            Ok(Stored::Text(serde_json::Value::Array(json).to_string()))
        }
    }
}

fn encode_scalar(value: Value, scalar: ScalarType) -> Result<Stored, String> {
    Ok(match scalar {
        ScalarType::Bool => Stored::Integer(i64::from(expect!(value, Bool))),
        ScalarType::SmallInt => Stored::Integer(i64::from(expect!(value, SmallInt))),
        ScalarType::Integer => Stored::Integer(i64::from(expect!(value, Integer))),
        ScalarType::BigInt => Stored::Integer(expect!(value, BigInt)),
        ScalarType::Real => float(f64::from(expect!(value, Real))),
        ScalarType::Double => float(expect!(value, Double)),
        ScalarType::Text => Stored::Text(check_text(expect!(value, Text))?),
        ScalarType::Uuid => Stored::Text(expect!(value, Uuid).hyphenated().to_string()),
        ScalarType::TimestampTz => Stored::Text(timestamptz_text(expect!(value, TimestampTz))),
        ScalarType::Timestamp => Stored::Text(expect!(value, Timestamp).format(TIMESTAMP_FORMAT).to_string()),
        ScalarType::Date => Stored::Text(expect!(value, Date).format(DATE_FORMAT).to_string()),
        ScalarType::Time => Stored::Text(expect!(value, Time).format(TIME_FORMAT).to_string()),
        ScalarType::Decimal => Stored::Text(expect!(value, Decimal).normalize().to_string()),
        ScalarType::Json => Stored::Text(check_text(expect!(value, Json).to_string())?),
        ScalarType::Bytes => Stored::Blob(expect!(value, Bytes)),
    })
}

fn float(v: f64) -> Stored {
    if v.is_nan() { Stored::Text(NAN.to_owned()) } else { Stored::Real(v) }
}

const NAN: &str = "NaN";

/// Text holding NUL is refused as on PostgreSQL, so both backends accept the same data.
fn check_text(text: String) -> Result<String, String> {
    if text.contains('\0') { Err("text contains a NUL byte".to_owned()) } else { Ok(text) }
}

/// One array element as JSON: numbers and booleans as themselves, the rest as their stored text.
fn element_to_json(item: Value, scalar: ScalarType) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    if item.is_null() {
        return Ok(J::Null);
    }
    Ok(match (scalar, encode_scalar(item, scalar)?) {
        (ScalarType::Bool, Stored::Integer(v)) => J::Bool(v != 0),
        (_, Stored::Integer(v)) => J::from(v),
        (_, Stored::Real(v)) => serde_json::Number::from_f64(v).map_or_else(|| J::String(v.to_string()), J::Number),
        (_, Stored::Text(text)) => J::String(text),
        (_, Stored::Blob(bytes)) => J::String(hex(&bytes)),
        (_, Stored::Null) => J::Null,
    })
}

/// Reads column `index` of `row` as a value of type `ty`.
pub(crate) fn read_value(row: &SqliteRow, index: usize, ty: ColumnType) -> Result<Value, String> {
    let raw = row.try_get_raw(index).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let stored = match ty {
        ColumnType::Scalar(ScalarType::Bytes) => {
            Stored::Blob(row.try_get_unchecked::<Vec<u8>, _>(index).map_err(|e| e.to_string())?)
        }
        ColumnType::Scalar(ScalarType::Bool | ScalarType::SmallInt | ScalarType::Integer | ScalarType::BigInt) => {
            Stored::Integer(row.try_get_unchecked::<i64, _>(index).map_err(|e| e.to_string())?)
        }
        ColumnType::Scalar(ScalarType::Real | ScalarType::Double) if raw.type_info().name() != "TEXT" => {
            Stored::Real(row.try_get_unchecked::<f64, _>(index).map_err(|e| e.to_string())?)
        }
        _ => Stored::Text(row.try_get_unchecked::<String, _>(index).map_err(|e| e.to_string())?),
    };
    decode(stored, ty)
}

/// The value a stored form encodes in a column of type `ty`.
pub(crate) fn decode(stored: Stored, ty: ColumnType) -> Result<Value, String> {
    match ty {
        ColumnType::Scalar(scalar) => decode_scalar(stored, scalar),
        ColumnType::Array(scalar) => {
            let Stored::Text(text) = stored else { return Err(format!("expected a JSON array, found {stored:?}")) };
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let serde_json::Value::Array(items) = json else { return Err("expected a JSON array".to_owned()) };
            items.into_iter().map(|item| element_from_json(item, scalar)).collect::<Result<_, _>>().map(Value::Array)
        }
    }
}

fn decode_scalar(stored: Stored, scalar: ScalarType) -> Result<Value, String> {
    let narrow = |v: i64| format!("{v} is out of range for {scalar:?}");
    Ok(match (scalar, stored) {
        (_, Stored::Null) => Value::Null,
        (ScalarType::Bool, Stored::Integer(v)) => Value::Bool(v != 0),
        (ScalarType::SmallInt, Stored::Integer(v)) => Value::SmallInt(i16::try_from(v).map_err(|_| narrow(v))?),
        (ScalarType::Integer, Stored::Integer(v)) => Value::Integer(i32::try_from(v).map_err(|_| narrow(v))?),
        (ScalarType::BigInt, Stored::Integer(v)) => Value::BigInt(v),
        #[allow(clippy::cast_possible_truncation)]
        (ScalarType::Real, Stored::Real(v)) => Value::Real(v as f32),
        (ScalarType::Double, Stored::Real(v)) => Value::Double(v),
        (ScalarType::Real, Stored::Text(t)) if t == NAN => Value::Real(f32::NAN),
        (ScalarType::Double, Stored::Text(t)) if t == NAN => Value::Double(f64::NAN),
        (ScalarType::Bytes, Stored::Blob(v)) => Value::Bytes(v),
        (scalar, Stored::Text(text)) => decode_text(&text, scalar)?,
        (scalar, other) => return Err(format!("expected {scalar:?}, found {other:?}")),
    })
}

fn decode_text(text: &str, scalar: ScalarType) -> Result<Value, String> {
    let bad = |e: &dyn std::fmt::Display| format!("`{text}` is not a stored {scalar:?}: {e}");
    Ok(match scalar {
        ScalarType::Text => Value::Text(text.to_owned()),
        ScalarType::Uuid => Value::Uuid(Uuid::parse_str(text).map_err(|e| bad(&e))?),
        ScalarType::TimestampTz => {
            Value::TimestampTz(DateTime::parse_from_rfc3339(text).map_err(|e| bad(&e))?.with_timezone(&Utc))
        }
        ScalarType::Timestamp => {
            Value::Timestamp(NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map_err(|e| bad(&e))?)
        }
        ScalarType::Date => Value::Date(NaiveDate::parse_from_str(text, DATE_FORMAT).map_err(|e| bad(&e))?),
        ScalarType::Time => Value::Time(NaiveTime::parse_from_str(text, "%H:%M:%S%.f").map_err(|e| bad(&e))?),
        ScalarType::Decimal => Value::Decimal(Decimal::from_str(text).map_err(|e| bad(&e))?),
        ScalarType::Json => Value::Json(serde_json::from_str(text).map_err(|e| bad(&e))?),
        other => return Err(format!("expected {other:?}, found text")),
    })
}

fn element_from_json(item: serde_json::Value, scalar: ScalarType) -> Result<Value, String> {
    use serde_json::Value as J;
    let stored = match (scalar, item) {
        (_, J::Null) => return Ok(Value::Null),
        (ScalarType::Bool, J::Bool(b)) => Stored::Integer(i64::from(b)),
        (ScalarType::Real | ScalarType::Double, J::Number(n)) => Stored::Real(n.as_f64().unwrap_or(f64::NAN)),
        (ScalarType::Real | ScalarType::Double, J::String(special)) => {
            Stored::Real(special.parse::<f64>().map_err(|_| format!("`{special}` is not a float"))?)
        }
        (_, J::Number(n)) => Stored::Integer(n.as_i64().ok_or_else(|| format!("{n} is not an integer"))?),
        (ScalarType::Bytes, J::String(hex)) => Stored::Blob(from_hex(&hex)?),
        (_, J::String(text)) => Stored::Text(text),
        (_, other) => return Err(format!("unexpected array element {other}")),
    };
    decode_scalar(stored, scalar)
}

/// Lower-case hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err("odd-length hex".to_owned());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests;

//! Converting the JSON values of string-named filters into [`Value`]s of a column's declared type.
//!
//! The column decides, never the JSON: `"42"` stays text for a `TEXT` column and is refused for an
//! `INTEGER` one; a string that looks like a UUID stays text for a `TEXT` column.

use crate::types::{ColumnType, ScalarType, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::str::FromStr;
use uuid::Uuid;

/// Converts `json` to a value of type `ty`. JSON `null` becomes [`Value::Null`] (callers decide
/// whether `NULL` is acceptable); inside an array it is refused, since array fields hold no `NULL`s.
pub(crate) fn value_from_json(json: &Json, ty: ColumnType) -> Result<Value, String> {
    match (json, ty) {
        (Json::Null, _) => Ok(Value::Null),
        (Json::Array(items), ColumnType::Array(scalar)) => items
            .iter()
            .map(|item| match item {
                Json::Null => Err("array elements cannot be null".to_owned()),
                item => scalar_from_json(item, scalar),
            })
            .collect::<Result<_, _>>()
            .map(Value::Array),
        (other, ColumnType::Array(scalar)) => {
            Err(format!("expected a JSON array of {scalar:?}, found {}", kind(other)))
        }
        (json, ColumnType::Scalar(scalar)) => scalar_from_json(json, scalar),
    }
}

/// Converts a non-null JSON value to a scalar of type `scalar`.
pub(crate) fn scalar_from_json(json: &Json, scalar: ScalarType) -> Result<Value, String> {
    let mismatch =
        |expected: &str| format!("expected {expected} for a column of type {scalar:?}, found {}", kind(json));
    match scalar {
        ScalarType::Bool => json.as_bool().map(Value::Bool).ok_or_else(|| mismatch("a boolean")),
        ScalarType::SmallInt => integer(json, scalar).map(Value::SmallInt),
        ScalarType::Integer => integer(json, scalar).map(Value::Integer),
        ScalarType::BigInt => integer(json, scalar).map(Value::BigInt),
        ScalarType::Real => {
            let wide = json.as_f64().ok_or_else(|| mismatch("a number"))?;
            // Rounding to the nearest f32 is what a REAL column stores anyway.
            let narrow = wide as f32;
            if narrow.is_infinite() {
                return Err(format!("{wide} is out of range for type Real"));
            }
            Ok(Value::Real(narrow))
        }
        ScalarType::Double => json.as_f64().map(Value::Double).ok_or_else(|| mismatch("a number")),
        ScalarType::Text => {
            let text = json.as_str().ok_or_else(|| mismatch("a string"))?;
            check_nul(text)?;
            Ok(Value::Text(text.to_owned()))
        }
        ScalarType::Uuid => {
            let text = json.as_str().ok_or_else(|| mismatch("a UUID string"))?;
            Uuid::parse_str(text).map(Value::Uuid).map_err(|e| format!("invalid UUID {text:?}: {e}"))
        }
        ScalarType::TimestampTz => {
            let text = json.as_str().ok_or_else(|| mismatch("an RFC 3339 string"))?;
            DateTime::parse_from_rfc3339(text)
                .map(|t| Value::TimestampTz(t.with_timezone(&Utc)))
                .map_err(|e| format!("invalid RFC 3339 timestamp {text:?}: {e}"))
        }
        ScalarType::Timestamp => {
            let text = json.as_str().ok_or_else(|| mismatch("a YYYY-MM-DDTHH:MM:SS string"))?;
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(Value::Timestamp)
                .map_err(|e| format!("invalid timestamp {text:?} (expected YYYY-MM-DDTHH:MM:SS[.f]): {e}"))
        }
        ScalarType::Date => {
            let text = json.as_str().ok_or_else(|| mismatch("a YYYY-MM-DD string"))?;
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Value::Date)
                .map_err(|e| format!("invalid date {text:?} (expected YYYY-MM-DD): {e}"))
        }
        ScalarType::Time => {
            let text = json.as_str().ok_or_else(|| mismatch("an HH:MM:SS string"))?;
            NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
                .map(Value::Time)
                .map_err(|e| format!("invalid time {text:?} (expected HH:MM:SS[.f]): {e}"))
        }
        ScalarType::Decimal => {
            let text = match json {
                Json::Number(n) => n.to_string(),
                Json::String(s) => s.clone(),
                _ => return Err(mismatch("a number or a numeric string")),
            };
            parse_decimal(&text).map(Value::Decimal)
        }
        ScalarType::Json => {
            check_json(json)?;
            Ok(Value::Json(json.clone()))
        }
        ScalarType::Bytes => {
            let items = json.as_array().ok_or_else(|| mismatch("an array of byte values"))?;
            items
                .iter()
                .map(|item| {
                    item.as_u64()
                        .and_then(|b| u8::try_from(b).ok())
                        .ok_or_else(|| format!("expected a byte (0..=255), found {}", kind(item)))
                })
                .collect::<Result<_, _>>()
                .map(Value::Bytes)
        }
    }
}

/// A JSON integer that fits `I`; floats (even `5.0`) and out-of-range numbers are refused rather
/// than truncated.
fn integer<I: TryFrom<i64>>(json: &Json, scalar: ScalarType) -> Result<I, String> {
    let Json::Number(n) = json else {
        return Err(format!("expected an integer for a column of type {scalar:?}, found {}", kind(json)));
    };
    let wide = n.as_i64().ok_or_else(|| {
        if n.is_f64() {
            format!("expected an integer for a column of type {scalar:?}, found the number {n}")
        } else {
            format!("{n} is out of range for type {scalar:?}")
        }
    })?;
    I::try_from(wide).map_err(|_| format!("{n} is out of range for type {scalar:?}"))
}

fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let parsed = if text.contains(['e', 'E']) { Decimal::from_scientific(text) } else { Decimal::from_str(text) };
    parsed.map_err(|e| format!("invalid decimal {text:?}: {e}"))
}

/// PostgreSQL text cannot hold NUL; refusing it here names the field instead of failing mid-query.
pub(crate) fn check_nul(text: &str) -> Result<(), String> {
    if text.contains('\0') { Err("text contains a NUL byte".to_owned()) } else { Ok(()) }
}

/// JSON a field can store and read back: see [`crate::types::check_json`], here with the message
/// as text for the caller's field error.
pub(crate) fn check_json(json: &Json) -> Result<(), String> {
    crate::types::check_json(json).map_err(|e| e.to_string())
}

/// The kind of a JSON value and, for short scalars, the value itself, for error messages.
pub(crate) fn kind(json: &Json) -> String {
    match json {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => format!("the boolean {b}"),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        Json::String(_) => "a string".to_owned(),
        Json::Array(_) => "an array".to_owned(),
        Json::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests;

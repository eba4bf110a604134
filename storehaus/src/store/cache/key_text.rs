//! The text a primary key is cached under: one text per database row, however the key was
//! written.
//!
//! Two keys get the same text exactly when the database takes them for the same row, so a
//! write through one spelling invalidates what a read through another cached: `Decimal` `1.0`
//! and `1.00`, `f64` `0.0` and `-0.0`, timestamps that differ below the microsecond the
//! database keeps, JSON documents PostgreSQL's `jsonb` holds equal. Equality differs between
//! the backends for some types (SQLite compares what it stores, PostgreSQL compares values), so
//! each backend has its own rule.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::backend::sqlite::values::{Stored, encode};
use crate::types::{ColumnType, Value};

/// Whose equality key texts follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyEquality {
    Postgres,
    Sqlite,
}

impl KeyEquality {
    /// The rule of the database system named as in OpenTelemetry (`postgresql`, `sqlite`).
    pub(crate) fn of(db_system: &str) -> Self {
        if db_system == "sqlite" { KeyEquality::Sqlite } else { KeyEquality::Postgres }
    }

    /// The cache text of key `value` in a column of type `ty`, or `None` when the value names
    /// no row (SQL `NULL`) or the database would refuse it (such reads skip the cache).
    pub(crate) fn key_text(self, value: Value, ty: ColumnType) -> Option<String> {
        match self {
            KeyEquality::Sqlite => sqlite_text(value, ty),
            KeyEquality::Postgres => postgres_text(value),
        }
    }
}

/// SQLite compares the stored values, which its encoding makes canonical (decimals normalized,
/// timestamps at microseconds); only `-0.0` and `0.0`, which it stores apart but compares equal,
/// need folding.
fn sqlite_text(value: Value, ty: ColumnType) -> Option<String> {
    Some(match encode(value, ty).ok()? {
        Stored::Null => return None,
        Stored::Integer(v) => v.to_string(),
        Stored::Real(v) => float_text(v),
        Stored::Text(v) => v,
        Stored::Blob(v) => hex(&v),
    })
}

/// PostgreSQL compares values of the column's type: the text is the value as the server holds
/// it after binding.
fn postgres_text(value: Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(v) => v.to_string(),
        Value::SmallInt(v) => v.to_string(),
        Value::Integer(v) => v.to_string(),
        Value::BigInt(v) => v.to_string(),
        Value::Real(v) => float_text(f64::from(v)),
        Value::Double(v) => float_text(v),
        Value::Text(v) if v.contains('\0') => return None,
        Value::Text(v) => v,
        Value::Uuid(v) => v.hyphenated().to_string(),
        // The server keeps microseconds; the driver truncates toward 2000-01-01 (its epoch).
        Value::TimestampTz(v) => micros_since_2000(v.naive_utc())?.to_string(),
        Value::Timestamp(v) => micros_since_2000(v)?.to_string(),
        Value::Date(v) => v.to_string(),
        Value::Time(v) => (v - NaiveTime::MIN).num_microseconds()?.to_string(),
        Value::Decimal(v) => v.normalize().to_string(),
        Value::Json(v) => jsonb_text(&v)?,
        Value::Bytes(v) => hex(&v),
        Value::Array(items) => {
            let texts = items
                .into_iter()
                .map(|item| match item {
                    Value::Null => Some(serde_json::Value::Null),
                    Value::Array(_) => None,
                    item => postgres_text(item).map(serde_json::Value::String),
                })
                .collect::<Option<Vec<_>>>()?;
            serde_json::Value::Array(texts).to_string()
        }
    })
}

fn micros_since_2000(at: NaiveDateTime) -> Option<i64> {
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1)?.and_time(NaiveTime::MIN);
    (at - epoch).num_microseconds()
}

/// `-0.0` is `0.0` and every NaN is one NaN, as both databases compare floats.
fn float_text(v: f64) -> String {
    if v == 0.0 {
        "0".to_owned()
    } else if v.is_nan() {
        "NaN".to_owned()
    } else {
        v.to_string()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON document as `jsonb` compares it: object keys sorted and unique, numbers by value
/// (`1`, `1.0` and `1e0` are equal). `None` for what `jsonb` refuses (`\u0000` in a string).
fn jsonb_text(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value as J;
    Some(match value {
        J::Null | J::Bool(_) => value.to_string(),
        J::Number(n) => canonical_number(&n.to_string()),
        J::String(s) if s.contains('\0') => return None,
        J::String(_) => value.to_string(),
        J::Array(items) => {
            let items = items.iter().map(jsonb_text).collect::<Option<Vec<_>>>()?;
            format!("[{}]", items.join(","))
        }
        J::Object(map) => {
            let mut entries = map
                .iter()
                .map(|(k, v)| {
                    if k.contains('\0') {
                        return None;
                    }
                    Some((serde_json::Value::String(k.clone()).to_string(), jsonb_text(v)?))
                })
                .collect::<Option<Vec<_>>>()?;
            entries.sort();
            let entries: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{{}}}", entries.join(","))
        }
    })
}

/// A JSON number's text as `digits e exponent` with no leading or trailing zeros, so equal
/// numbers have equal text; zero is `0` whatever its sign.
fn canonical_number(text: &str) -> String {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.trim_start_matches('+').parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        return "0".to_owned();
    }
    let exponent = exponent - frac.len() as i64 + (digits.len() - trimmed.len()) as i64;
    format!("{}{trimmed}e{exponent}", if negative { "-" } else { "" })
}

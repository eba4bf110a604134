//! [`Cursor`]: where a keyset-paginated query continues, as plain or sealed text.

use super::from_json::value_from_json;
use super::resolved::Order;
use crate::error::StoreError;
use crate::types::{ColumnType, ScalarType, Value};
use chrono::SecondsFormat;
use serde_json::{Value as Json, json};
use std::fmt;
use std::str::FromStr;

mod sealed;

pub use sealed::CursorKey;

/// The longest cursor text [`Cursor::decode`] and [`Cursor::open`] read, in bytes; longer text is
/// `StoreError::Validation` before it is decoded.
///
/// A cursor holds the last row's sort values, so sorting by long text can make one longer than
/// this: page by short columns (ids, timestamps, numbers) when cursors travel as text.
pub const MAX_CURSOR_LEN: usize = 4096;

/// The position after the last row of a page, for [`QueryBuilder::after`](super::QueryBuilder::after).
///
/// It records the query's sort keys and the last row's values of them. A cursor only fits a query
/// that sorts the same way as the one that produced it. It has two text forms, both URL-safe:
///
/// - plain: [`encode`](Self::encode) (or `Display`) and [`decode`](Self::decode) (or
///   `str::parse`). This is base64 of JSON: a client can read the sort values (columns an API may
///   otherwise hide) and write a cursor of its own choosing.
/// - sealed: [`seal`](Self::seal) and [`open`](Self::open) with a [`CursorKey`] of the
///   application. Encrypted and authenticated: a client can neither read nor alter it, and an
///   altered, truncated or foreign one is refused.
///
/// Both readers refuse text longer than [`MAX_CURSOR_LEN`] with `StoreError::Validation` before
/// decoding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// Sort-key column names with their direction (`true` = descending).
    keys: Vec<(String, bool)>,
    /// One JSON value per key, in the form [`value_to_json`] writes.
    values: Vec<Json>,
}

impl Cursor {
    /// The cursor after a row whose sort-key values (one per entry of `order`, in order) are
    /// `values`.
    pub(crate) fn from_values(order: &[Order], values: Vec<Value>) -> Cursor {
        Cursor {
            keys: order.iter().map(|o| (o.column.name().to_owned(), o.descending)).collect(),
            values: values.iter().map(value_to_json).collect(),
        }
    }

    /// Whether the cursor was made for a query sorted by `order`.
    pub(crate) fn matches(&self, order: &[Order]) -> bool {
        self.keys.len() == order.len()
            && self.keys.iter().zip(order).all(|((name, desc), o)| name == o.column.name() && *desc == o.descending)
    }

    /// The recorded values converted to the types of `order`'s columns; call after [`matches`](Self::matches).
    pub(crate) fn values_for(&self, order: &[Order]) -> Result<Vec<Value>, StoreError> {
        self.values
            .iter()
            .zip(order)
            .map(|(json, o)| {
                value_from_cursor_json(json, o.column.ty())
                    .map_err(|e| StoreError::validation(o.column.name(), format!("malformed cursor: {e}")))
            })
            .collect()
    }

    /// The cursor as URL-safe plain text, which shows its sort values to whoever holds it; see
    /// [`seal`](Self::seal) for text a client can neither read nor alter.
    pub fn encode(&self) -> String {
        base64url::encode(&self.to_bytes())
    }

    /// Reads a cursor written by [`encode`](Self::encode); anything else, or text longer than
    /// [`MAX_CURSOR_LEN`], is `StoreError::Validation`.
    pub fn decode(text: &str) -> Result<Cursor, StoreError> {
        check_len(text)?;
        let bytes = base64url::decode(text.trim()).ok_or_else(malformed)?;
        Cursor::from_bytes(&bytes)
    }

    /// The JSON document both text forms carry.
    fn to_bytes(&self) -> Vec<u8> {
        let keys: Vec<Json> = self.keys.iter().map(|(name, desc)| json!([name, desc])).collect();
        json!([1, keys, self.values]).to_string().into_bytes()
    }

    fn from_bytes(bytes: &[u8]) -> Result<Cursor, StoreError> {
        let json: Json = serde_json::from_slice(bytes).map_err(|_| malformed())?;
        let parts = json.as_array().filter(|p| p.len() == 3 && p[0] == json!(1)).ok_or_else(malformed)?;
        let (Some(keys), Some(values)) = (parts[1].as_array(), parts[2].as_array()) else {
            return Err(malformed());
        };
        let keys = keys
            .iter()
            .map(|key| match key.as_array().map(Vec::as_slice) {
                Some([Json::String(name), Json::Bool(desc)]) => Some((name.clone(), *desc)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(malformed)?;
        if keys.len() != values.len() {
            return Err(malformed());
        }
        Ok(Cursor { keys, values: values.clone() })
    }
}

fn malformed() -> StoreError {
    StoreError::Validation { field: None, message: "malformed cursor".to_owned() }
}

/// Refuses cursor text longer than [`MAX_CURSOR_LEN`], before any work proportional to it.
fn check_len(text: &str) -> Result<(), StoreError> {
    if text.len() > MAX_CURSOR_LEN {
        return Err(StoreError::Validation {
            field: None,
            message: format!("cursor text is longer than {MAX_CURSOR_LEN} bytes (MAX_CURSOR_LEN)"),
        });
    }
    Ok(())
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl FromStr for Cursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cursor::decode(s)
    }
}

/// A value as JSON that [`value_from_cursor_json`] turns back into the same value.
fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::SmallInt(i) => json!(i),
        Value::Integer(i) => json!(i),
        Value::BigInt(i) => json!(i),
        // Text: JSON number parsing may be off by one ulp, and NaN/infinity have no JSON number;
        // Rust prints the shortest text that parses back exactly.
        Value::Real(x) => json!(x.to_string()),
        Value::Double(x) => json!(x.to_string()),
        Value::Text(s) => json!(s),
        Value::Uuid(u) => json!(u.to_string()),
        Value::TimestampTz(t) => json!(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        Value::Timestamp(t) => json!(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        Value::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
        Value::Time(t) => json!(t.format("%H:%M:%S%.f").to_string()),
        Value::Decimal(d) => json!(d.to_string()),
        Value::Json(j) => j.clone(),
        Value::Bytes(b) => json!(b),
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
    }
}

fn value_from_cursor_json(json: &Json, ty: ColumnType) -> Result<Value, String> {
    let float = |json: &Json, scalar: ScalarType| -> Result<Value, String> {
        let text = json.as_str().ok_or("expected a number as text")?;
        match scalar {
            ScalarType::Real => text.parse().map(Value::Real).map_err(|e| format!("{e}")),
            _ => text.parse().map(Value::Double).map_err(|e| format!("{e}")),
        }
    };
    match (ty, json) {
        (ColumnType::Scalar(s @ (ScalarType::Real | ScalarType::Double)), json) => float(json, s),
        (ColumnType::Array(s @ (ScalarType::Real | ScalarType::Double)), Json::Array(items)) => {
            items.iter().map(|item| float(item, s)).collect::<Result<_, _>>().map(Value::Array)
        }
        _ => value_from_json(json, ty),
    }
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
mod base64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub(super) fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            }
        }
        out
    }

    pub(super) fn decode(text: &str) -> Option<Vec<u8>> {
        if text.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
        for chunk in text.as_bytes().chunks(4) {
            let mut n = 0_u32;
            for (i, &c) in chunk.iter().enumerate() {
                let digit = ALPHABET.iter().position(|&a| a == c)?;
                n |= (digit as u32) << (18 - 6 * i);
            }
            let bytes = n.to_be_bytes();
            out.extend_from_slice(&bytes[1..chunk.len()]);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests;

//! A lossless serde form of [`Value`], for values stored outside the database (the cache).
//!
//! Serializing a model with serde loses what JSON cannot say: `Some(json!(null))` reads back as
//! `None`, and NaN or infinite floats do not read back at all. Values keep their variant, and
//! floats travel as their bit patterns.

use super::Value;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Wire {
    N,
    B(bool),
    I2(i16),
    I4(i32),
    I8(i64),
    F4(u32),
    F8(u64),
    T(String),
    U(Uuid),
    Tz(DateTime<Utc>),
    Ts(NaiveDateTime),
    D(NaiveDate),
    Tm(NaiveTime),
    Dec(Decimal),
    J(serde_json::Value),
    By(Vec<u8>),
    A(Vec<Wire>),
}

impl From<Value> for Wire {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Wire::N,
            Value::Bool(v) => Wire::B(v),
            Value::SmallInt(v) => Wire::I2(v),
            Value::Integer(v) => Wire::I4(v),
            Value::BigInt(v) => Wire::I8(v),
            Value::Real(v) => Wire::F4(v.to_bits()),
            Value::Double(v) => Wire::F8(v.to_bits()),
            Value::Text(v) => Wire::T(v),
            Value::Uuid(v) => Wire::U(v),
            Value::TimestampTz(v) => Wire::Tz(v),
            Value::Timestamp(v) => Wire::Ts(v),
            Value::Date(v) => Wire::D(v),
            Value::Time(v) => Wire::Tm(v),
            Value::Decimal(v) => Wire::Dec(v),
            Value::Json(v) => Wire::J(v),
            Value::Bytes(v) => Wire::By(v),
            Value::Array(items) => Wire::A(items.into_iter().map(Wire::from).collect()),
        }
    }
}

impl From<Wire> for Value {
    fn from(wire: Wire) -> Self {
        match wire {
            Wire::N => Value::Null,
            Wire::B(v) => Value::Bool(v),
            Wire::I2(v) => Value::SmallInt(v),
            Wire::I4(v) => Value::Integer(v),
            Wire::I8(v) => Value::BigInt(v),
            Wire::F4(bits) => Value::Real(f32::from_bits(bits)),
            Wire::F8(bits) => Value::Double(f64::from_bits(bits)),
            Wire::T(v) => Value::Text(v),
            Wire::U(v) => Value::Uuid(v),
            Wire::Tz(v) => Value::TimestampTz(v),
            Wire::Ts(v) => Value::Timestamp(v),
            Wire::D(v) => Value::Date(v),
            Wire::Tm(v) => Value::Time(v),
            Wire::Dec(v) => Value::Decimal(v),
            Wire::J(v) => Value::Json(v),
            Wire::By(v) => Value::Bytes(v),
            Wire::A(items) => Value::Array(items.into_iter().map(Value::from).collect()),
        }
    }
}

#[cfg(test)]
mod tests;

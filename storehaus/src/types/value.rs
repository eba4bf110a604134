//! The backend-neutral value of one column.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// One column value on its way to or from the database.
///
/// The backend binds it as a parameter of the column's [`ColumnType`](super::ColumnType), so a
/// `Value::Text` stays text even when it looks like a UUID.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// `BOOLEAN`
    Bool(bool),
    /// `SMALLINT`
    SmallInt(i16),
    /// `INTEGER`
    Integer(i32),
    /// `BIGINT`
    BigInt(i64),
    /// `REAL`
    Real(f32),
    /// `DOUBLE PRECISION`
    Double(f64),
    /// `TEXT`
    Text(String),
    /// `UUID`
    Uuid(Uuid),
    /// `TIMESTAMPTZ`
    TimestampTz(DateTime<Utc>),
    /// `TIMESTAMP`
    Timestamp(NaiveDateTime),
    /// `DATE`
    Date(NaiveDate),
    /// `TIME`
    Time(NaiveTime),
    /// `NUMERIC`
    Decimal(Decimal),
    /// `JSONB`
    Json(serde_json::Value),
    /// `BYTEA`
    Bytes(Vec<u8>),
    /// A one-dimensional array; elements are scalars of one type (or `Null`).
    Array(Vec<Value>),
}

impl Value {
    /// A short name of the variant, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::SmallInt(_) => "smallint",
            Value::Integer(_) => "integer",
            Value::BigInt(_) => "bigint",
            Value::Real(_) => "real",
            Value::Double(_) => "double",
            Value::Text(_) => "text",
            Value::Uuid(_) => "uuid",
            Value::TimestampTz(_) => "timestamptz",
            Value::Timestamp(_) => "timestamp",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Decimal(_) => "decimal",
            Value::Json(_) => "json",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
        }
    }

    /// Whether this is `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

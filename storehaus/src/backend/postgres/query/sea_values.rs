//! Moving values between StoreHaus [`Value`]s, sea-query's placeholders and sqlx parameters.
//!
//! sea-query collects each statement's values as `sea_query::Value`s in placeholder order; they are
//! turned back into typed [`Value`]s and bound through [`values::bind`], the one place that knows
//! how PostgreSQL parameters are encoded (typed `NULL`s, arrays, NUL checks).

use super::super::values;
use crate::error::StoreError;
use crate::types::{ColumnType, ScalarType, Value};
use chrono::Utc;
use sea_query::{ArrayType, Value as Sea, Values};
use sqlx::postgres::PgArguments;

/// `value` as a sea-query value of column type `ty`; a `NULL` keeps the type.
pub(crate) fn to_sea(value: Value, ty: ColumnType) -> Result<Sea, StoreError> {
    let mismatch = |found: &Value| StoreError::Validation {
        field: None,
        message: format!("expected {ty}, found {}", found.kind_name()),
    };
    match ty {
        ColumnType::Scalar(scalar) => scalar_to_sea(value, scalar).map_err(|v| mismatch(&v)),
        ColumnType::Array(scalar) => match value {
            Value::Null => Ok(Sea::Array(array_type(scalar), None)),
            Value::Array(items) => items
                .into_iter()
                .map(|item| scalar_to_sea(item, scalar).map_err(|v| mismatch(&v)))
                .collect::<Result<Vec<_>, _>>()
                .map(|items| Sea::Array(array_type(scalar), Some(Box::new(items)))),
            other => Err(mismatch(&other)),
        },
    }
}

/// A scalar as a sea-query value, or the value back when it is not of type `scalar`.
fn scalar_to_sea(value: Value, scalar: ScalarType) -> Result<Sea, Value> {
    /// `Some(payload)` of the expected variant, `None` for `NULL`.
    macro_rules! take {
        ($variant:ident) => {
            match value {
                Value::Null => None,
                Value::$variant(v) => Some(v),
                other => return Err(other),
            }
        };
    }
    Ok(match scalar {
        ScalarType::Bool => Sea::Bool(take!(Bool)),
        ScalarType::SmallInt => Sea::SmallInt(take!(SmallInt)),
        ScalarType::Integer => Sea::Int(take!(Integer)),
        ScalarType::BigInt => Sea::BigInt(take!(BigInt)),
        ScalarType::Real => Sea::Float(take!(Real)),
        ScalarType::Double => Sea::Double(take!(Double)),
        ScalarType::Text => Sea::String(take!(Text).map(Box::new)),
        ScalarType::Uuid => Sea::Uuid(take!(Uuid).map(Box::new)),
        ScalarType::TimestampTz => Sea::ChronoDateTimeUtc(take!(TimestampTz).map(Box::new)),
        ScalarType::Timestamp => Sea::ChronoDateTime(take!(Timestamp).map(Box::new)),
        ScalarType::Date => Sea::ChronoDate(take!(Date).map(Box::new)),
        ScalarType::Time => Sea::ChronoTime(take!(Time).map(Box::new)),
        ScalarType::Decimal => Sea::Decimal(take!(Decimal).map(Box::new)),
        ScalarType::Json => Sea::Json(take!(Json).map(Box::new)),
        ScalarType::Bytes => Sea::Bytes(take!(Bytes).map(Box::new)),
    })
}

fn array_type(scalar: ScalarType) -> ArrayType {
    match scalar {
        ScalarType::Bool => ArrayType::Bool,
        ScalarType::SmallInt => ArrayType::SmallInt,
        ScalarType::Integer => ArrayType::Int,
        ScalarType::BigInt => ArrayType::BigInt,
        ScalarType::Real => ArrayType::Float,
        ScalarType::Double => ArrayType::Double,
        ScalarType::Text => ArrayType::String,
        ScalarType::Uuid => ArrayType::Uuid,
        ScalarType::TimestampTz => ArrayType::ChronoDateTimeUtc,
        ScalarType::Timestamp => ArrayType::ChronoDateTime,
        ScalarType::Date => ArrayType::ChronoDate,
        ScalarType::Time => ArrayType::ChronoTime,
        ScalarType::Decimal => ArrayType::Decimal,
        ScalarType::Json => ArrayType::Json,
        ScalarType::Bytes => ArrayType::Bytes,
    }
}

/// The element type of a sea-query array this module produced.
fn scalar_of(array: &ArrayType) -> Option<ScalarType> {
    Some(match array {
        ArrayType::Bool => ScalarType::Bool,
        ArrayType::SmallInt => ScalarType::SmallInt,
        ArrayType::Int => ScalarType::Integer,
        ArrayType::BigInt => ScalarType::BigInt,
        ArrayType::Float => ScalarType::Real,
        ArrayType::Double => ScalarType::Double,
        ArrayType::String => ScalarType::Text,
        ArrayType::Uuid => ScalarType::Uuid,
        ArrayType::ChronoDateTimeUtc => ScalarType::TimestampTz,
        ArrayType::ChronoDateTime => ScalarType::Timestamp,
        ArrayType::ChronoDate => ScalarType::Date,
        ArrayType::ChronoTime => ScalarType::Time,
        ArrayType::Decimal => ScalarType::Decimal,
        ArrayType::Json => ScalarType::Json,
        ArrayType::Bytes => ScalarType::Bytes,
        _ => return None,
    })
}

/// A sea-query value as a StoreHaus value and the column type to bind it as.
pub(crate) fn from_sea(value: Sea) -> Result<(Value, ColumnType), StoreError> {
    /// `(Value::$variant(v) or Null, Scalar($scalar))`, mapping the payload with `$map`.
    macro_rules! scalar {
        ($v:expr, $scalar:ident, $variant:ident) => {
            scalar!($v, $scalar, $variant, |x| x)
        };
        ($v:expr, $scalar:ident, $variant:ident, $map:expr) => {
            ($v.map_or(Value::Null, |x| Value::$variant($map(x))), ColumnType::Scalar(ScalarType::$scalar))
        };
    }
    let unsupported = |what: String| StoreError::Validation { field: None, message: format!("cannot bind {what}") };
    Ok(match value {
        Sea::Bool(v) => scalar!(v, Bool, Bool),
        Sea::TinyInt(v) => scalar!(v, SmallInt, SmallInt, i16::from),
        Sea::SmallInt(v) => scalar!(v, SmallInt, SmallInt),
        Sea::Int(v) => scalar!(v, Integer, Integer),
        Sea::BigInt(v) => scalar!(v, BigInt, BigInt),
        Sea::TinyUnsigned(v) => scalar!(v, SmallInt, SmallInt, i16::from),
        Sea::SmallUnsigned(v) => scalar!(v, Integer, Integer, i32::from),
        Sea::Unsigned(v) => scalar!(v, BigInt, BigInt, i64::from),
        // LIMIT and OFFSET arrive as u64; PostgreSQL has no unsigned type.
        Sea::BigUnsigned(v) => {
            let v = v.map(i64::try_from).transpose().map_err(|_| unsupported("a count above i64::MAX".into()))?;
            scalar!(v, BigInt, BigInt)
        }
        Sea::Float(v) => scalar!(v, Real, Real),
        Sea::Double(v) => scalar!(v, Double, Double),
        Sea::String(v) => scalar!(v, Text, Text, |s: Box<String>| *s),
        Sea::Char(v) => scalar!(v, Text, Text, String::from),
        Sea::Bytes(v) => scalar!(v, Bytes, Bytes, |b: Box<Vec<u8>>| *b),
        Sea::Json(v) => scalar!(v, Json, Json, |j: Box<serde_json::Value>| *j),
        Sea::ChronoDate(v) => scalar!(v, Date, Date, |d: Box<_>| *d),
        Sea::ChronoTime(v) => scalar!(v, Time, Time, |t: Box<_>| *t),
        Sea::ChronoDateTime(v) => scalar!(v, Timestamp, Timestamp, |t: Box<_>| *t),
        Sea::ChronoDateTimeUtc(v) => scalar!(v, TimestampTz, TimestampTz, |t: Box<_>| *t),
        Sea::ChronoDateTimeLocal(v) => {
            scalar!(v, TimestampTz, TimestampTz, |t: Box<chrono::DateTime<chrono::Local>>| t.with_timezone(&Utc))
        }
        Sea::ChronoDateTimeWithTimeZone(v) => {
            scalar!(v, TimestampTz, TimestampTz, |t: Box<chrono::DateTime<chrono::FixedOffset>>| t.with_timezone(&Utc))
        }
        Sea::Uuid(v) => scalar!(v, Uuid, Uuid, |u: Box<_>| *u),
        Sea::Decimal(v) => scalar!(v, Decimal, Decimal, |d: Box<_>| *d),
        Sea::Array(array_type, items) => {
            let scalar = scalar_of(&array_type).ok_or_else(|| unsupported(format!("arrays of {array_type:?}")))?;
            let ty = ColumnType::Array(scalar);
            let Some(items) = items else { return Ok((Value::Null, ty)) };
            let items = items
                .into_iter()
                .map(|item| match from_sea(item)? {
                    (value, ColumnType::Scalar(s)) if s == scalar || value.is_null() => Ok(value),
                    (value, _) => Err(unsupported(format!("a {} in an array of {scalar:?}", value.kind_name()))),
                })
                .collect::<Result<_, _>>()?;
            (Value::Array(items), ty)
        }
        // Other crates in a build may enable more sea-query value types; this module never
        // produces them.
        #[allow(unreachable_patterns)]
        other => return Err(unsupported(format!("{other:?}"))),
    })
}

/// Binds the values sea-query collected, in placeholder order.
pub(crate) fn bind_all(values: Values) -> Result<PgArguments, StoreError> {
    let mut args = PgArguments::default();
    for value in values.0 {
        let (value, ty) = from_sea(value)?;
        values::bind(&mut args, value, ty)?;
    }
    Ok(args)
}

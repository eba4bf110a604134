//! Binding [`Value`]s as PostgreSQL parameters and reading them back from rows.

use crate::error::StoreError;
use crate::types::{ColumnType, ScalarType, SqlType, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Arguments, Row};
use uuid::Uuid;

/// Adds `value` to `args` as a parameter of type `ty`; `NULL` is bound with that type too, so
/// PostgreSQL never has to guess a parameter's type. `Backend::bind` has refused what no backend
/// stores.
pub(crate) fn bind(args: &mut PgArguments, value: Value, ty: ColumnType) -> Result<(), StoreError> {
    let result = match ty {
        ColumnType::Scalar(scalar) => bind_scalar(args, value, scalar),
        ColumnType::Array(scalar) => bind_array(args, value, scalar),
    };
    result.map_err(|e| StoreError::Validation { field: None, message: e })
}

/// Takes the payload of one variant, or says what was found instead.
macro_rules! expect {
    ($value:expr, $variant:ident) => {
        match $value {
            Value::Null => None,
            Value::$variant(v) => Some(v),
            other => return Err(format!("expected {}, found {}", stringify!($variant), other.kind_name())),
        }
    };
}

fn bind_scalar(args: &mut PgArguments, value: Value, scalar: ScalarType) -> Result<(), String> {
    let added = match scalar {
        ScalarType::Bool => args.add(expect!(value, Bool)),
        ScalarType::SmallInt => args.add(expect!(value, SmallInt)),
        ScalarType::Integer => args.add(expect!(value, Integer)),
        ScalarType::BigInt => args.add(expect!(value, BigInt)),
        ScalarType::Real => args.add(expect!(value, Real)),
        ScalarType::Double => args.add(expect!(value, Double)),
        ScalarType::Text => {
            let text = expect!(value, Text);
            check_text(text.as_deref())?;
            args.add(text)
        }
        ScalarType::Uuid => args.add(expect!(value, Uuid)),
        ScalarType::TimestampTz => args.add(expect!(value, TimestampTz)),
        ScalarType::Timestamp => args.add(expect!(value, Timestamp)),
        ScalarType::Date => args.add(expect!(value, Date)),
        ScalarType::Time => args.add(expect!(value, Time)),
        ScalarType::Decimal => args.add(expect!(value, Decimal)),
        ScalarType::Json => args.add(expect!(value, Json)),
        ScalarType::Bytes => args.add(expect!(value, Bytes)),
    };
    added.map_err(|e| e.to_string())
}

/// PostgreSQL text cannot hold NUL; rejecting it here gives a typed error instead of a protocol one.
fn check_text(text: Option<&str>) -> Result<(), String> {
    match text {
        Some(t) if t.contains('\0') => Err("text contains a NUL byte".to_owned()),
        _ => Ok(()),
    }
}

fn bind_array(args: &mut PgArguments, value: Value, scalar: ScalarType) -> Result<(), String> {
    let items = match value {
        Value::Null => None,
        Value::Array(items) => Some(items),
        other => return Err(format!("expected Array, found {}", other.kind_name())),
    };
    /// Collects the items into `Vec<Option<T>>` of one variant.
    macro_rules! elements {
        ($variant:ident) => {
            items
                .map(|items| {
                    items.into_iter().map(|item| Ok(expect!(item, $variant))).collect::<Result<Vec<_>, String>>()
                })
                .transpose()?
        };
    }
    let added = match scalar {
        ScalarType::Bool => args.add(elements!(Bool)),
        ScalarType::SmallInt => args.add(elements!(SmallInt)),
        ScalarType::Integer => args.add(elements!(Integer)),
        ScalarType::BigInt => args.add(elements!(BigInt)),
        ScalarType::Real => args.add(elements!(Real)),
        ScalarType::Double => args.add(elements!(Double)),
        ScalarType::Text => {
            let texts: Option<Vec<Option<String>>> = elements!(Text);
            for text in texts.iter().flatten() {
                check_text(text.as_deref())?;
            }
            args.add(texts)
        }
        ScalarType::Uuid => args.add(elements!(Uuid)),
        ScalarType::TimestampTz => args.add(elements!(TimestampTz)),
        ScalarType::Timestamp => args.add(elements!(Timestamp)),
        ScalarType::Date => args.add(elements!(Date)),
        ScalarType::Time => args.add(elements!(Time)),
        ScalarType::Decimal => args.add(elements!(Decimal)),
        ScalarType::Json => args.add(elements!(Json)),
        ScalarType::Bytes => args.add(elements!(Bytes)),
    };
    added.map_err(|e| e.to_string())
}

/// Decodes column `index` of `row` as a field of type `T`.
// Inlined into each model's generated `read_row`, where the type tests of `read_native` fold
// away: a call per column was a tenth of the time of reading a large result.
#[inline]
pub(crate) fn read<T: SqlType>(row: &PgRow, index: usize) -> Result<T, String> {
    match read_native::<T>(row, index) {
        Some(direct) => direct.map_err(|e| e.to_string()),
        None => read_value(row, index, T::COLUMN_TYPE)
            .map_err(|e| e.to_string())
            .and_then(|value| T::from_value(value).map_err(|e| e.to_string())),
    }
}

/// Decodes column `index` straight into `T` when `T` is one of the types sqlx decodes natively
/// (and `Option`s and `Vec`s of them); `None` for any other type, which goes through [`Value`].
///
/// The result equals `T::from_value(read_value(..))` for these types, without building a
/// [`Value`] per column (and, for arrays, a second vector): that detour cost a quarter of the
/// time of reading large results. The type tests are on constants, so each instance of this
/// function compiles down to the one decode that applies.
fn read_native<T: SqlType>(row: &PgRow, index: usize) -> Option<Result<T, sqlx::Error>> {
    use std::any::TypeId;
    /// Tries each type as itself, as an `Option`, as a `Vec` and as an `Option<Vec>` (a NULL
    /// element fails the `Vec` decode, as it fails `from_value`).
    macro_rules! native {
        ($($ty:ty),* $(,)?) => {$(
            if TypeId::of::<T>() == TypeId::of::<$ty>() {
                return Some(row.try_get::<$ty, _>(index).map(same_type));
            }
            if TypeId::of::<T>() == TypeId::of::<Option<$ty>>() {
                return Some(row.try_get::<Option<$ty>, _>(index).map(same_type));
            }
            if TypeId::of::<T>() == TypeId::of::<Vec<$ty>>() {
                return Some(row.try_get::<Vec<$ty>, _>(index).map(same_type));
            }
            if TypeId::of::<T>() == TypeId::of::<Option<Vec<$ty>>>() {
                return Some(row.try_get::<Option<Vec<$ty>>, _>(index).map(same_type));
            }
        )*};
    }
    native!(bool, i16, i32, i64, f32, f64, String, Uuid, DateTime<Utc>, NaiveDateTime, NaiveDate, NaiveTime, Decimal);
    None
}

/// `value` as `B`, which the caller has checked is its own type.
fn same_type<A: 'static, B: 'static>(value: A) -> B {
    let mut value = Some(value);
    let slot: &mut dyn std::any::Any = &mut value;
    slot.downcast_mut::<Option<B>>().and_then(Option::take).expect("A and B are the same type")
}

/// Reads column `index` of `row` as a value of type `ty`.
pub(crate) fn read_value(row: &PgRow, index: usize, ty: ColumnType) -> Result<Value, sqlx::Error> {
    /// Decodes `Option<$ty>` and wraps it in `Value::$variant`.
    macro_rules! get {
        ($ty:ty, $variant:ident) => {
            row.try_get::<Option<$ty>, _>(index).map(|v| v.map_or(Value::Null, Value::$variant))
        };
    }
    /// Decodes `Option<Vec<Option<$ty>>>` into `Value::Array`.
    macro_rules! get_array {
        ($ty:ty, $variant:ident) => {
            row.try_get::<Option<Vec<Option<$ty>>>, _>(index).map(|v| {
                v.map_or(Value::Null, |items| {
                    Value::Array(items.into_iter().map(|i| i.map_or(Value::Null, Value::$variant)).collect())
                })
            })
        };
    }
    match ty {
        ColumnType::Scalar(scalar) => match scalar {
            ScalarType::Bool => get!(bool, Bool),
            ScalarType::SmallInt => get!(i16, SmallInt),
            ScalarType::Integer => get!(i32, Integer),
            ScalarType::BigInt => get!(i64, BigInt),
            ScalarType::Real => get!(f32, Real),
            ScalarType::Double => get!(f64, Double),
            ScalarType::Text => get!(String, Text),
            ScalarType::Uuid => get!(Uuid, Uuid),
            ScalarType::TimestampTz => get!(DateTime<Utc>, TimestampTz),
            ScalarType::Timestamp => get!(NaiveDateTime, Timestamp),
            ScalarType::Date => get!(NaiveDate, Date),
            ScalarType::Time => get!(NaiveTime, Time),
            ScalarType::Decimal => get!(Decimal, Decimal),
            ScalarType::Json => get!(serde_json::Value, Json),
            ScalarType::Bytes => get!(Vec<u8>, Bytes),
        },
        ColumnType::Array(scalar) => match scalar {
            ScalarType::Bool => get_array!(bool, Bool),
            ScalarType::SmallInt => get_array!(i16, SmallInt),
            ScalarType::Integer => get_array!(i32, Integer),
            ScalarType::BigInt => get_array!(i64, BigInt),
            ScalarType::Real => get_array!(f32, Real),
            ScalarType::Double => get_array!(f64, Double),
            ScalarType::Text => get_array!(String, Text),
            ScalarType::Uuid => get_array!(Uuid, Uuid),
            ScalarType::TimestampTz => get_array!(DateTime<Utc>, TimestampTz),
            ScalarType::Timestamp => get_array!(NaiveDateTime, Timestamp),
            ScalarType::Date => get_array!(NaiveDate, Date),
            ScalarType::Time => get_array!(NaiveTime, Time),
            ScalarType::Decimal => get_array!(Decimal, Decimal),
            ScalarType::Json => get_array!(serde_json::Value, Json),
            ScalarType::Bytes => get_array!(Vec<u8>, Bytes),
        },
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests;

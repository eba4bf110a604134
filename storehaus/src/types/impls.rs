//! `SqlType` for the standard types.

use super::json::check_json;
use super::{ArrayElement, ColumnType, IntRange, ScalarType, SqlType, Value, ValueError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A scalar stored as exactly one `Value` variant, usable as an array element.
macro_rules! scalar {
    ($($ty:ty => $scalar:ident, $variant:ident;)*) => {$(
        impl SqlType for $ty {
            const COLUMN_TYPE: ColumnType = ColumnType::Scalar(ScalarType::$scalar);

            fn to_value(&self) -> Result<Value, ValueError> {
                Ok(Value::$variant(self.clone()))
            }

            fn from_value(value: Value) -> Result<Self, ValueError> {
                match value {
                    Value::$variant(v) => Ok(v),
                    other => Err(ValueError::unexpected(stringify!($variant), &other)),
                }
            }
        }

        impl ArrayElement for $ty {}
    )*};
}

scalar! {
    bool => Bool, Bool;
    i16 => SmallInt, SmallInt;
    i32 => Integer, Integer;
    i64 => BigInt, BigInt;
    f32 => Real, Real;
    f64 => Double, Double;
    String => Text, Text;
    Uuid => Uuid, Uuid;
    DateTime<Utc> => TimestampTz, TimestampTz;
    NaiveDateTime => Timestamp, Timestamp;
    NaiveDate => Date, Date;
    NaiveTime => Time, Time;
    Decimal => Decimal, Decimal;
}

impl SqlType for serde_json::Value {
    const COLUMN_TYPE: ColumnType = ColumnType::Scalar(ScalarType::Json);

    fn to_value(&self) -> Result<Value, ValueError> {
        // Checked before the clone: cloning, encoding and dropping JSON all recurse, so a value
        // too deep is refused here, where looking at it costs no stack.
        check_json(self)?;
        Ok(Value::Json(self.clone()))
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Json(v) => Ok(v),
            other => Err(ValueError::unexpected("Json", &other)),
        }
    }
}

impl ArrayElement for serde_json::Value {}

/// Integers without a column type of their own, stored in the next wider signed column and
/// carrying their range, which the column does not keep.
macro_rules! widened {
    ($($ty:ty => $wide:ty;)*) => {$(
        impl SqlType for $ty {
            const COLUMN_TYPE: ColumnType = <$wide as SqlType>::COLUMN_TYPE;
            const INT_RANGE: Option<IntRange> = Some(IntRange::new(<$ty>::MIN as i64, <$ty>::MAX as i64));

            fn to_value(&self) -> Result<Value, ValueError> {
                <$wide>::from(*self).to_value()
            }

            fn from_value(value: Value) -> Result<Self, ValueError> {
                let wide = <$wide>::from_value(value)?;
                <$ty>::try_from(wide).map_err(|_| {
                    ValueError::new(format!("{wide} is out of range for {}", stringify!($ty)))
                })
            }
        }
    )*};
}

widened! {
    i8 => i16;
    u8 => i16;
    u16 => i32;
    u32 => i64;
}

// `u8` is no array element: `Vec<u8>` is a byte string.
impl ArrayElement for i8 {}
impl ArrayElement for u16 {}
impl ArrayElement for u32 {}

impl SqlType for Vec<u8> {
    const COLUMN_TYPE: ColumnType = ColumnType::Scalar(ScalarType::Bytes);

    fn to_value(&self) -> Result<Value, ValueError> {
        Ok(Value::Bytes(self.clone()))
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Bytes(v) => Ok(v),
            other => Err(ValueError::unexpected("Bytes", &other)),
        }
    }
}

impl<T: ArrayElement> SqlType for Vec<T> {
    const COLUMN_TYPE: ColumnType = ColumnType::Array(T::COLUMN_TYPE.scalar());
    const INT_RANGE: Option<IntRange> = T::INT_RANGE;

    fn to_value(&self) -> Result<Value, ValueError> {
        self.iter().map(SqlType::to_value).collect::<Result<_, _>>().map(Value::Array)
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Array(items) => items.into_iter().map(T::from_value).collect(),
            other => Err(ValueError::unexpected("Array", &other)),
        }
    }
}

impl<T: SqlType> SqlType for Option<T> {
    const COLUMN_TYPE: ColumnType = T::COLUMN_TYPE;
    const NULLABLE: bool = true;
    const INT_RANGE: Option<IntRange> = T::INT_RANGE;

    fn to_value(&self) -> Result<Value, ValueError> {
        match self {
            Some(v) => v.to_value(),
            None => Ok(Value::Null),
        }
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests;

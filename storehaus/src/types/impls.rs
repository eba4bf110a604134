//! `SqlType` for the standard types.

use super::json::check_json;
use super::{ArrayElement, ColumnType, ScalarType, SqlType, Value, ValueError};
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

/// Integers without a column type of their own, stored in the next wider signed column.
macro_rules! widened {
    ($($ty:ty => $wide:ty;)*) => {$(
        impl SqlType for $ty {
            const COLUMN_TYPE: ColumnType = <$wide as SqlType>::COLUMN_TYPE;

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

        impl ArrayElement for $ty {}
    )*};
}

widened! {
    i8 => i16;
    u16 => i32;
    u32 => i64;
}

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
mod tests {
    use super::*;

    fn round_trip<T: SqlType + PartialEq + std::fmt::Debug>(v: T) {
        assert_eq!(T::from_value(v.to_value().expect("encodes")).expect("decodes"), v);
    }

    #[test]
    fn scalars_round_trip() {
        round_trip(true);
        round_trip(7_i8);
        round_trip(-3_i16);
        round_trip(42_i32);
        round_trip(u32::MAX);
        round_trip(1.5_f64);
        round_trip("x".to_string());
        round_trip(Uuid::nil());
        round_trip(Decimal::new(12345, 2));
        round_trip(serde_json::json!({"a": [1, 2]}));
        round_trip(vec![1_u8, 2, 3]);
        round_trip(vec!["a".to_string(), "b".to_string()]);
        round_trip(Some(5_i64));
        round_trip(None::<String>);
    }

    #[test]
    fn json_with_a_nul_character_is_refused_when_encoded() {
        use serde_json::json;
        for bad in [json!("a\u{0}"), json!({"k\u{0}": 1}), json!([{"k": ["x", "\u{0}"]}])] {
            let err = bad.to_value().unwrap_err();
            assert!(err.to_string().contains("NUL"), "{bad}: {err}");
            assert!(Some(bad.clone()).to_value().is_err() && vec![bad.clone()].to_value().is_err(), "{bad}");
            assert!(super::super::Json(bad).to_value().is_err());
        }
        round_trip(json!({"k": ["\\0", "é", "\u{1}"]}));
    }

    #[test]
    fn mapping_is_decided_by_the_type() {
        assert_eq!(Vec::<u8>::COLUMN_TYPE, ColumnType::Scalar(ScalarType::Bytes));
        assert_eq!(Vec::<i32>::COLUMN_TYPE, ColumnType::Array(ScalarType::Integer));
        assert_eq!(Option::<Vec<String>>::COLUMN_TYPE, ColumnType::Array(ScalarType::Text));
        const { assert!(Option::<i32>::NULLABLE && !i32::NULLABLE) };
        assert_eq!(u32::COLUMN_TYPE, ColumnType::Scalar(ScalarType::BigInt));
    }

    #[test]
    fn out_of_range_and_wrong_kind_are_errors() {
        assert!(u16::from_value(Value::Integer(-1)).is_err());
        assert!(i32::from_value(Value::Text("1".into())).is_err());
        assert!(String::from_value(Value::Null).is_err());
    }
}

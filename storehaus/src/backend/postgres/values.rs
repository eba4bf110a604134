//! Binding [`Value`]s as PostgreSQL parameters and reading them back from rows.

use crate::error::StoreError;
use crate::model::RowReader;
use crate::types::{ColumnType, ScalarType, SqlType, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Arguments, Row};
use uuid::Uuid;

/// Adds `value` to `args` as a parameter of type `ty`; `NULL` is bound with that type too, so
/// PostgreSQL never has to guess a parameter's type.
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
        ScalarType::Text => args.add(check_text(expect!(value, Text))?),
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
fn check_text(text: Option<String>) -> Result<Option<String>, String> {
    match text {
        Some(t) if t.contains('\0') => Err("text contains a NUL byte".to_owned()),
        t => Ok(t),
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
                check_text(text.clone())?;
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

/// Reads a row's columns in order; generated `Model::read_row` drives it.
#[derive(Debug)]
pub(crate) struct PgRowReader<'r> {
    row: &'r PgRow,
    index: usize,
}

impl<'r> PgRowReader<'r> {
    /// A reader positioned at column `start` of `row`.
    pub(crate) fn new(row: &'r PgRow, start: usize) -> Self {
        PgRowReader { row, index: start }
    }
}

impl RowReader for PgRowReader<'_> {
    fn read<T: SqlType>(&mut self) -> Result<T, StoreError> {
        let index = self.index;
        self.index += 1;
        let column = || self.row.columns().get(index).map(|c| sqlx::Column::name(c).to_owned()).unwrap_or_default();
        let value = read_value(self.row, index, T::COLUMN_TYPE)
            .map_err(|e| StoreError::Decode { column: column(), message: e.to_string() })?;
        T::from_value(value).map_err(|e| StoreError::Decode { column: column(), message: e.to_string() })
    }
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
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::types::fixtures::each_type;
    use sqlx::Executor;

    #[tokio::test]
    async fn every_type_round_trips_through_postgres() {
        let Some(db) = TestDatabase::new().await else { return };
        let pool = db.pool().await;
        let pool = pool.as_postgres().unwrap();
        for (ty, value) in each_type() {
            let sql = format!("SELECT $1::{}", super::super::types::type_name(ty));
            let mut args = PgArguments::default();
            bind(&mut args, value.clone(), ty).unwrap();
            let row = pool.fetch_one(sqlx::query_with(&sql, args)).await.unwrap();
            assert_eq!(read_value(&row, 0, ty).unwrap(), value, "{ty}");
        }
    }

    #[tokio::test]
    async fn row_reader_decodes_by_position_and_names_bad_columns() {
        let Some(db) = TestDatabase::new().await else { return };
        let pool = db.pool().await;
        let pool = pool.as_postgres().unwrap();
        let sql =
            "SELECT 'ada'::text AS name, 36::int4 AS age, NULL::text AS nick, ARRAY['a','b'] AS tags, 'x'::text AS bad";
        let row = pool.fetch_one(sqlx::query(sql)).await.unwrap();
        let mut reader = PgRowReader::new(&row, 0);
        assert_eq!(reader.read::<String>().unwrap(), "ada");
        assert_eq!(reader.read::<u16>().unwrap(), 36);
        assert_eq!(reader.read::<Option<String>>().unwrap(), None);
        assert_eq!(reader.read::<Vec<String>>().unwrap(), ["a", "b"]);
        let err = reader.read::<i32>().unwrap_err();
        assert!(matches!(&err, StoreError::Decode { column, .. } if column == "bad"), "{err}");
        let err = PgRowReader::new(&row, 2).read::<String>().unwrap_err();
        assert!(matches!(&err, StoreError::Decode { column, .. } if column == "nick"), "{err}");
    }

    #[tokio::test]
    async fn nul_bytes_and_mismatched_values_are_rejected_before_the_database() {
        let mut args = PgArguments::default();
        let err = bind(&mut args, Value::Text("a\0b".into()), ColumnType::Scalar(ScalarType::Text)).unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err}");
        let err = bind(&mut args, Value::Array(vec![Value::Text("\0".into())]), ColumnType::Array(ScalarType::Text));
        assert!(err.is_err());
        let err = bind(&mut args, Value::Text("5".into()), ColumnType::Scalar(ScalarType::Integer)).unwrap_err();
        assert!(err.to_string().contains("expected Integer, found text"), "{err}");
    }
}

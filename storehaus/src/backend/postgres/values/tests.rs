use super::*;
use crate::backend::executor::RowReader;
use crate::backend::postgres::Postgres;
use crate::model::RowReader as _;
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
        let row = pool.fetch_one(sqlx::query_with(sqlx::AssertSqlSafe(&*sql), args)).await.unwrap();
        assert_eq!(read_value(&row, 0, ty).unwrap(), value, "{ty}");
    }
}

/// The direct decode of [`read_native`] gives what the general path gives, values, NULLs,
/// arrays (a NULL element included) and errors alike.
#[tokio::test]
async fn native_decodes_agree_with_the_value_path() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = db.pool().await;
    let pool = pool.as_postgres().unwrap();
    let sql = "SELECT true, 7::int2, 70000::int4, 9000000000::int8, 1.5::float4, 'NaN'::float8, 'añ'::text,
                      '6f1c8a52-3a0e-4f6e-9d0b-2f1b5c1e7a10'::uuid, '2024-02-29 23:59:59.123456+00'::timestamptz,
                      '2024-02-29 01:02:03'::timestamp, '2024-02-29'::date, '01:02:03.5'::time, 12.50::numeric,
                      NULL::text, ARRAY[1, 2]::int4[], ARRAY['a', NULL]::text[], ARRAY[]::uuid[], NULL::int8[]";
    let row = pool.fetch_one(sqlx::query(sql)).await.unwrap();
    fn both<T: SqlType + PartialEq + std::fmt::Debug>(row: &PgRow, index: usize) {
        let native = read_native::<T>(row, index).expect("a native type").map_err(|e| e.to_string());
        let general = read_value(row, index, T::COLUMN_TYPE)
            .map_err(|e| e.to_string())
            .and_then(|v| T::from_value(v).map_err(|e| e.to_string()));
        match (&native, &general) {
            (Ok(a), Ok(b)) => {
                assert!(a == b || format!("{a:?}") == format!("{b:?}"), "column {index}: {a:?} != {b:?}")
            }
            (Err(_), Err(_)) => {}
            _ => panic!("column {index} as {}: {native:?} vs {general:?}", std::any::type_name::<T>()),
        }
    }
    macro_rules! check {
        ($($index:literal: $($ty:ty),+;)*) => {$($( both::<$ty>(&row, $index); )+)*};
    }
    check! {
        0: bool, Option<bool>;
        1: i16, Option<i16>;
        2: i32, Option<i32>;
        3: i64, Option<i64>;
        4: f32;
        5: f64, Option<f64>;
        6: String, Option<String>;
        7: Uuid;
        8: DateTime<Utc>;
        9: NaiveDateTime;
        10: NaiveDate;
        11: NaiveTime;
        12: Decimal;
        13: String, Option<String>;
        14: Vec<i32>, Option<Vec<i32>>;
        15: Vec<String>, Option<Vec<String>>;
        16: Vec<Uuid>;
        17: Vec<i64>, Option<Vec<i64>>;
    }
    assert!(read_native::<Vec<u8>>(&row, 6).is_none(), "bytes take the general path");
    assert!(read_native::<serde_json::Value>(&row, 6).is_none(), "JSON takes the general path");
}

#[tokio::test]
async fn row_reader_decodes_by_position_and_names_bad_columns() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = db.pool().await;
    let pool = pool.as_postgres().unwrap();
    let sql =
        "SELECT 'ada'::text AS name, 36::int4 AS age, NULL::text AS nick, ARRAY['a','b'] AS tags, 'x'::text AS bad";
    let row = pool.fetch_one(sqlx::query(sql)).await.unwrap();
    let mut reader = RowReader::<Postgres>::at(&row, 0);
    assert_eq!(reader.read::<String>().unwrap(), "ada");
    assert_eq!(reader.read::<u16>().unwrap(), 36);
    assert_eq!(reader.read::<Option<String>>().unwrap(), None);
    assert_eq!(reader.read::<Vec<String>>().unwrap(), ["a", "b"]);
    let err = reader.read::<i32>().unwrap_err();
    assert!(matches!(&err, StoreError::Decode { column, .. } if column == "bad"), "{err}");
    let err = RowReader::<Postgres>::at(&row, 2).read::<String>().unwrap_err();
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

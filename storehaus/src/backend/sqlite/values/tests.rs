use super::*;
use crate::backend::executor::RowReader;
use crate::backend::sqlite::Sqlite;
use crate::error::StoreError;
use crate::model::RowReader as _;
use crate::types::ColumnType;
use crate::types::fixtures::each_type;
use sqlx::SqlitePool;
use uuid::Uuid;

async fn memory() -> SqlitePool {
    SqlitePool::connect("sqlite::memory:").await.unwrap()
}

#[tokio::test]
async fn every_type_round_trips_through_sqlite() {
    let pool = memory().await;
    for (ty, value) in each_type() {
        let mut args = SqliteArguments::default();
        bind(&mut args, value.clone(), ty).unwrap();
        let row = sqlx::query_with("SELECT ?", args).fetch_one(&pool).await.unwrap();
        assert_eq!(read_value(&row, 0, ty).unwrap(), value, "{ty}");
    }
}

#[tokio::test]
async fn stored_text_orders_like_the_values() {
    let pool = memory().await;
    let early = DateTime::parse_from_rfc3339("2024-01-01T00:00:00.5Z").unwrap().with_timezone(&Utc);
    let late = DateTime::parse_from_rfc3339("2024-01-01T00:00:00.123456Z").unwrap().with_timezone(&Utc);
    let (mut args, ty) = (SqliteArguments::default(), ColumnType::Scalar(ScalarType::TimestampTz));
    bind(&mut args, Value::TimestampTz(early), ty).unwrap();
    bind(&mut args, Value::TimestampTz(late), ty).unwrap();
    let row = sqlx::query_with("SELECT ? > ?", args).fetch_one(&pool).await.unwrap();
    assert!(row.get::<bool, _>(0), "0.5 s sorts after 0.123456 s");
}

#[test]
fn equal_decimals_are_equal_text() {
    let ty = ColumnType::Scalar(ScalarType::Decimal);
    let a = encode(Value::Decimal(Decimal::new(150, 2)), ty).unwrap();
    let b = encode(Value::Decimal(Decimal::new(15, 1)), ty).unwrap();
    assert_eq!(a, b);
}

#[test]
fn nul_bytes_and_mismatched_values_are_rejected_before_the_database() {
    let mut args = SqliteArguments::default();
    let err = bind(&mut args, Value::Text("a\0b".into()), ColumnType::Scalar(ScalarType::Text)).unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err}");
    assert!(
        bind(&mut args, Value::Array(vec![Value::Text("\0".into())]), ColumnType::Array(ScalarType::Text)).is_err()
    );
    let err = bind(&mut args, Value::Text("5".into()), ColumnType::Scalar(ScalarType::Integer)).unwrap_err();
    assert!(err.to_string().contains("expected Integer, found text"), "{err}");
}

#[tokio::test]
async fn row_reader_decodes_by_position_and_names_bad_columns() {
    let pool = memory().await;
    let sql = "SELECT 'ada' AS name, 36 AS age, NULL AS nick, '[\"a\",\"b\"]' AS tags, 'x' AS bad";
    let row = sqlx::query(sql).fetch_one(&pool).await.unwrap();
    let mut reader = RowReader::<Sqlite>::at(&row, 0);
    assert_eq!(reader.read::<String>().unwrap(), "ada");
    assert_eq!(reader.read::<u16>().unwrap(), 36);
    assert_eq!(reader.read::<Option<String>>().unwrap(), None);
    assert_eq!(reader.read::<Vec<String>>().unwrap(), ["a", "b"]);
    let err = reader.read::<Uuid>().unwrap_err();
    assert!(matches!(&err, StoreError::Decode { column, .. } if column == "bad"), "{err}");
}

#[tokio::test]
async fn non_finite_floats_and_json_nulls_keep_their_identity() {
    let pool = memory().await;
    let cases = [
        (ColumnType::Scalar(ScalarType::Double), Value::Double(f64::INFINITY)),
        (ColumnType::Scalar(ScalarType::Real), Value::Real(f32::NEG_INFINITY)),
        (
            ColumnType::Array(ScalarType::Double),
            Value::Array(vec![Value::Double(f64::INFINITY), Value::Double(-0.5), Value::Null]),
        ),
        (
            ColumnType::Array(ScalarType::Json),
            Value::Array(vec![Value::Json(serde_json::Value::Null), Value::Null, Value::Json(serde_json::json!([1]))]),
        ),
        (ColumnType::Scalar(ScalarType::Json), Value::Json(serde_json::Value::Null)),
    ];
    for (ty, value) in cases {
        let mut args = SqliteArguments::default();
        bind(&mut args, value.clone(), ty).unwrap();
        let row = sqlx::query_with("SELECT ?", args).fetch_one(&pool).await.unwrap();
        assert_eq!(read_value(&row, 0, ty).unwrap(), value, "{ty}");
    }
    for ty in [ColumnType::Scalar(ScalarType::Double), ColumnType::Array(ScalarType::Double)] {
        let nan = match ty {
            ColumnType::Scalar(_) => Value::Double(f64::NAN),
            ColumnType::Array(_) => Value::Array(vec![Value::Double(f64::NAN)]),
        };
        let mut args = SqliteArguments::default();
        bind(&mut args, nan, ty).unwrap();
        let row = sqlx::query_with("SELECT ?", args).fetch_one(&pool).await.unwrap();
        let back = match read_value(&row, 0, ty).unwrap() {
            Value::Array(mut items) => items.remove(0),
            other => other,
        };
        assert!(matches!(back, Value::Double(v) if v.is_nan()), "{ty}: {back:?}");
    }
}

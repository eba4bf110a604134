//! Test values: one of every column type, shared by the backends' round-trip tests.

use super::{ColumnType, ScalarType, Value};
use chrono::{DateTime, Utc};

/// A `NULL`, a two-element array (one `NULL`) and a plain value of every scalar type.
pub(crate) fn each_type() -> Vec<(ColumnType, Value)> {
    use ScalarType::*;
    let ts = DateTime::parse_from_rfc3339("2024-02-29T12:34:56.789012Z").unwrap().with_timezone(&Utc);
    let scalars = vec![
        (Bool, Value::Bool(true)),
        (SmallInt, Value::SmallInt(-7)),
        (Integer, Value::Integer(1 << 30)),
        (BigInt, Value::BigInt(i64::MIN)),
        (Real, Value::Real(1.5)),
        (Double, Value::Double(-2.25e300)),
        (Text, Value::Text("1b4e28ba-2fa1-11d2-883f-0016d3cca427".into())),
        (Uuid, Value::Uuid(uuid::Uuid::new_v4())),
        (TimestampTz, Value::TimestampTz(ts)),
        (Timestamp, Value::Timestamp(ts.naive_utc())),
        (Date, Value::Date(ts.date_naive())),
        (Time, Value::Time(ts.time())),
        (Decimal, Value::Decimal(rust_decimal::Decimal::new(-123_456_789, 4))),
        (Json, Value::Json(serde_json::json!({"nested": {"list": [1, "two", null]}}))),
        (Bytes, Value::Bytes(vec![0, 159, 255])),
    ];
    let mut all = Vec::new();
    for (scalar, value) in scalars {
        all.push((ColumnType::Scalar(scalar), Value::Null));
        all.push((ColumnType::Array(scalar), Value::Array(vec![value.clone(), Value::Null])));
        all.push((ColumnType::Scalar(scalar), value));
    }
    all
}

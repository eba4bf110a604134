use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use super::key_text::KeyEquality::{self, Postgres, Sqlite};
use crate::types::{ColumnType, ScalarType, Value};

const BOTH: [KeyEquality; 2] = [Postgres, Sqlite];

fn text(eq: KeyEquality, value: Value) -> Option<String> {
    let ty = match &value {
        Value::Array(items) => {
            ColumnType::Array(scalar_of(items.iter().find(|v| !v.is_null()).unwrap_or(&Value::Null)))
        }
        value => ColumnType::Scalar(scalar_of(value)),
    };
    eq.key_text(value, ty)
}

fn scalar_of(value: &Value) -> ScalarType {
    match value {
        Value::Bool(_) => ScalarType::Bool,
        Value::SmallInt(_) => ScalarType::SmallInt,
        Value::Integer(_) => ScalarType::Integer,
        Value::BigInt(_) => ScalarType::BigInt,
        Value::Real(_) => ScalarType::Real,
        Value::Double(_) => ScalarType::Double,
        Value::Uuid(_) => ScalarType::Uuid,
        Value::TimestampTz(_) => ScalarType::TimestampTz,
        Value::Timestamp(_) => ScalarType::Timestamp,
        Value::Date(_) => ScalarType::Date,
        Value::Time(_) => ScalarType::Time,
        Value::Decimal(_) => ScalarType::Decimal,
        Value::Json(_) => ScalarType::Json,
        Value::Bytes(_) => ScalarType::Bytes,
        Value::Text(_) | Value::Null | Value::Array(_) => ScalarType::Text,
    }
}

/// Asserts that `a` and `b` share a text on `eq` exactly when `same`.
fn check(eq: KeyEquality, a: Value, b: Value, same: bool) {
    let (ta, tb) = (text(eq, a.clone()), text(eq, b.clone()));
    assert!(ta.is_some() && tb.is_some(), "{eq:?}: {a:?} or {b:?} has no text");
    assert_eq!(ta == tb, same, "{eq:?}: {a:?} -> {ta:?}, {b:?} -> {tb:?}");
}

fn dec(text: &str) -> Value {
    Value::Decimal(Decimal::from_str(text).unwrap())
}

fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, nanos).unwrap()
}

#[test]
fn equal_numbers_share_a_text() {
    for eq in BOTH {
        check(eq, dec("1.0"), dec("1.00"), true);
        check(eq, dec("1"), dec("1.000"), true);
        check(eq, dec("-0.0"), dec("0"), true);
        check(eq, dec("1.0"), dec("1.01"), false);
        check(eq, Value::Double(0.0), Value::Double(-0.0), true);
        check(eq, Value::Double(f64::NAN), Value::Double(-f64::NAN), true);
        check(eq, Value::Double(f64::INFINITY), Value::Double(f64::NEG_INFINITY), false);
        check(eq, Value::Double(0.1), Value::Double(0.1 + f64::EPSILON), false);
        check(eq, Value::Real(0.0), Value::Real(-0.0), true);
        check(eq, Value::Real(f32::NAN), Value::Real(f32::NAN), true);
        check(eq, Value::Real(1.5), Value::Real(1.5000001), false);
        check(eq, Value::SmallInt(-1), Value::SmallInt(1), false);
        check(eq, Value::Integer(7), Value::Integer(7), true);
        check(eq, Value::BigInt(i64::MIN), Value::BigInt(i64::MAX), false);
        check(eq, Value::Bool(true), Value::Bool(false), false);
    }
}

#[test]
fn times_below_the_stored_microsecond_share_a_text() {
    for eq in BOTH {
        check(eq, Value::TimestampTz(at(1_700_000_000, 1_000)), Value::TimestampTz(at(1_700_000_000, 1_999)), true);
        check(eq, Value::TimestampTz(at(1_700_000_000, 1_000)), Value::TimestampTz(at(1_700_000_000, 2_000)), false);
        let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let local = |nanos| Value::Timestamp(day.and_time(NaiveTime::from_hms_nano_opt(1, 2, 3, nanos).unwrap()));
        check(eq, local(5_000), local(5_999), true);
        check(eq, local(5_000), local(6_000), false);
        let time = |nanos| Value::Time(NaiveTime::from_hms_nano_opt(23, 59, 59, nanos).unwrap());
        check(eq, time(1), time(999), true);
        check(eq, time(999), time(1_000), false);
        check(eq, Value::Date(day), Value::Date(day.succ_opt().unwrap()), false);
    }
}

#[test]
fn postgres_truncates_times_toward_its_epoch() {
    // Before 2000-01-01 the driver truncates toward it (up), SQLite's text floors.
    let (a, up, down) = (at(-1, 999_999_500), at(0, 0), at(-1, 999_999_000));
    check(Postgres, Value::TimestampTz(a), Value::TimestampTz(up), true);
    check(Postgres, Value::TimestampTz(a), Value::TimestampTz(down), false);
    check(Sqlite, Value::TimestampTz(a), Value::TimestampTz(down), true);
    check(Sqlite, Value::TimestampTz(a), Value::TimestampTz(up), false);
}

#[test]
fn json_follows_each_database() {
    let a = Value::Json(json!({"a": 1.0, "b": [1, "x", null], "c": {"d": 1e2}}));
    let b = Value::Json(json!({"c": {"d": 100}, "b": [1.00, "x", null], "a": 1}));
    check(Postgres, a.clone(), b.clone(), true);
    check(Sqlite, a.clone(), b, false);
    check(Postgres, Value::Json(json!(0.0)), Value::Json(json!(-0.0)), true);
    check(Postgres, Value::Json(json!(1)), Value::Json(json!("1")), false);
    check(Postgres, Value::Json(json!([1, 2])), Value::Json(json!([2, 1])), false);
    check(Postgres, Value::Json(json!(12.5)), Value::Json(json!(1.25)), false);
    for eq in BOTH {
        check(eq, a.clone(), a.clone(), true);
    }
}

#[test]
fn other_scalars_and_arrays() {
    for eq in BOTH {
        let id = Uuid::new_v4();
        check(eq, Value::Uuid(id), Value::Uuid(id), true);
        check(eq, Value::Uuid(id), Value::Uuid(Uuid::new_v4()), false);
        check(eq, Value::Text("a".into()), Value::Text("A".into()), false);
        check(eq, Value::Bytes(vec![0, 1]), Value::Bytes(vec![1]), false);
        check(eq, Value::Array(vec![dec("1.0"), Value::Null]), Value::Array(vec![dec("1.00"), Value::Null]), true);
        check(eq, Value::Array(vec![dec("1"), Value::Null]), Value::Array(vec![Value::Null, dec("1")]), false);
        check(
            eq,
            Value::Array(vec![Value::Text("a,b".into())]),
            Value::Array(vec![Value::Text("a".into()), Value::Text("b".into())]),
            false,
        );
        // What names no row, or what the database refuses, has no text: it skips the cache.
        assert_eq!(text(eq, Value::Null), None);
        assert_eq!(text(eq, Value::Text("a\0b".into())), None);
    }
}

use super::*;
use serde_json::json;

fn scalar(scalar: ScalarType, json: Json) -> Result<Value, String> {
    value_from_json(&json, ColumnType::Scalar(scalar))
}

fn ok(s: ScalarType, json: Json) -> Value {
    scalar(s, json.clone()).unwrap_or_else(|e| panic!("{s:?} {json}: {e}"))
}

fn err(s: ScalarType, json: Json) -> String {
    scalar(s, json.clone()).expect_err(&format!("{s:?} accepted {json}"))
}

#[test]
fn null_is_null_for_every_type() {
    use ScalarType as S;
    let all = [
        S::Bool,
        S::SmallInt,
        S::Integer,
        S::BigInt,
        S::Real,
        S::Double,
        S::Text,
        S::Uuid,
        S::TimestampTz,
        S::Timestamp,
        S::Date,
        S::Time,
        S::Decimal,
        S::Json,
        S::Bytes,
    ];
    for s in all {
        assert_eq!(ok(s, Json::Null), Value::Null);
        assert_eq!(value_from_json(&Json::Null, ColumnType::Array(s)), Ok(Value::Null));
    }
}

#[test]
fn text_takes_strings_only_and_keeps_them_text() {
    let uuid_like = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    assert_eq!(ok(ScalarType::Text, json!(uuid_like)), Value::Text(uuid_like.into()));
    assert_eq!(ok(ScalarType::Text, json!("42")), Value::Text("42".into()));
    assert_eq!(ok(ScalarType::Text, json!("")), Value::Text(String::new()));
    assert_eq!(ok(ScalarType::Text, json!("Grüße ✓")), Value::Text("Grüße ✓".into()));
    for bad in [json!(42), json!(true), json!(["a"]), json!({"a": 1})] {
        assert!(err(ScalarType::Text, bad).contains("expected a string"));
    }
    assert!(err(ScalarType::Text, json!("a\0b")).contains("NUL"));
}

#[test]
fn integers_are_range_checked_and_never_truncated() {
    assert_eq!(ok(ScalarType::SmallInt, json!(-32768)), Value::SmallInt(i16::MIN));
    assert!(err(ScalarType::SmallInt, json!(32768)).contains("out of range"));
    assert_eq!(ok(ScalarType::Integer, json!(i32::MAX)), Value::Integer(i32::MAX));
    assert!(err(ScalarType::Integer, json!(i64::from(i32::MAX) + 1)).contains("out of range"));
    assert!(err(ScalarType::Integer, json!(i64::from(i32::MIN) - 1)).contains("out of range"));
    assert_eq!(ok(ScalarType::BigInt, json!(i64::MIN)), Value::BigInt(i64::MIN));
    assert!(err(ScalarType::BigInt, json!(u64::MAX)).contains("out of range"));
    for float in [json!(1.5), json!(5.0), json!(-0.1)] {
        assert!(err(ScalarType::Integer, float).contains("expected an integer"));
    }
    for bad in [json!("5"), json!(true), json!([5])] {
        assert!(err(ScalarType::BigInt, bad).contains("expected an integer"));
    }
}

#[test]
fn floats_take_numbers() {
    assert_eq!(ok(ScalarType::Double, json!(1.25)), Value::Double(1.25));
    assert_eq!(ok(ScalarType::Double, json!(3)), Value::Double(3.0));
    assert_eq!(ok(ScalarType::Real, json!(0.5)), Value::Real(0.5));
    assert!(err(ScalarType::Real, json!(1e300)).contains("out of range"));
    assert!(err(ScalarType::Double, json!("1.5")).contains("expected a number"));
}

#[test]
fn decimals_take_numbers_and_numeric_strings() {
    let d = |s: &str| Value::Decimal(Decimal::from_str(s).unwrap());
    assert_eq!(ok(ScalarType::Decimal, json!(12.34)), d("12.34"));
    assert_eq!(ok(ScalarType::Decimal, json!(7)), d("7"));
    assert_eq!(ok(ScalarType::Decimal, json!("-0.000001")), d("-0.000001"));
    assert_eq!(ok(ScalarType::Decimal, json!("1.5e3")), d("1500"));
    assert!(err(ScalarType::Decimal, json!("twelve")).contains("invalid decimal"));
    assert!(err(ScalarType::Decimal, json!(true)).contains("expected a number or a numeric string"));
}

#[test]
fn bools_take_bools_only() {
    assert_eq!(ok(ScalarType::Bool, json!(false)), Value::Bool(false));
    assert!(err(ScalarType::Bool, json!(1)).contains("expected a boolean"));
    assert!(err(ScalarType::Bool, json!("true")).contains("expected a boolean"));
}

#[test]
fn uuids_take_uuid_strings() {
    let id = Uuid::new_v4();
    assert_eq!(ok(ScalarType::Uuid, json!(id.to_string())), Value::Uuid(id));
    assert_eq!(ok(ScalarType::Uuid, json!(id.simple().to_string())), Value::Uuid(id));
    assert!(err(ScalarType::Uuid, json!("not-a-uuid")).contains("invalid UUID"));
    assert!(err(ScalarType::Uuid, json!(7)).contains("expected a UUID string"));
}

#[test]
fn times_take_their_text_forms() {
    let tz = ok(ScalarType::TimestampTz, json!("2024-02-29T12:34:56.789+02:00"));
    let expected = DateTime::parse_from_rfc3339("2024-02-29T10:34:56.789Z").unwrap().with_timezone(&Utc);
    assert_eq!(tz, Value::TimestampTz(expected));
    assert!(err(ScalarType::TimestampTz, json!("2024-02-29 12:34:56")).contains("RFC 3339"));
    assert!(err(ScalarType::TimestampTz, json!(1_700_000_000)).contains("expected an RFC 3339 string"));

    let naive = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().and_hms_micro_opt(1, 2, 3, 456_000).unwrap();
    assert_eq!(ok(ScalarType::Timestamp, json!("2024-02-29T01:02:03.456")), Value::Timestamp(naive));
    assert_eq!(
        ok(ScalarType::Timestamp, json!("2024-02-29T01:02:03")),
        Value::Timestamp(naive.with_nanosecond(0).unwrap())
    );
    assert!(err(ScalarType::Timestamp, json!("2024-02-29T01:02:03Z")).contains("invalid timestamp"));

    assert_eq!(ok(ScalarType::Date, json!("2024-02-29")), Value::Date(naive.date()));
    assert!(err(ScalarType::Date, json!("2023-02-29")).contains("invalid date"));

    let time = NaiveTime::from_hms_milli_opt(23, 59, 58, 500).unwrap();
    assert_eq!(ok(ScalarType::Time, json!("23:59:58.5")), Value::Time(time));
    assert!(err(ScalarType::Time, json!("25:00:00")).contains("invalid time"));
}

use chrono::Timelike;

#[test]
fn json_columns_take_any_json_without_nul() {
    let doc = json!({"a": [1, "two", null, {"b": false}]});
    assert_eq!(ok(ScalarType::Json, doc.clone()), Value::Json(doc));
    assert_eq!(ok(ScalarType::Json, json!("text")), Value::Json(json!("text")));
    assert!(err(ScalarType::Json, json!({"a": ["x\0"]})).contains("NUL"));
    assert!(err(ScalarType::Json, json!({"k\0": 1})).contains("NUL"));
}

#[test]
fn bytes_take_arrays_of_byte_values() {
    assert_eq!(ok(ScalarType::Bytes, json!([0, 127, 255])), Value::Bytes(vec![0, 127, 255]));
    assert_eq!(ok(ScalarType::Bytes, json!([])), Value::Bytes(vec![]));
    assert!(err(ScalarType::Bytes, json!([256])).contains("expected a byte"));
    assert!(err(ScalarType::Bytes, json!([-1])).contains("expected a byte"));
    assert!(err(ScalarType::Bytes, json!("AAEC")).contains("expected an array of byte values"));
}

#[test]
fn arrays_convert_element_by_element() {
    let ints = ColumnType::Array(ScalarType::Integer);
    assert_eq!(value_from_json(&json!([1, 2]), ints), Ok(Value::Array(vec![Value::Integer(1), Value::Integer(2)])));
    assert_eq!(value_from_json(&json!([]), ints), Ok(Value::Array(vec![])));
    assert!(value_from_json(&json!([1, "2"]), ints).unwrap_err().contains("expected an integer"));
    assert!(value_from_json(&json!([1, null]), ints).unwrap_err().contains("cannot be null"));
    assert!(value_from_json(&json!(1), ints).unwrap_err().contains("expected a JSON array"));
    let texts = ColumnType::Array(ScalarType::Text);
    assert_eq!(value_from_json(&json!(["7"]), texts), Ok(Value::Array(vec![Value::Text("7".into())])));
    assert!(value_from_json(&json!(["\0"]), texts).unwrap_err().contains("NUL"));
}

#[test]
fn errors_describe_what_was_found() {
    assert_eq!(
        err(ScalarType::Integer, json!("x")),
        "expected an integer for a column of type Integer, found the string \"x\""
    );
    assert_eq!(kind(&json!("y".repeat(50))), "a string");
    assert_eq!(kind(&json!({})), "an object");
}

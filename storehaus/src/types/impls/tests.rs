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

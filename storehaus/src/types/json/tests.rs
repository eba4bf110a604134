use super::*;
use serde_json::json;

/// `depth` arrays around a string, built without recursion; dropping it recurses, so tests keep
/// depths a test thread's stack can drop.
fn nested(depth: usize) -> serde_json::Value {
    (0..depth).fold(json!("leaf"), |inner, _| serde_json::Value::Array(vec![inner]))
}

#[test]
fn depth_up_to_the_limit_is_accepted_and_reads_back() {
    for depth in [0, 1, 10, MAX_JSON_DEPTH] {
        let value = nested(depth);
        assert_eq!(check_json(&value), Ok(()), "depth {depth}");
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value, "depth {depth}");
    }
    let wide = json!({"a": [1, {"b": [2, 3]}], "c": {"d": null}, "e": [[[]]]});
    assert_eq!(check_json(&wide), Ok(()));
}

#[test]
fn deeper_values_are_refused_and_would_not_read_back() {
    let just_over = nested(MAX_JSON_DEPTH + 1);
    let text = serde_json::to_string(&just_over).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "serde_json reads it back after all");
    for depth in [MAX_JSON_DEPTH + 1, 1_000, 10_000] {
        let err = check_json(&nested(depth)).unwrap_err();
        assert!(err.to_string().contains("more than 127 deep"), "depth {depth}: {err}");
    }
    // Deep inside an object, behind shallow siblings.
    let mixed = json!({"ok": [1, 2], "deep": {"x": nested(MAX_JSON_DEPTH - 1)}});
    assert!(check_json(&mixed).is_err());
}

#[test]
fn nul_in_strings_and_keys_is_refused_at_any_position() {
    for bad in [json!("\0"), json!(["ok", {"k": "a\0b"}]), json!({"a": {"\0": 1}}), json!({"z\0": null})] {
        assert_eq!(check_json(&bad).unwrap_err().to_string(), "JSON contains a NUL byte", "{bad}");
    }
    assert_eq!(check_json(&json!({"k": "\\0 is not NUL", "n": 0})), Ok(()));
    // Deeper than any recursion could go: refused without using the stack.
    let deep = (0..1_000_000).fold(json!("\0"), |inner, _| serde_json::Value::Array(vec![inner]));
    assert!(check_json(&deep).is_err());
    // Dropping it would recurse as deep as it nests.
    std::mem::forget(deep);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Settings {
    theme: String,
    sizes: Vec<u8>,
}

#[test]
fn sqlx_json_maps_and_round_trips_like_json() {
    let settings = Settings { theme: "dark".into(), sizes: vec![1, 2] };
    let ours = Json(settings.clone());
    let theirs = sqlx::types::Json(settings.clone());
    assert_eq!(<sqlx::types::Json<Settings> as SqlType>::COLUMN_TYPE, <Json<Settings> as SqlType>::COLUMN_TYPE);
    assert_eq!(<sqlx::types::Json<Settings> as SqlType>::COLUMN_TYPE, ColumnType::Scalar(ScalarType::Json));
    let value = theirs.to_value().unwrap();
    assert_eq!(value, Value::Json(json!({"theme": "dark", "sizes": [1, 2]})));
    assert_eq!(value, ours.to_value().unwrap());
    assert_eq!(sqlx::types::Json::<Settings>::from_value(value).unwrap(), theirs);
    // Optional fields too.
    let none: Option<sqlx::types::Json<Settings>> = None;
    assert_eq!(none.to_value().unwrap(), Value::Null);
    assert_eq!(Option::<sqlx::types::Json<Settings>>::from_value(Value::Null).unwrap(), None);

    let wrong_shape = sqlx::types::Json::<Settings>::from_value(Value::Json(json!({"theme": 1}))).unwrap_err();
    assert!(wrong_shape.to_string().contains("invalid type"), "{wrong_shape}");
    let not_json = sqlx::types::Json::<Settings>::from_value(Value::Text("dark".into())).unwrap_err();
    assert_eq!(not_json.to_string(), "expected Json, found text");
    assert!(sqlx::types::Json(nested(MAX_JSON_DEPTH)).to_value().is_ok());
    let deep = sqlx::types::Json(nested(MAX_JSON_DEPTH + 1)).to_value().unwrap_err();
    assert!(deep.to_string().contains("more than 127 deep"), "{deep}");
    let nul = sqlx::types::Json(json!({"k": "a\0b"})).to_value().unwrap_err();
    assert_eq!(nul.to_string(), "JSON contains a NUL byte");
}

#[test]
fn field_types_refuse_deep_json_when_encoded() {
    assert!(nested(MAX_JSON_DEPTH).to_value().is_ok());
    assert!(nested(MAX_JSON_DEPTH + 1).to_value().is_err());
    assert!(Json(nested(MAX_JSON_DEPTH + 1)).to_value().is_err());
    assert!(Some(nested(500)).to_value().is_err());
    assert!(vec![json!(1), nested(500)].to_value().is_err());
    assert!(json!({"k": "\0"}).to_value().is_err());
    assert!(Json(json!(["\0"])).to_value().is_err());
}

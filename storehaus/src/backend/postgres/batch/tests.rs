use super::*;

#[test]
fn elements_keep_their_exact_text_form() {
    let doc = |items: Vec<Value>, s| array_document(Value::Array(items), s).unwrap();
    let floats = vec![Value::Double(0.1), Value::Double(f64::NAN), Value::Double(f64::NEG_INFINITY), Value::Null];
    assert_eq!(doc(floats, ScalarType::Double), Value::Json(serde_json::json!(["0.1", "NaN", "-Infinity", null])));
    assert_eq!(doc(vec![Value::Real(0.1)], ScalarType::Real), Value::Json(serde_json::json!(["0.1"])));
    assert_eq!(doc(vec![Value::Bytes(vec![0, 255])], ScalarType::Bytes), Value::Json(serde_json::json!(["\\x00ff"])));
    assert!(array_document(Value::Array(vec![Value::Text("5".into())]), ScalarType::Integer).is_err());
    assert!(array_document(Value::Array(vec![Value::Text("a\0".into())]), ScalarType::Text).is_err());
    assert_eq!(array_document(Value::Null, ScalarType::Text).unwrap(), Value::Null);
}

use super::*;

#[test]
fn json_round_trips_keep_what_serde_of_models_loses() {
    let values = [
        Value::Null,
        Value::Json(serde_json::Value::Null),
        Value::Double(f64::NAN),
        Value::Real(f32::NEG_INFINITY),
        Value::Array(vec![Value::Null, Value::Text("x".into())]),
    ];
    let wire: Vec<Wire> = values.iter().cloned().map(Wire::from).collect();
    let back: Vec<Wire> = serde_json::from_slice(&serde_json::to_vec(&wire).unwrap()).unwrap();
    let back: Vec<Value> = back.into_iter().map(Value::from).collect();
    assert_eq!(back[0], Value::Null);
    assert_eq!(back[1], Value::Json(serde_json::Value::Null));
    assert!(matches!(back[2], Value::Double(v) if v.is_nan()));
    assert_eq!(back[3], Value::Real(f32::NEG_INFINITY));
    assert_eq!(back[4], values[4]);
}

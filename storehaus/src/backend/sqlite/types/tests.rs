use super::*;

const SCALARS: [ScalarType; 15] = [
    ScalarType::Bool,
    ScalarType::SmallInt,
    ScalarType::Integer,
    ScalarType::BigInt,
    ScalarType::Real,
    ScalarType::Double,
    ScalarType::Text,
    ScalarType::Uuid,
    ScalarType::TimestampTz,
    ScalarType::Timestamp,
    ScalarType::Date,
    ScalarType::Time,
    ScalarType::Decimal,
    ScalarType::Json,
    ScalarType::Bytes,
];

#[test]
fn every_type_round_trips_through_its_declared_name() {
    for scalar in SCALARS {
        for ty in [ColumnType::Scalar(scalar), ColumnType::Array(scalar)] {
            assert_eq!(from_declared(&type_name(ty)), Some(ty), "{}", type_name(ty));
            assert_eq!(from_declared(&type_name(ty).to_lowercase()), Some(ty), "{}", type_name(ty));
        }
    }
    assert_eq!(type_name(ColumnType::Scalar(ScalarType::Decimal)), "DECIMAL TEXT");
    assert_eq!(type_name(ColumnType::Array(ScalarType::Decimal)), "DECIMAL ARRAY");
    assert_eq!(type_name(ColumnType::Array(ScalarType::Json)), "JSON ARRAY");
    assert_eq!(type_name(ColumnType::Array(ScalarType::Text)), "TEXT ARRAY");
}

#[test]
fn hand_written_names_are_read() {
    let scalar = |name| from_declared(name).and_then(|t| if let ColumnType::Scalar(s) = t { Some(s) } else { None });
    assert_eq!(scalar("varchar(255)"), Some(ScalarType::Text));
    assert_eq!(scalar("Character Varying (40)"), Some(ScalarType::Text));
    assert_eq!(scalar("int"), Some(ScalarType::Integer));
    assert_eq!(scalar("double  precision"), Some(ScalarType::Double));
    assert_eq!(scalar("FLOAT"), Some(ScalarType::Double));
    assert_eq!(scalar("numeric(10, 2)"), Some(ScalarType::Decimal));
    assert_eq!(scalar("jsonb"), Some(ScalarType::Json));
    assert_eq!(scalar("bytea"), Some(ScalarType::Bytes));
    assert_eq!(from_declared(""), None);
    assert_eq!(from_declared("INET"), None);
    assert_eq!(from_declared("ARRAY"), None);
}

#[test]
fn only_same_storage_types_convert() {
    let s = ColumnType::Scalar;
    assert_eq!(conversion(s(ScalarType::Integer), s(ScalarType::BigInt), "v"), Some(None));
    assert_eq!(
        conversion(s(ScalarType::BigInt), s(ScalarType::SmallInt), "v"),
        Some(Some("v NOT BETWEEN -32768 AND 32767".to_owned()))
    );
    assert!(matches!(conversion(s(ScalarType::Double), s(ScalarType::Real), "v"), Some(Some(_))));
    assert_eq!(conversion(s(ScalarType::Uuid), s(ScalarType::Text), "v"), Some(None));
    assert_eq!(conversion(s(ScalarType::Text), s(ScalarType::Uuid), "v"), None);
    assert_eq!(conversion(s(ScalarType::Integer), s(ScalarType::Double), "v"), None);
    assert_eq!(conversion(ColumnType::Array(ScalarType::Integer), ColumnType::Array(ScalarType::BigInt), "v"), None);
}

use super::*;

#[test]
fn every_scalar_round_trips_through_its_typname() {
    let pairs = [
        ("bool", ScalarType::Bool),
        ("int2", ScalarType::SmallInt),
        ("int4", ScalarType::Integer),
        ("int8", ScalarType::BigInt),
        ("float4", ScalarType::Real),
        ("float8", ScalarType::Double),
        ("text", ScalarType::Text),
        ("uuid", ScalarType::Uuid),
        ("timestamptz", ScalarType::TimestampTz),
        ("timestamp", ScalarType::Timestamp),
        ("date", ScalarType::Date),
        ("time", ScalarType::Time),
        ("numeric", ScalarType::Decimal),
        ("jsonb", ScalarType::Json),
        ("bytea", ScalarType::Bytes),
    ];
    for (name, scalar) in pairs {
        assert_eq!(from_typname(name), Some(ColumnType::Scalar(scalar)));
        assert_eq!(from_typname(&format!("_{name}")), Some(ColumnType::Array(scalar)));
    }
    assert_eq!(from_typname("inet"), None);
    assert_eq!(type_name(ColumnType::Array(ScalarType::Text)), "TEXT[]");
}

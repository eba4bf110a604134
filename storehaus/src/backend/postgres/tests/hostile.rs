//! Hostile values never become SQL text; every type binds as a typed parameter.

use super::super::values::bind;
use super::*;
use crate::query::tests::hostile::hostile_strings;
use serde_json::json;

/// The statement text for a hostile value is the text for a harmless one: values only ever
/// become placeholders.
#[test]
fn hostile_values_never_change_the_sql_text() {
    let select_text = |value: &str| render_select(&resolve(hostile_query(value))).unwrap();
    let update_text = |value: &str| {
        let set = UpdateSet::new().set("title", json!(value)).increment("views", json!(1)).resolve(POSTS).unwrap();
        render_update(&resolve(QueryBuilder::new().filter(QueryFilter::eq("title", value))), &set).unwrap()
    };
    let (select_reference, _) = select_text("x");
    let (update_reference, _) = update_text("x");
    for value in hostile_strings().into_iter().filter(|v| !v.contains('\0')) {
        let (text, values) = select_text(&value);
        assert_eq!(text, select_reference, "{value:?} changed the statement");
        assert_eq!(values.0.len(), 7);
        assert!(values.0.iter().any(|v| *v == (TEXT, Value::Text(value.clone()))));
        assert_eq!(update_text(&value).0, update_reference, "{value:?} changed the statement");
    }
}

fn hostile_query(value: &str) -> QueryBuilder {
    QueryBuilder::new()
        .filter(QueryFilter::eq("title", value))
        .filter(QueryFilter::ilike("title", value))
        .filter(QueryFilter::in_values("title", [value, value]))
        .filter_by_all_tags([value])
        .filter(QueryFilter::json_path_text_eq("meta", [value], value))
        .filter(QueryFilter::json_has_key("meta", value))
}

#[test]
fn every_type_binds_as_a_typed_parameter_and_mismatches_are_refused() {
    use chrono::{DateTime, Utc};
    let ts = DateTime::parse_from_rfc3339("2024-02-29T12:34:56.789012Z").unwrap().with_timezone(&Utc);
    let scalars = [
        (ScalarType::Bool, Value::Bool(true)),
        (ScalarType::SmallInt, Value::SmallInt(-7)),
        (ScalarType::Integer, Value::Integer(1 << 30)),
        (ScalarType::BigInt, Value::BigInt(i64::MIN)),
        (ScalarType::Real, Value::Real(1.5)),
        (ScalarType::Double, Value::Double(-2.25e300)),
        (ScalarType::Text, Value::Text("1b4e28ba-2fa1-11d2-883f-0016d3cca427".into())),
        (ScalarType::Uuid, Value::Uuid(uuid::Uuid::new_v4())),
        (ScalarType::TimestampTz, Value::TimestampTz(ts)),
        (ScalarType::Timestamp, Value::Timestamp(ts.naive_utc())),
        (ScalarType::Date, Value::Date(ts.date_naive())),
        (ScalarType::Time, Value::Time(ts.time())),
        (ScalarType::Decimal, Value::Decimal(rust_decimal::Decimal::new(-123_456_789, 4))),
        (ScalarType::Json, Value::Json(json!({"nested": [1, "two", null]}))),
        (ScalarType::Bytes, Value::Bytes(vec![0, 159, 255])),
    ];
    for (scalar, value) in scalars {
        for (ty, value) in [
            (ColumnType::Scalar(scalar), value.clone()),
            (ColumnType::Scalar(scalar), Value::Null),
            (ColumnType::Array(scalar), Value::Array(vec![value.clone(), Value::Null])),
            (ColumnType::Array(scalar), Value::Array(vec![])),
            (ColumnType::Array(scalar), Value::Null),
        ] {
            let mut args = PgArguments::default();
            bind(&mut args, value, ty).unwrap_or_else(|e| panic!("{ty}: {e}"));
            assert_eq!(args.len(), 1, "{ty}");
        }
    }
    let mut args = PgArguments::default();
    let err = bind(&mut args, Value::Integer(1), TEXT).unwrap_err();
    assert!(err.to_string().contains("expected Text, found integer"), "{err}");
    assert!(
        bind(&mut args, Value::Array(vec![Value::Text("x".into())]), ColumnType::Array(ScalarType::Integer)).is_err()
    );
    assert!(bind(&mut args, Value::Text("x".into()), TEXT_ARRAY).is_err());
    // A count beyond PostgreSQL's BIGINT is refused, as on SQLite; the largest one is bound as is.
    let err = render_select(&resolve(QueryBuilder::new().limit(u64::MAX))).unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err}");
    let (_, values) = render_select(&resolve(QueryBuilder::new().limit(i64::MAX))).unwrap();
    assert_eq!(values.0.last(), Some(&(BIGINT, Value::BigInt(i64::MAX))));
}

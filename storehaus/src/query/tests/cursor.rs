//! Keyset cursors: encoding, decoding, and matching them to a query.

use super::fixtures::User;
use super::*;
use crate::model::Column;
use crate::query::resolved::Keyset;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

fn order(q: &QueryBuilder) -> Vec<Order> {
    q.resolve(USERS).unwrap().order
}

#[test]
fn a_cursor_resumes_a_query_with_the_same_order() {
    let q = QueryBuilder::new().order_by("score", SortOrder::Desc).order_by("joined", SortOrder::Asc);
    let joined = DateTime::parse_from_rfc3339("2024-02-29T12:34:56.123456Z").unwrap().with_timezone(&Utc);
    let id = uuid::Uuid::new_v4();
    let values = vec![Value::Double(0.1 + 0.2), Value::TimestampTz(joined), Value::Uuid(id)];
    let cursor = Cursor::from_values(&order(&q), values.clone());
    let text = cursor.encode();
    assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
    let decoded = Cursor::decode(&text).unwrap();
    assert_eq!(decoded, cursor);
    assert_eq!(text.parse::<Cursor>().unwrap(), cursor);
    assert_eq!(cursor.to_string(), text);
    let resumed = q.after(&decoded).resolve(USERS).unwrap();
    assert_eq!(resumed.keyset, Some(Keyset { after: values, before: false }));
}

#[test]
fn cursor_values_of_every_sortable_type_survive_the_text_form() {
    let cases: Vec<(&str, Value)> = vec![
        ("name", Value::Text("1b4e28ba-2fa1-11d2-883f-0016d3cca427".into())),
        ("small", Value::SmallInt(-3)),
        ("big", Value::BigInt(i64::MAX)),
        ("ratio", Value::Real(f32::MIN_POSITIVE)),
        ("score", Value::Double(f64::NAN)),
        ("score", Value::Double(-f64::INFINITY)),
        ("score", Value::Double(1.0 / 3.0)),
        ("balance", Value::Decimal(Decimal::new(-123_456_789, 7))),
        ("active", Value::Bool(true)),
        ("meta", Value::Json(json!({"a": [1, 2.5, "x"]}))),
        ("labels", Value::Array(vec![Value::Text("a".into()), Value::Text("b".into())])),
        ("lucky", Value::Array(vec![Value::Integer(7)])),
        ("__created_at__", Value::TimestampTz(DateTime::from_timestamp(1_700_000_000, 1_000).unwrap())),
    ];
    for (field, value) in cases {
        let q = QueryBuilder::new().order_by(field, SortOrder::Asc);
        let id = Value::Uuid(uuid::Uuid::nil());
        let cursor = Cursor::from_values(&order(&q), vec![value.clone(), id.clone()]);
        let after = q.after(&Cursor::decode(&cursor.encode()).unwrap()).resolve(USERS).unwrap().keyset.unwrap().after;
        match (&after[0], &value) {
            (Value::Double(a), Value::Double(b)) => assert!(a.to_bits() == b.to_bits(), "{a} vs {b}"),
            (a, b) => assert_eq!(a, b, "{field}"),
        }
        assert_eq!(after[1], id);
    }
}

#[test]
fn dates_times_and_bytes_round_trip_on_a_table_that_has_them_not_null() {
    use crate::model::{ColumnDef, TableDef};
    use crate::types::{ColumnType, ScalarType};
    const fn c(name: &'static str, s: ScalarType, pk: bool) -> ColumnDef {
        ColumnDef {
            name,
            ty: ColumnType::Scalar(s),
            nullable: false,
            int_range: None,
            primary_key: pk,
            create: true,
            update: true,
            signal: true,
        }
    }
    static EVENTS: TableDef = TableDef {
        name: "events",
        model: "Event",
        columns: &[
            c("day", ScalarType::Date, false),
            c("at", ScalarType::Time, false),
            c("local", ScalarType::Timestamp, false),
            c("blob", ScalarType::Bytes, true),
        ],
        primary_key: 3,
        indexes: &[],
        soft_delete: false,
        versioned: false,
        auth: false,
        tenant: None,
        row_security: false,
        foreign_keys: &[],
    };
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let local = day.and_hms_nano_opt(23, 59, 59, 999_999_000).unwrap();
    let values = vec![Value::Date(day), Value::Time(local.time()), Value::Timestamp(local), Value::Bytes(vec![0, 255])];
    let q = QueryBuilder::new()
        .order_by("day", SortOrder::Desc)
        .order_by("at", SortOrder::Asc)
        .order_by("local", SortOrder::Asc);
    let cursor = Cursor::from_values(&q.resolve(&EVENTS).unwrap().order, values.clone());
    let resumed = q.after(&Cursor::decode(&cursor.encode()).unwrap()).resolve(&EVENTS).unwrap();
    assert_eq!(resumed.keyset.unwrap().after, values);
}

#[test]
fn a_cursor_from_another_order_is_refused() {
    let q = QueryBuilder::new().order_by("name", SortOrder::Asc);
    let cursor = Cursor::from_values(&order(&q), vec![Value::Text("a".into()), Value::Uuid(uuid::Uuid::nil())]);
    let mismatch = |q: QueryBuilder| {
        let err = q.after(&cursor).resolve(USERS).unwrap_err();
        assert!(
            matches!(&err, StoreError::Validation { message, .. } if message == "cursor does not match this query's order"),
            "{err}"
        );
    };
    mismatch(QueryBuilder::new());
    mismatch(QueryBuilder::new().order_by("name", SortOrder::Desc));
    mismatch(QueryBuilder::new().order_by("email", SortOrder::Asc));
    mismatch(QueryBuilder::new().order_by("name", SortOrder::Asc).order_by("email", SortOrder::Asc));
    assert!(q.after(&cursor).resolve(USERS).is_ok());
}

#[test]
fn keyset_needs_not_null_sort_columns() {
    let q = QueryBuilder::new().order_by("age", SortOrder::Asc);
    let cursor = Cursor::from_values(&order(&q), vec![Value::Integer(3), Value::Uuid(uuid::Uuid::nil())]);
    assert_invalid(&q.after(&cursor).resolve(USERS).unwrap_err(), "age", "never NULL");
    let typed: Column<User, Option<i32>> = Column::new("age", 5);
    let q = QueryBuilder::new().order(typed.desc());
    assert_invalid(&q.after(&cursor).resolve(USERS).unwrap_err(), "age", "never NULL");
}

#[test]
fn malformed_cursors_are_validation_errors() {
    let valid = Cursor::from_values(&order(&QueryBuilder::new()), vec![Value::Uuid(uuid::Uuid::nil())]).encode();
    let encode = |json: serde_json::Value| base64(json.to_string().as_bytes());
    let bad = [
        String::new(),
        "!!!".to_owned(),
        "A".to_owned(),
        valid[..valid.len() - 1].to_owned(),
        encode(json!({"k": []})),
        encode(json!([2, [], []])),
        encode(json!([1, [["id", "asc"]], ["x"]])),
        encode(json!([1, [["id", false]], []])),
        encode(json!([1, "id", ["x"]])),
    ];
    for text in bad {
        let err = Cursor::decode(&text).unwrap_err();
        assert!(
            matches!(&err, StoreError::Validation { message, .. } if message == "malformed cursor"),
            "{text}: {err}"
        );
        assert!(text.parse::<Cursor>().is_err());
    }
    // Well-formed text whose values do not fit the columns fails when the query resolves.
    let wrong_type = Cursor::decode(&encode(json!([1, [["id", false]], [42]]))).unwrap();
    assert_invalid(&QueryBuilder::new().after(&wrong_type).resolve(USERS).unwrap_err(), "id", "malformed cursor");
    let null = Cursor::decode(&encode(json!([1, [["id", false]], [null]]))).unwrap();
    assert_invalid(&QueryBuilder::new().after(&null).resolve(USERS).unwrap_err(), "id", "malformed cursor");
}

/// URL-safe base64 without padding, written independently of the code under test.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits: String = bytes.iter().map(|b| format!("{b:08b}")).collect();
    bits.as_bytes()
        .chunks(6)
        .map(|c| {
            let s = format!("{:0<6}", std::str::from_utf8(c).unwrap());
            A[usize::from_str_radix(&s, 2).unwrap()] as char
        })
        .collect()
}

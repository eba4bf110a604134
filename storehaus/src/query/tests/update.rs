//! `UpdateSet` resolution: which columns may be written and how values are typed.

use super::*;
use crate::query::resolved::Assignment;
use rust_decimal::Decimal;

fn assignments(set: UpdateSet) -> Vec<Assignment> {
    set.resolve(USERS).unwrap_or_else(|e| panic!("{e}"))
}

fn refused(set: UpdateSet) -> StoreError {
    set.resolve(USERS).expect_err("should be refused")
}

fn def(name: &str) -> &'static crate::model::ColumnDef {
    USERS.column(name).unwrap()
}

#[test]
fn sets_and_increments_are_typed_by_the_column() {
    let set = UpdateSet::new()
        .set("name", json!("1b4e28ba-2fa1-11d2-883f-0016d3cca427"))
        .set("age", json!(null))
        .increment("big", json!(5))
        .decrement("balance", json!("1.5"))
        .decrement("score", json!(0.25));
    assert_eq!(
        assignments(set.clone()),
        [
            Assignment::Set { column: def("name"), value: Value::Text("1b4e28ba-2fa1-11d2-883f-0016d3cca427".into()) },
            Assignment::Set { column: def("age"), value: Value::Null },
            Assignment::Add { column: def("big"), value: Value::BigInt(5) },
            Assignment::Add { column: def("balance"), value: Value::Decimal(Decimal::new(-15, 1)) },
            Assignment::Add { column: def("score"), value: Value::Double(-0.25) },
        ]
    );
    assert!(!set.is_empty());
    assert!(UpdateSet::new().is_empty());
}

#[test]
fn typed_assignments() {
    let got = assignments(UpdateSet::new().set_column(AGE, 41).set_column(SCORE, 0.5));
    assert_eq!(
        got,
        [
            Assignment::Set { column: def("age"), value: Value::Integer(41) },
            Assignment::Set { column: def("score"), value: Value::Double(0.5) },
        ]
    );
    assert_eq!(
        assignments(UpdateSet::new().set_column(AGE, None)),
        [Assignment::Set { column: def("age"), value: Value::Null }]
    );
    assert_invalid(
        &refused(UpdateSet::new().set_column(REFERRER, Some("x".to_owned()))),
        "referrer",
        "not written on update",
    );
    assert_invalid(&refused(UpdateSet::new().set_column(NAME, "\0")), "name", "NUL");
}

#[test]
fn only_columns_written_on_update_can_be_assigned() {
    assert_invalid(&refused(UpdateSet::new().set("id", json!(uuid::Uuid::nil().to_string()))), "id", "primary key");
    assert_invalid(&refused(UpdateSet::new().set("referrer", json!("x"))), "referrer", "not written on update");
    assert_invalid(&refused(UpdateSet::new().set("code", json!("x"))), "code", "not written on update");
    for system in ["__created_at__", "__updated_at__", "__tags__", "__deleted_at__", "__version__"] {
        assert_invalid(&refused(UpdateSet::new().set(system, json!(null))), system, "system fields");
    }
    let err = refused(UpdateSet::new().set("1=1; --", json!(1)));
    assert!(matches!(&err, StoreError::UnknownField { field, .. } if field == "1=1; --"), "{err}");
    let err = UpdateSet::new().set("__deleted_at__", json!(null)).resolve(NOTES).unwrap_err();
    assert!(matches!(err, StoreError::UnknownField { .. }), "{err}");
}

#[test]
fn bad_update_sets_are_refused() {
    let err = refused(UpdateSet::new());
    assert!(
        matches!(&err, StoreError::Validation { field: None, message } if message.contains("at least one")),
        "{err}"
    );
    assert_invalid(&refused(UpdateSet::new().set("name", json!(null))), "name", "not nullable");
    assert_invalid(&refused(UpdateSet::new().set("age", json!("x"))), "age", "expected an integer");
    assert_invalid(&refused(UpdateSet::new().set("name", json!("a\0"))), "name", "NUL");
    assert_invalid(&refused(UpdateSet::new().increment("name", json!(1))), "name", "numeric");
    assert_invalid(&refused(UpdateSet::new().increment("age", json!(null))), "age", "null");
    assert_invalid(&refused(UpdateSet::new().increment("age", json!(1.5))), "age", "expected an integer");
    assert_invalid(&refused(UpdateSet::new().decrement("big", json!(i64::MIN))), "big", "out of range");
    assert_invalid(&refused(UpdateSet::new().set("age", json!(1)).increment("age", json!(1))), "age", "more than once");
}

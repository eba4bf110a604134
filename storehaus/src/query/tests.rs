//! Resolution tests: names, values and options checked against hand-written models.

mod cursor;
mod depth;
pub(crate) mod fixtures;
pub(crate) mod hostile;
mod update;

use super::resolved::{ColumnRef, CompareOp, Condition, JsonCondition, Order, ResolvedQuery, RowLock, Visibility};
use super::*;
use crate::error::StoreError;
use crate::model::TableDef;
use crate::types::Value;
use fixtures::{AGE, LABELS, LUCKY, META, NAME, NOTES, REFERRER, SCORE, USERS};
use serde_json::json;

fn resolve(q: QueryBuilder) -> ResolvedQuery {
    q.resolve(USERS).unwrap_or_else(|e| panic!("{e}"))
}

fn condition(filter: QueryFilter) -> Condition {
    resolve(QueryBuilder::new().filter(filter)).condition.expect("a condition")
}

fn error(filter: QueryFilter) -> StoreError {
    QueryBuilder::new().filter(filter).resolve(USERS).expect_err("should be refused")
}

/// Asserts a validation error about `field` whose message contains `needle`.
pub(super) fn assert_invalid(err: &StoreError, field: &str, needle: &str) {
    match err {
        StoreError::Validation { field: Some(f), message } if f == field && message.contains(needle) => {}
        other => panic!("expected a validation error on `{field}` mentioning {needle:?}, got {other:?}"),
    }
}

pub(super) fn col(table: &TableDef, name: &str) -> ColumnRef {
    ColumnRef::find(table, name).expect("fixture column")
}

#[test]
fn the_builder_is_cheap_to_share() {
    fn assert_traits<T: Clone + std::fmt::Debug + Default + Send + Sync + 'static>() {}
    assert_traits::<QueryBuilder>();
    assert_traits::<UpdateSet>();
    assert_traits::<SortOrder>();
    fn assert_filter<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    assert_filter::<QueryFilter>();
    assert_filter::<Cursor>();
}

#[test]
fn an_empty_query_sees_live_rows_in_key_order() {
    let q = resolve(QueryBuilder::new());
    assert_eq!(q.condition, None);
    assert_eq!(q.visibility, Visibility::Live);
    assert_eq!(q.order, [Order { column: col(USERS, "id"), descending: false }]);
    assert_eq!((q.limit, q.offset, &q.keyset, q.lock, q.all_rows), (None, None, &None, None, false));
}

#[test]
fn options_carry_over() {
    let q = resolve(QueryBuilder::new().limit(10).offset(20_usize).with_deleted().for_update_skip_locked().all_rows());
    assert_eq!((q.limit, q.offset), (Some(10), Some(20)));
    assert_eq!(q.visibility, Visibility::WithDeleted);
    assert_eq!(q.lock, Some(RowLock::ForUpdateSkipLocked));
    assert!(q.all_rows);
    assert_eq!(resolve(QueryBuilder::new().only_deleted().for_update()).visibility, Visibility::OnlyDeleted);
    assert_eq!(resolve(QueryBuilder::new().for_update()).lock, Some(RowLock::ForUpdate));
    let err = QueryBuilder::new().limit(-1).resolve(USERS).unwrap_err();
    assert!(matches!(&err, StoreError::Validation { message, .. } if message.contains("limit")), "{err}");
    let err = QueryBuilder::new().offset(-5_i64).resolve(USERS).unwrap_err();
    assert!(matches!(&err, StoreError::Validation { message, .. } if message.contains("offset")), "{err}");
}

#[test]
fn visibility_on_a_table_without_soft_delete() {
    assert_eq!(QueryBuilder::new().with_deleted().resolve(NOTES).unwrap().visibility, Visibility::Live);
    let err = QueryBuilder::new().only_deleted().resolve(NOTES).unwrap_err();
    assert!(matches!(&err, StoreError::Validation { message, .. } if message.contains("no soft delete")), "{err}");
}

#[test]
fn filters_and_together_and_empty_conjunctions_vanish() {
    let q = resolve(
        QueryBuilder::new().filter(QueryFilter::eq("name", json!("ada"))).filter(QueryFilter::gt("age", json!(30))),
    );
    let Some(Condition::And(parts)) = q.condition else { panic!("{q:?}") };
    assert_eq!(parts.len(), 2);
    assert_eq!(resolve(QueryBuilder::new().filter(QueryFilter::and(vec![]))).condition, None);
    let nested = QueryFilter::and(vec![QueryFilter::and(vec![]), QueryFilter::is_null("age")]);
    assert_eq!(condition(nested), Condition::IsNull { column: col(USERS, "age"), negated: false });
}

#[test]
fn compare_values_take_the_column_type() {
    let uuid_like = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    let cases = [
        (QueryFilter::eq("name", json!(uuid_like)), "name", CompareOp::Eq, Value::Text(uuid_like.into())),
        (QueryFilter::ne("email", json!("12")), "email", CompareOp::Ne, Value::Text("12".into())),
        (QueryFilter::gt("age", json!(30)), "age", CompareOp::Gt, Value::Integer(30)),
        (QueryFilter::gte("big", 7), "big", CompareOp::Gte, Value::BigInt(7)),
        (QueryFilter::lt("score", json!(2.5)), "score", CompareOp::Lt, Value::Double(2.5)),
        (QueryFilter::lte("id", json!(uuid_like)), "id", CompareOp::Lte, Value::Uuid(uuid_like.parse().unwrap())),
        (QueryFilter::eq("__version__", json!(3)), "__version__", CompareOp::Eq, Value::BigInt(3)),
    ];
    for (filter, field, op, value) in cases {
        assert_eq!(condition(filter), Condition::Compare { column: col(USERS, field), op, value });
    }
}

#[test]
fn bad_values_name_the_field() {
    assert_invalid(&error(QueryFilter::eq("age", json!("30"))), "age", "expected an integer");
    assert_invalid(&error(QueryFilter::eq("name", json!(5))), "name", "expected a string");
    assert_invalid(&error(QueryFilter::eq("id", json!("nope"))), "id", "invalid UUID");
    assert_invalid(&error(QueryFilter::eq("small", json!(70000))), "small", "out of range");
    assert_invalid(&error(QueryFilter::eq("name", json!("a\0b"))), "name", "NUL");
    assert_invalid(&error(QueryFilter::eq("age", json!(null))), "age", "is_null");
    assert_invalid(&error(QueryFilter::ne("age", json!(null))), "age", "is_not_null");
    assert_invalid(&error(QueryFilter::eq("__created_at__", json!("yesterday"))), "__created_at__", "RFC 3339");
}

#[test]
fn unknown_fields_are_refused_wherever_they_appear() {
    let unknown = |err: StoreError, name: &str| {
        assert!(
            matches!(&err, StoreError::UnknownField { table, field } if table == "users" && field == name),
            "{err:?}"
        );
    };
    unknown(error(QueryFilter::eq("1=1 OR name", json!("x"))), "1=1 OR name");
    unknown(error(QueryFilter::or(vec![QueryFilter::is_null("age"), QueryFilter::is_null("nope")])), "nope");
    unknown(error(QueryFilter::not(QueryFilter::like("Name", "x"))), "Name");
    unknown(error(QueryFilter::json_has_key("meta.x", "k")), "meta.x");
    unknown(
        QueryBuilder::new().order_by("name; DROP TABLE users", SortOrder::Asc).resolve(USERS).unwrap_err(),
        "name; DROP TABLE users",
    );
    // Columns of other tables' options are not there either.
    unknown(error(QueryFilter::is_null("__missing__")), "__missing__");
    let err = QueryBuilder::new().filter(QueryFilter::is_null("__deleted_at__")).resolve(NOTES).unwrap_err();
    assert!(matches!(err, StoreError::UnknownField { .. }), "{err}");
}

#[test]
fn like_needs_text() {
    let like = |negated, case_insensitive| Condition::Like {
        column: col(USERS, "name"),
        pattern: "a%".into(),
        case_insensitive,
        negated,
    };
    assert_eq!(condition(QueryFilter::like("name", "a%")), like(false, false));
    assert_eq!(condition(QueryFilter::ilike("name", "a%")), like(false, true));
    assert_eq!(condition(QueryFilter::not_like("name", "a%")), like(true, false));
    assert_eq!(condition(QueryFilter::not_ilike("name", "a%")), like(true, true));
    assert_invalid(&error(QueryFilter::like("age", "1%")), "age", "text field");
    assert_invalid(&error(QueryFilter::ilike("labels", "a%")), "labels", "text field");
    assert_invalid(&error(QueryFilter::like("name", "\0")), "name", "NUL");
}

#[test]
fn in_lists_are_typed_and_may_be_empty() {
    let ages = condition(QueryFilter::in_values("age", [1, 2]));
    assert_eq!(
        ages,
        Condition::In { column: col(USERS, "age"), values: vec![Value::Integer(1), Value::Integer(2)], negated: false }
    );
    let none = condition(QueryFilter::in_values("age", Vec::<i32>::new()));
    assert_eq!(none, Condition::In { column: col(USERS, "age"), values: vec![], negated: false });
    let names = condition(QueryFilter::not_in_values("name", vec![json!("1")]));
    assert_eq!(
        names,
        Condition::In { column: col(USERS, "name"), values: vec![Value::Text("1".into())], negated: true }
    );
    assert_invalid(&error(QueryFilter::in_values("age", [json!(1), json!(null)])), "age", "null");
    assert_invalid(&error(QueryFilter::in_values("age", ["x"])), "age", "expected an integer");
    assert_invalid(&error(QueryFilter::in_values("labels", ["x"])), "labels", "array_contains");
}

#[test]
fn tags_arrays_and_json_operators() {
    let q =
        QueryBuilder::new().filter_by_any_tag(["a", "b"]).filter_by_all_tags(vec!["c".to_string()]).filter_by_tag("d");
    let Some(Condition::And(parts)) = resolve(q).condition else { panic!() };
    assert_eq!(
        parts,
        [
            Condition::TagsAny(vec!["a".into(), "b".into()]),
            Condition::TagsAll(vec!["c".into()]),
            Condition::TagsAll(vec!["d".into()])
        ]
    );
    let err = QueryBuilder::new().filter_by_tag("x\0").resolve(USERS).unwrap_err();
    assert_invalid(&err, "__tags__", "NUL");

    let lucky = condition(QueryFilter::array_contains("lucky", [7, 13]));
    assert_eq!(
        lucky,
        Condition::Array {
            column: col(USERS, "lucky"),
            values: vec![Value::Integer(7), Value::Integer(13)],
            all: true
        }
    );
    let labels = condition(QueryFilter::array_overlaps("labels", ["x"]));
    assert_eq!(
        labels,
        Condition::Array { column: col(USERS, "labels"), values: vec![Value::Text("x".into())], all: false }
    );
    assert_invalid(&error(QueryFilter::array_contains("name", ["x"])), "name", "array field");
    assert_invalid(&error(QueryFilter::array_contains("lucky", ["x"])), "lucky", "expected an integer");

    let meta = col(USERS, "meta");
    let json_cond = |condition| Condition::Json { column: meta, condition };
    assert_eq!(
        condition(QueryFilter::json_path_eq("meta", ["a", "0"], json!({"b": 1}))),
        json_cond(JsonCondition::PathEq { path: vec!["a".into(), "0".into()], value: json!({"b": 1}) })
    );
    assert_eq!(
        condition(QueryFilter::json_path_text_eq("meta", vec!["a".to_string()], "x")),
        json_cond(JsonCondition::PathTextEq { path: vec!["a".into()], value: "x".into() })
    );
    assert_eq!(
        condition(QueryFilter::json_contains("meta", json!({"k": 1}))),
        json_cond(JsonCondition::Contains(json!({"k": 1})))
    );
    assert_eq!(condition(QueryFilter::json_has_key("meta", "k")), json_cond(JsonCondition::HasKey("k".into())));
    assert_invalid(&error(QueryFilter::json_has_key("name", "k")), "name", "JSON field");
    assert_invalid(&error(QueryFilter::json_contains("meta", json!(["\0"]))), "meta", "NUL");
    assert_invalid(&error(QueryFilter::json_path_text_eq("meta", ["\0"], "x")), "meta", "NUL");

    let number = |n: serde_json::Value| n.as_number().cloned().unwrap();
    assert_eq!(
        condition(QueryFilter::json_path_lte("meta", ["a", "b"], json!(3))),
        json_cond(JsonCondition::PathCompare {
            path: vec!["a".into(), "b".into()],
            op: CompareOp::Lte,
            value: number(json!(3))
        })
    );
    assert_eq!(
        condition(QueryFilter::json_path_absent("meta", ["a", "b"])),
        json_cond(JsonCondition::PathExists { path: vec!["a".into(), "b".into()], negated: true })
    );
    assert_invalid(&error(QueryFilter::json_path_gt("meta", ["a"], json!("3"))), "meta", "a number");
    assert_invalid(&error(QueryFilter::json_path_gt("name", ["a"], json!(3))), "name", "JSON field");
    assert_invalid(&error(QueryFilter::json_path_exists("meta", ["\0"])), "meta", "NUL");
}

#[test]
fn and_or_not_nest() {
    let filter =
        !QueryFilter::or(vec![QueryFilter::eq("age", 1), QueryFilter::and(vec![QueryFilter::is_not_null("age")])]);
    let age = col(USERS, "age");
    assert_eq!(
        condition(filter),
        Condition::Not(Box::new(Condition::Or(vec![
            Condition::Compare { column: age, op: CompareOp::Eq, value: Value::Integer(1) },
            Condition::And(vec![Condition::IsNull { column: age, negated: true }]),
        ])))
    );
    assert_eq!(condition(QueryFilter::or(vec![])), Condition::Or(vec![]));
}

#[test]
fn typed_columns_carry_typed_values() {
    let name = col(USERS, "name");
    assert_eq!(
        condition(NAME.eq("ada")),
        Condition::Compare { column: name, op: CompareOp::Eq, value: Value::Text("ada".into()) }
    );
    assert_eq!(
        condition(AGE.gte(18)),
        Condition::Compare { column: col(USERS, "age"), op: CompareOp::Gte, value: Value::Integer(18) }
    );
    assert_eq!(
        condition(SCORE.lt(0.5)),
        Condition::Compare { column: col(USERS, "score"), op: CompareOp::Lt, value: Value::Double(0.5) }
    );
    assert_eq!(
        condition(AGE.in_values([1, 2])),
        Condition::In { column: col(USERS, "age"), values: vec![Value::Integer(1), Value::Integer(2)], negated: false }
    );
    assert_eq!(
        condition(REFERRER.not_in_values(Vec::<String>::new())).clone(),
        Condition::In { column: col(USERS, "referrer"), values: vec![], negated: true }
    );
    assert_eq!(
        condition(NAME.ilike("a%")),
        Condition::Like { column: name, pattern: "a%".into(), case_insensitive: true, negated: false }
    );
    assert!(matches!(condition(REFERRER.like("x")), Condition::Like { .. }));
    assert_eq!(condition(AGE.is_null()), Condition::IsNull { column: col(USERS, "age"), negated: false });
    assert!(matches!(condition(META.eq(json!({"a": 1}))), Condition::Compare { value: Value::Json(_), .. }));
    assert_eq!(
        condition(LABELS.array_overlaps(["x"])),
        Condition::Array { column: col(USERS, "labels"), values: vec![Value::Text("x".into())], all: false }
    );
    assert!(matches!(condition(LUCKY.array_contains([1_i32])), Condition::Array { all: true, .. }));
    assert_invalid(&error(AGE.eq(None)), "age", "is_null");
    assert_invalid(&error(NAME.eq("\0")), "name", "NUL");
    // A typed column of another model whose name exists here with another type.
    let wrong: crate::model::Column<fixtures::User, i64> = crate::model::Column::new("name", 1);
    assert_invalid(&error(wrong.eq(5)), "name", "expected a value of type Text");
}

#[test]
fn sorting_appends_the_primary_key_once() {
    let q =
        resolve(QueryBuilder::new().order_by("name", SortOrder::Asc).order_by(String::from("age"), SortOrder::Desc));
    let keys: Vec<_> = q.order.iter().map(|o| (o.column.name(), o.descending)).collect();
    assert_eq!(keys, [("name", false), ("age", true), ("id", false)]);
    let q = resolve(QueryBuilder::new().order_by("id", SortOrder::Desc).order(NAME.asc()));
    let keys: Vec<_> = q.order.iter().map(|o| (o.column.name(), o.descending)).collect();
    assert_eq!(keys, [("id", true), ("name", false)]);
    let q = resolve(QueryBuilder::new().order_by(SCORE, SortOrder::Desc).order(SortKey::asc("__created_at__")));
    let keys: Vec<_> = q.order.iter().map(|o| (o.column.name(), o.descending)).collect();
    assert_eq!(keys, [("score", true), ("__created_at__", false), ("id", false)]);
    let field = String::from("email");
    let q = resolve(QueryBuilder::new().order_by(&field, SortOrder::Asc).order(AGE.desc()).order(SortKey::desc("big")));
    assert_eq!(q.order.len(), 4);
    let notes = QueryBuilder::new().resolve(NOTES).unwrap();
    assert_eq!(notes.order, [Order { column: col(NOTES, "key"), descending: false }]);
}

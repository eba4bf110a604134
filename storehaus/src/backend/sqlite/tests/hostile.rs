//! Hostile values never become SQL text, find exactly their own rows, and NUL bytes are refused.

use super::database::{database, ids, posts};
use super::*;
use crate::query::resolved::{ColumnRef, Condition, JsonCondition};
use crate::query::tests::hostile::hostile_strings;
use serde_json::json;

fn hostile_query(value: &str) -> QueryBuilder {
    QueryBuilder::new()
        .filter(QueryFilter::eq("title", value))
        .filter(QueryFilter::ilike("title", format!("{value}x")))
        .filter(QueryFilter::like("title", format!("{value}x")))
        .filter(QueryFilter::in_values("title", [value, value]))
        .filter_by_all_tags([value])
        .filter(QueryFilter::json_path_text_eq("meta", [value.replace('"', "")], value))
        .filter(QueryFilter::json_has_key("meta", value))
}

/// The statement text for a hostile value is the text for a harmless one: values only ever
/// become placeholders.
#[test]
fn hostile_values_never_change_the_sql_text() {
    let select_text = |value: &str| select(&resolve(hostile_query(value))).unwrap();
    let update_text = |value: &str| {
        let set = UpdateSet::new().set("title", value).resolve(POSTS).unwrap();
        update(&resolve(QueryBuilder::new().filter(QueryFilter::eq("title", value))), &set, now()).unwrap()
    };
    let reference = select_text("x").sql;
    let update_reference = update_text("x").sql;
    for value in hostile_strings().into_iter().filter(|v| !v.contains('\0')) {
        let statement = select_text(&value);
        assert_eq!(statement.sql, reference, "{value:?} changed the statement");
        assert_eq!(statement.args.len(), 10);
        assert_eq!(update_text(&value).sql, update_reference, "{value:?} changed the statement");
    }
}

#[tokio::test]
async fn hostile_values_find_exactly_their_rows() {
    let mut data = posts();
    data.truncate(3);
    let hostile: Vec<String> = hostile_strings().into_iter().filter(|v| !v.contains('\0')).collect();
    for (i, value) in hostile.iter().enumerate() {
        let mut p = data[2].clone();
        p.id = 100 + i as i64;
        p.title = value.clone();
        p.tags = vec![value.clone()];
        let mut meta = serde_json::Map::new();
        meta.insert(value.clone(), json!(value));
        meta.insert("k".into(), json!([value]));
        p.meta = meta.into();
        data.push(p);
    }
    let pool = database(&data).await;
    let rows_where = |same: &dyn Fn(&str) -> bool| -> Vec<i64> {
        hostile.iter().enumerate().filter(|(_, v)| same(v)).map(|(j, _)| 100 + j as i64).collect()
    };
    for value in &hostile {
        let v = value.as_str();
        let exact = rows_where(&|other| other == v);
        // SQLite's LIKE folds ASCII letters: `name` also finds `NAME`.
        let folded = rows_where(&|other| other.eq_ignore_ascii_case(v));
        let escaped: String = v.chars().flat_map(|c| ['\\', c]).collect();
        let mut cases = vec![
            (QueryFilter::eq("title", v), &exact),
            (QueryFilter::in_values("title", [v]), &exact),
            (QueryFilter::has_all_tags([v]), &exact),
            (QueryFilter::json_has_key("meta", v), &exact),
            (QueryFilter::json_path_eq("meta", ["k"], json!([v])), &exact),
            (QueryFilter::like("title", escaped.as_str()), &exact),
            (QueryFilter::ilike("title", escaped.as_str()), &folded),
        ];
        if !v.contains('"') {
            cases.push((QueryFilter::json_path_text_eq("meta", [v], v), &exact));
        }
        for (filter, expected) in cases {
            let found = ids(&pool, select(&resolve(QueryBuilder::new().filter(filter.clone()))).unwrap()).await;
            assert_eq!(&found, expected, "{filter:?}");
        }
    }
    let all = ids(&pool, select(&resolve(QueryBuilder::new())).unwrap()).await;
    assert_eq!(all.len(), data.len(), "the table is intact");
}

/// NUL inside JSON values is `\u0000` in the bound text (resolving refuses it, as PostgreSQL
/// does); raw NUL bytes in bound text are refused by the binding itself.
#[test]
fn nul_bytes_are_refused_when_bound() {
    let nul = "a\0b".to_owned();
    let title = ColumnRef::find(POSTS, "title").unwrap();
    let meta = ColumnRef::find(POSTS, "meta").unwrap();
    let conditions = [
        Condition::Compare {
            column: title,
            op: crate::query::resolved::CompareOp::Eq,
            value: Value::Text(nul.clone()),
        },
        Condition::In { column: title, values: vec![Value::Text(nul.clone())], negated: false },
        Condition::TagsAny(vec![nul.clone()]),
        Condition::TagsAll(vec!["ok".into(), nul.clone()]),
        Condition::Json {
            column: meta,
            condition: JsonCondition::PathTextEq { path: vec![nul.clone()], value: "v".into() },
        },
        Condition::Json { column: meta, condition: JsonCondition::HasKey(nul.clone()) },
        Condition::Json { column: meta, condition: JsonCondition::PathEq { path: vec![nul.clone()], value: json!(1) } },
    ];
    for condition in conditions {
        let mut q = resolve(QueryBuilder::new());
        q.condition = Some(condition.clone());
        let err = select(&q).unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{condition:?}: {err:?}");
    }
    let q = resolve(QueryBuilder::new().filter(QueryFilter::eq("id", 1)));
    let column = POSTS.column("title").unwrap();
    let set = [Assignment::Set { column, value: Value::Text(nul) }];
    assert!(matches!(update(&q, &set, now()), Err(StoreError::Validation { .. })));
}

//! The expression of each condition, and the conditions SQLite cannot express.

use super::super::dialect::{json_path, like_to_glob};
use super::*;
use crate::model::ColumnDef;
use crate::query::resolved::ColumnRef;
use crate::types::ScalarType;
use serde_json::json;

fn title() -> ColumnRef {
    ColumnRef::find(POSTS, "title").unwrap()
}

#[test]
fn comparisons_patterns_lists_and_nulls() {
    let cases = [
        (QueryFilter::eq("title", "a"), r#""posts"."title" = ?"#, 1),
        (QueryFilter::ne("views", 1), r#""posts"."views" <> ?"#, 1),
        (QueryFilter::lte("rating", 1.5), r#""posts"."rating" <= ?"#, 1),
        (QueryFilter::like("title", "a%"), r#""posts"."title" GLOB ?"#, 1),
        (QueryFilter::not_like("title", "a%"), r#"NOT ("posts"."title" GLOB ?)"#, 1),
        (QueryFilter::ilike("title", "a%"), r#""posts"."title" LIKE ? ESCAPE '\'"#, 1),
        (QueryFilter::not_ilike("title", "a%"), r#"NOT ("posts"."title" LIKE ? ESCAPE '\')"#, 1),
        (QueryFilter::in_values("views", [1, 2, 3]), r#""posts"."views" IN (SELECT value FROM json_each(?))"#, 1),
        (QueryFilter::not_in_values("views", [1]), r#"NOT ("posts"."views" IN (SELECT value FROM json_each(?)))"#, 1),
        (QueryFilter::in_values("views", Vec::<i32>::new()), "0", 0),
        (QueryFilter::not_in_values("views", Vec::<i32>::new()), "1", 0),
        (QueryFilter::is_null("rating"), r#""posts"."rating" IS NULL"#, 0),
        (QueryFilter::is_not_null("rating"), r#""posts"."rating" IS NOT NULL"#, 0),
    ];
    for (filter, expected, args) in cases {
        assert_eq!(where_of(filter), (expected.to_owned(), args));
    }
}

#[test]
fn tags_and_arrays_use_json_each() {
    let any = r#"EXISTS (SELECT 1 FROM json_each("posts"."__tags__") AS h WHERE h.value IN (SELECT w.value FROM json_each(?) AS w))"#;
    assert_eq!(where_of(QueryFilter::has_any_tag(["a", "b"])), (any.to_owned(), 1));
    let all = r#"NOT EXISTS (SELECT w.value FROM json_each(?) AS w EXCEPT SELECT h.value FROM json_each("posts"."__tags__") AS h WHERE h.value IS NOT NULL)"#;
    assert_eq!(where_of(QueryFilter::has_all_tags(["a"])), (all.to_owned(), 1));
    let (overlaps, _) = where_of(QueryFilter::array_overlaps("labels", ["x"]));
    assert_eq!(overlaps, any.replace("__tags__", "labels"));
    // A nullable array column keeps PostgreSQL's NULL, so `NOT (…)` does not pick NULL rows.
    static MAYBE: ColumnDef = ColumnDef {
        name: "maybe",
        ty: ColumnType::Array(ScalarType::Integer),
        nullable: true,
        int_range: None,
        primary_key: false,
        create: true,
        update: true,
        signal: true,
    };
    let array = Condition::Array { column: ColumnRef::Declared(&MAYBE), values: vec![Value::Integer(7)], all: true };
    let text = condition_text(&array).unwrap();
    let (prefix, rest) = text.split_at(text.find("NOT EXISTS").unwrap());
    assert_eq!(prefix, r#"(CASE WHEN "posts"."maybe" IS NULL THEN NULL ELSE "#);
    assert!(rest.ends_with("IS NOT NULL) END)"), "{rest}");
}

#[test]
fn json_operators_bind_their_paths() {
    let (text, args) = where_of(QueryFilter::json_path_eq("meta", ["a", "0"], json!({"b": 1})));
    assert_eq!((text.as_str(), args), (r#"("posts"."meta" -> ?) = ?"#, 2));
    let (text, args) = where_of(QueryFilter::json_path_text_eq("meta", ["a"], "x"));
    assert_eq!(
        (text.as_str(), args),
        (
            r#"(CASE json_type("posts"."meta", ?) WHEN 'text' THEN "posts"."meta" ->> ? WHEN 'null' THEN NULL ELSE "posts"."meta" -> ? END) = ?"#,
            4
        )
    );
    let (text, args) = where_of(QueryFilter::json_has_key("meta", "k"));
    assert_eq!(
        (text.as_str(), args),
        (
            r#"EXISTS (SELECT 1 FROM json_each("posts"."meta") AS e WHERE (CASE WHEN typeof(e.key) = 'text' THEN e.key WHEN e.type = 'text' THEN e.value END) = ?)"#,
            1
        )
    );
    let (text, args) = where_of(QueryFilter::json_path_lt("meta", ["a", "0"], json!(7)));
    assert_eq!(
        (text.as_str(), args),
        (
            r#"(CASE WHEN json_type("posts"."meta", ?) IN ('integer', 'real') THEN json_extract("posts"."meta", ?) END) < ?"#,
            3
        )
    );
    let (text, args) = where_of(QueryFilter::json_path_absent("meta", ["a", "b"]));
    assert_eq!((text.as_str(), args), (r#"(json_type("posts"."meta", ?) IS NULL)"#, 1));
    let meta = ColumnRef::find(POSTS, "meta").unwrap();
    let path = |segments: &[&str]| json_path(meta, &segments.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    assert_eq!(path(&[]).unwrap(), "$");
    assert_eq!(path(&["a", "0", "b c", "007"]).unwrap(), r#"$."a"[0]."b c"[7]"#);
    assert_eq!(path(&["-1", "1.5", "", "99999999999"]).unwrap(), r#"$."-1"."1.5".""."99999999999""#);
    assert_eq!(path(&["a\\b", "x'y", "$[0]"]).unwrap(), r#"$."a\\b"."x'y"."$[0]""#);
    let err = path(&["say \"hi\""]).unwrap_err();
    assert!(matches!(&err, StoreError::Unsupported { backend: "sqlite", .. }), "{err:?}");
}

#[test]
fn compound_conditions_are_parenthesized() {
    let filter = QueryFilter::not(QueryFilter::or(vec![
        QueryFilter::eq("title", "a"),
        QueryFilter::and(vec![QueryFilter::eq("views", 2), QueryFilter::is_null("rating")]),
    ]));
    let expected = r#"NOT (("posts"."title" = ? OR ("posts"."views" = ? AND "posts"."rating" IS NULL)))"#;
    assert_eq!(where_of(filter), (expected.to_owned(), 2));
    assert_eq!(where_of(QueryFilter::or(vec![])), ("0".to_owned(), 0));
    assert_eq!(where_of(QueryFilter::not(QueryFilter::and(vec![]))), ("NOT (1)".to_owned(), 0));
    // Top-level filters are separate terms of the WHERE clause.
    let q = resolve(QueryBuilder::new().filter(QueryFilter::eq("title", "a")).filter(QueryFilter::eq("views", 1)));
    let text = sql(count(&q));
    assert!(text.ends_with(r#"IS NULL AND "posts"."title" = ? AND "posts"."views" = ?"#), "{text}");
}

#[test]
fn like_patterns_become_globs() {
    let glob = |pattern: &str| like_to_glob(title(), pattern).unwrap();
    assert_eq!(glob("a%b_c"), "a*b?c");
    assert_eq!(glob(r"50\%\_"), "50%_");
    assert_eq!(glob("*?[x]"), "[*][?][[]x]");
    assert_eq!(glob(r"\*\[\\\a"), r"[*][[]\a");
    assert_eq!(glob("é_名%"), "é?名*");
    for pattern in [r"abc\", r"\\\"] {
        let err = like_to_glob(title(), pattern).unwrap_err();
        assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "title"), "{err:?}");
        let err = select_error(POSTS, QueryBuilder::new().filter(QueryFilter::ilike("title", pattern)));
        assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    }
    assert_eq!(glob(r"\\"), r"\");
}

#[test]
fn unsupported_conditions_say_so() {
    let cases = [
        (QueryFilter::gt("balance", 1), "ordering comparisons on decimal column `balance`"),
        (QueryFilter::lt("meta", json!(1)), "ordering comparisons on JSON column `meta`"),
        (QueryFilter::gte("labels", json!(["a"])), "ordering comparisons on array column `labels`"),
        (QueryFilter::json_contains("meta", json!({"a": 1})), "JSON containment (`@>`) on column `meta`"),
        (QueryFilter::json_path_eq("meta", ["a\"b"], json!(1)), "JSON path keys containing `\"` (column `meta`)"),
    ];
    for (filter, expected) in cases {
        let err = select_error(USERS, QueryBuilder::new().filter(filter));
        assert!(
            matches!(&err, StoreError::Unsupported { backend: "sqlite", operation } if operation == expected),
            "{err:?}"
        );
    }
    for filter in [
        QueryFilter::eq("balance", 1),
        QueryFilter::ne("meta", json!({"a": 1})),
        QueryFilter::eq("labels", json!(["a"])),
        QueryFilter::json_has_key("meta", "a\"b"),
    ] {
        let q = QueryBuilder::new().filter(filter).resolve(USERS).unwrap();
        assert!(select(&q).is_ok());
    }
}

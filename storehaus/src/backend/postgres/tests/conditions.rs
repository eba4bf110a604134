//! The WHERE text of each condition kind.

use super::*;
use serde_json::json;

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn texts(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| text(s)).collect())
}

#[test]
fn comparisons() {
    let cases = [
        (QueryFilter::eq("title", "a"), r#""title" = $1"#),
        (QueryFilter::ne("title", "a"), r#""title" <> $1"#),
        (QueryFilter::gt("title", "a"), r#""title" > $1"#),
        (QueryFilter::gte("title", "a"), r#""title" >= $1"#),
        (QueryFilter::lt("title", "a"), r#""title" < $1"#),
        (QueryFilter::lte("title", "a"), r#""title" <= $1"#),
    ];
    for (filter, expected) in cases {
        assert_eq!(where_of(filter), (expected.to_owned(), vec![TEXT], vec![text("a")]));
    }
    let (sql, types, values) = where_of(QueryFilter::eq("id", 7));
    assert_eq!((sql.as_str(), types, values), (r#""id" = $1"#, vec![BIGINT], vec![Value::BigInt(7)]));
}

#[test]
fn like_and_null_tests() {
    let cases = [
        (QueryFilter::like("title", "a%"), r#""title" LIKE $1"#),
        (QueryFilter::not_like("title", "a%"), r#""title" NOT LIKE $1"#),
        (QueryFilter::ilike("title", "a%"), r#""title" ILIKE $1"#),
        (QueryFilter::not_ilike("title", "a%"), r#""title" NOT ILIKE $1"#),
    ];
    for (filter, expected) in cases {
        assert_eq!(where_of(filter), (expected.to_owned(), vec![TEXT], vec![text("a%")]));
    }
    assert_eq!(where_of(QueryFilter::is_null("rating")), (r#""rating" IS NULL"#.to_owned(), vec![], vec![]));
    assert_eq!(where_of(QueryFilter::is_not_null("rating")), (r#""rating" IS NOT NULL"#.to_owned(), vec![], vec![]));
}

#[test]
fn in_lists_are_one_array_parameter_whatever_their_length() {
    let int_array = ColumnType::Array(ScalarType::Integer);
    for n in [0, 1, 1000] {
        let (sql, types, values) = where_of(QueryFilter::in_values("views", 0..n));
        assert_eq!(sql, r#""views" = ANY($1)"#);
        assert_eq!(types, [int_array]);
        assert_eq!(values, [Value::Array((0..n).map(Value::Integer).collect())]);
        let (sql, types, _) = where_of(QueryFilter::not_in_values("views", 0..n));
        assert_eq!(sql, r#"NOT ("views" = ANY($1))"#);
        assert_eq!(types, [int_array]);
    }
}

#[test]
fn tags_use_the_array_operators_the_gin_index_serves() {
    let (sql, types, values) = where_of(QueryFilter::has_any_tag(["a", "b"]));
    assert_eq!(
        (sql.as_str(), types, values),
        (r#""__tags__" && $1::TEXT[]"#, vec![TEXT_ARRAY], vec![texts(&["a", "b"])])
    );
    let (sql, types, values) = where_of(QueryFilter::has_all_tags(["a"]));
    assert_eq!((sql.as_str(), types, values), (r#""__tags__" @> $1::TEXT[]"#, vec![TEXT_ARRAY], vec![texts(&["a"])]));
}

#[test]
fn array_columns() {
    let (sql, types, values) = where_of(QueryFilter::array_contains("labels", ["x", "y"]));
    assert_eq!(
        (sql.as_str(), types, values),
        (r#""labels" @> $1::TEXT[]"#, vec![TEXT_ARRAY], vec![texts(&["x", "y"])])
    );
    let (sql, _, _) = where_of(QueryFilter::array_overlaps("labels", ["x"]));
    assert_eq!(sql, r#""labels" && $1::TEXT[]"#);
}

#[test]
fn json_operators() {
    let (sql, types, values) = where_of(QueryFilter::json_path_eq("meta", ["a", "0"], json!({"b": [1]})));
    assert_eq!(sql, r#"("meta" #> $1) = $2"#);
    assert_eq!(types, [TEXT_ARRAY, JSONB]);
    assert_eq!(values, [texts(&["a", "0"]), Value::Json(json!({"b": [1]}))]);

    let (sql, types, values) = where_of(QueryFilter::json_path_text_eq("meta", ["a"], "x"));
    assert_eq!(
        (sql.as_str(), types, values),
        (r#"("meta" #>> $1) = $2"#, vec![TEXT_ARRAY, TEXT], vec![texts(&["a"]), text("x")])
    );

    let (sql, types, _) = where_of(QueryFilter::json_contains("meta", json!({"k": 1})));
    assert_eq!((sql.as_str(), types), (r#""meta" @> $1"#, vec![JSONB]));

    // The `?` operator survives: PostgreSQL placeholders are `$n`, so nothing rewrites it.
    let (sql, types, values) = where_of(QueryFilter::json_has_key("meta", "k"));
    assert_eq!((sql.as_str(), types, values), (r#""meta" ? $1"#, vec![TEXT], vec![text("k")]));
}

#[test]
fn json_leaf_filters_bind_path_and_number() {
    let (sql, types, values) = where_of(QueryFilter::json_path_gte("meta", ["a", "0"], json!(1.5)));
    assert_eq!(
        sql,
        r#"(CASE WHEN jsonb_typeof("meta" #> $1) = 'number' THEN CAST("meta" #> $2 AS NUMERIC) END) >= CAST($3 AS NUMERIC)"#
    );
    assert_eq!(types, [TEXT_ARRAY, TEXT_ARRAY, TEXT]);
    assert_eq!(values, [texts(&["a", "0"]), texts(&["a", "0"]), text("1.5")]);
    let (sql, _, values) = where_of(QueryFilter::json_path_absent("meta", ["a", "b"]));
    assert_eq!((sql.as_str(), values), (r#"(("meta" #> $1) IS NULL)"#, vec![texts(&["a", "b"])]));
    let (sql, _, _) = where_of(QueryFilter::json_path_exists("meta", ["a"]));
    assert_eq!(sql, r#"(("meta" #> $1) IS NOT NULL)"#);
}

#[test]
fn boolean_combinations_keep_their_grouping() {
    let a = || QueryFilter::eq("views", 1);
    let b = || QueryFilter::eq("views", 2);
    let c = || QueryFilter::is_null("rating");
    let (sql, types, _) = where_of(QueryFilter::or(vec![a(), QueryFilter::and(vec![b(), c()])]));
    assert_eq!(sql, r#"("views" = $1 OR ("views" = $2 AND "rating" IS NULL))"#);
    assert_eq!(types, [INT, INT]);
    let (sql, _, _) = where_of(QueryFilter::and(vec![QueryFilter::or(vec![a(), b()]), c()]));
    assert_eq!(sql, r#"("views" = $1 OR "views" = $2) AND "rating" IS NULL"#);
    let (sql, _, _) = where_of(QueryFilter::not(QueryFilter::or(vec![a(), b()])));
    assert_eq!(sql, r#"NOT (("views" = $1 OR "views" = $2))"#);
    let (sql, _, _) = where_of(!QueryFilter::and(vec![a(), !c()]));
    assert_eq!(sql, r#"NOT (("views" = $1 AND NOT ("rating" IS NULL)))"#);
    assert_eq!(where_of(QueryFilter::or(vec![])).0, "FALSE");
    assert_eq!(where_of(QueryFilter::not(QueryFilter::and(vec![]))).0, "NOT (TRUE)");
}

#[test]
fn several_filters_and_visibility_combine_with_and() {
    let q = resolve(
        QueryBuilder::new()
            .filter(QueryFilter::eq("views", 1))
            .filter(QueryFilter::or(vec![QueryFilter::eq("title", "a"), QueryFilter::eq("title", "b")])),
    );
    let (sql, _) = render_select(&q).unwrap();
    let clause = sql.split(" WHERE ").nth(1).unwrap().split(" ORDER BY ").next().unwrap();
    assert_eq!(clause, r#""__deleted_at__" IS NULL AND "views" = $1 AND ("title" = $2 OR "title" = $3)"#);
}

//! Whole statements: columns, visibility, ordering, paging, locking, writes and their guards.

use super::*;
use crate::query::Cursor;
use crate::query::resolved::Order;
use serde_json::json;

const NOTES_COLUMNS: &str = r#""title", "key", "__created_at__", "__updated_at__", "__tags__""#;

fn sql(result: Result<(String, Values), StoreError>) -> String {
    result.unwrap_or_else(|e| panic!("{e}")).0
}

#[test]
fn select_reads_the_record_columns_of_live_rows_in_key_order() {
    let expected = format!(r#"SELECT {POSTS_COLUMNS} FROM "posts" WHERE "__deleted_at__" IS NULL ORDER BY "id" ASC"#);
    assert_eq!(sql(render_select(&resolve(QueryBuilder::new()))), expected);
    let notes = QueryBuilder::new().resolve(NOTES).unwrap();
    assert_eq!(sql(render_select(&notes)), format!(r#"SELECT {NOTES_COLUMNS} FROM "notes" ORDER BY "key" ASC"#));
    let with_deleted = resolve(QueryBuilder::new().with_deleted());
    assert_eq!(sql(render_select(&with_deleted)), format!(r#"SELECT {POSTS_COLUMNS} FROM "posts" ORDER BY "id" ASC"#));
    let only_deleted = resolve(QueryBuilder::new().only_deleted());
    let expected =
        format!(r#"SELECT {POSTS_COLUMNS} FROM "posts" WHERE "__deleted_at__" IS NOT NULL ORDER BY "id" ASC"#);
    assert_eq!(sql(render_select(&only_deleted)), expected);
}

#[test]
fn select_orders_pages_and_locks() {
    let q = resolve(crate::query::tests::fixtures::paged_posts());
    let (text, values) = render_select(&q).unwrap();
    let expected = format!(
        r#"SELECT {POSTS_COLUMNS} FROM "posts" WHERE "__deleted_at__" IS NULL AND "views" > $1 ORDER BY "rating" DESC, "title" ASC, "id" ASC LIMIT $2 OFFSET $3 FOR UPDATE SKIP LOCKED"#
    );
    assert_eq!(text, expected);
    assert_eq!(
        typed(values),
        (vec![INT, BIGINT, BIGINT], vec![Value::Integer(10), Value::BigInt(20), Value::BigInt(40)])
    );
    let locked = sql(render_select(&resolve(QueryBuilder::new().for_update())));
    assert!(locked.ends_with(r#"ORDER BY "id" ASC FOR UPDATE"#), "{locked}");
}

fn keyset_query(q: QueryBuilder, values: Vec<Value>) -> (String, (Vec<ColumnType>, Vec<Value>)) {
    let order: Vec<Order> = resolve(q.clone()).order;
    let cursor = Cursor::from_values(&order, values);
    let (text, values) = render_select(&resolve(q.with_deleted().after(&cursor))).unwrap();
    let clause = text.split(" WHERE ").nth(1).unwrap().split(" ORDER BY ").next().unwrap().to_owned();
    (clause, typed(values))
}

#[test]
fn keyset_predicate_for_mixed_directions_is_lexicographic() {
    let q = QueryBuilder::new().order_by("title", SortOrder::Asc).order_by("views", SortOrder::Desc);
    let values = vec![Value::Text("m".into()), Value::Integer(5), Value::BigInt(9)];
    let (clause, (types, bound)) = keyset_query(q, values);
    assert_eq!(
        clause,
        r#"("title" > $1 OR ("title" = $2 AND "views" < $3) OR ("title" = $4 AND "views" = $5 AND "id" > $6))"#
    );
    assert_eq!(types, [TEXT, TEXT, INT, TEXT, INT, BIGINT]);
    assert_eq!(bound[5], Value::BigInt(9));
}

#[test]
fn keyset_predicate_for_one_direction_is_a_row_comparison() {
    let q = QueryBuilder::new().order_by("views", SortOrder::Desc).order_by("id", SortOrder::Desc);
    let (clause, (types, _)) = keyset_query(q, vec![Value::Integer(5), Value::BigInt(9)]);
    assert_eq!(clause, r#"("views", "id") < ($1, $2)"#);
    assert_eq!(types, [INT, BIGINT]);
    let (clause, (types, _)) = keyset_query(QueryBuilder::new(), vec![Value::BigInt(9)]);
    assert_eq!((clause.as_str(), types), (r#""id" > $1"#, vec![BIGINT]));
    let q = QueryBuilder::new().filter(QueryFilter::eq("title", "x")).order_by("views", SortOrder::Asc);
    let (clause, _) = keyset_query(q, vec![Value::Integer(5), Value::BigInt(9)]);
    assert_eq!(clause, r#""title" = $1 AND ("views", "id") > ($2, $3)"#);
}

#[test]
fn count_keeps_the_filter_but_not_paging() {
    let q = resolve(QueryBuilder::new().filter(QueryFilter::eq("views", 1)).order_by("title", SortOrder::Asc).limit(3));
    let (text, values) = render_count(&q).unwrap();
    assert_eq!(text, r#"SELECT COUNT(*) FROM "posts" WHERE "__deleted_at__" IS NULL AND "views" = $1"#);
    assert_eq!(values.0.len(), 1);
    assert_eq!(sql(render_count(&QueryBuilder::new().resolve(NOTES).unwrap())), r#"SELECT COUNT(*) FROM "notes""#);
}

#[test]
fn update_sets_assignments_timestamps_and_version() {
    let q = resolve(QueryBuilder::new().filter(QueryFilter::eq("title", "a")));
    let set = UpdateSet::new()
        .set("title", json!("b"))
        .set("rating", json!(null))
        .increment("views", json!(2))
        .resolve(POSTS)
        .unwrap();
    let (text, values) = render_update(&q, &set).unwrap();
    let expected = format!(
        r#"UPDATE "posts" SET "title" = $1, "rating" = $2, "views" = "views" + $3, "__updated_at__" = now(), "__version__" = "__version__" + 1 WHERE "__deleted_at__" IS NULL AND "title" = $4 RETURNING {POSTS_COLUMNS}"#
    );
    assert_eq!(text, expected);
    let double = ColumnType::Scalar(ScalarType::Double);
    assert_eq!(
        typed(values),
        (
            vec![TEXT, double, INT, TEXT],
            vec![Value::Text("b".into()), Value::Null, Value::Integer(2), Value::Text("a".into())]
        )
    );

    let notes = QueryBuilder::new().all_rows().resolve(NOTES).unwrap();
    let set = UpdateSet::new().set("title", json!("x")).resolve(NOTES).unwrap();
    let expected = format!(r#"UPDATE "notes" SET "title" = $1, "__updated_at__" = now() RETURNING {NOTES_COLUMNS}"#);
    assert_eq!(sql(render_update(&notes, &set)), expected);
    let with_deleted = resolve(QueryBuilder::new().with_deleted().filter(QueryFilter::eq("id", 1)));
    let text = sql(render_update(&with_deleted, &UpdateSet::new().set("views", 0).resolve(POSTS).unwrap()));
    assert!(text.contains(r#" WHERE "id" = $2 RETURNING"#), "{text}");
}

#[test]
fn soft_delete_and_restore_flip_deleted_at() {
    let q = resolve(QueryBuilder::new().with_deleted().filter(QueryFilter::eq("id", 3)));
    let expected = format!(
        r#"UPDATE "posts" SET "__deleted_at__" = now(), "__updated_at__" = now() WHERE "__deleted_at__" IS NULL AND "id" = $1 RETURNING {POSTS_COLUMNS}"#
    );
    assert_eq!(sql(render_soft_delete(&q, true)), expected);
    let expected = format!(
        r#"UPDATE "posts" SET "__deleted_at__" = NULL, "__updated_at__" = now() WHERE "__deleted_at__" IS NOT NULL AND "id" = $1 RETURNING {POSTS_COLUMNS}"#
    );
    assert_eq!(sql(render_soft_delete(&q, false)), expected);
    let notes = QueryBuilder::new().filter(QueryFilter::eq("key", 1)).resolve(NOTES).unwrap();
    assert!(matches!(soft_delete(&notes), Err(StoreError::Validation { .. })));
    assert!(matches!(restore(&notes), Err(StoreError::Validation { .. })));
}

#[test]
fn delete_honours_the_query_visibility() {
    let q = |b: QueryBuilder| resolve(b.filter(QueryFilter::eq("id", 3)));
    let live = format!(r#"DELETE FROM "posts" WHERE "__deleted_at__" IS NULL AND "id" = $1 RETURNING {POSTS_COLUMNS}"#);
    assert_eq!(sql(render_delete(&q(QueryBuilder::new()))), live);
    let purge =
        format!(r#"DELETE FROM "posts" WHERE "__deleted_at__" IS NOT NULL AND "id" = $1 RETURNING {POSTS_COLUMNS}"#);
    assert_eq!(sql(render_delete(&q(QueryBuilder::new().only_deleted()))), purge);
    let any = format!(r#"DELETE FROM "posts" WHERE "id" = $1 RETURNING {POSTS_COLUMNS}"#);
    assert_eq!(sql(render_delete(&q(QueryBuilder::new().with_deleted()))), any);
    let all = QueryBuilder::new().all_rows().resolve(NOTES).unwrap();
    assert_eq!(sql(render_delete(&all)), format!(r#"DELETE FROM "notes" RETURNING {NOTES_COLUMNS}"#));
}

#[test]
fn soft_delete_of_every_row_keeps_to_live_ones() {
    let all = resolve(QueryBuilder::new().all_rows());
    let text = sql(render_soft_delete(&all, true));
    assert!(text.ends_with(&format!(r#"WHERE "__deleted_at__" IS NULL RETURNING {POSTS_COLUMNS}"#)), "{text}");
}

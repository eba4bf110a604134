//! Whole statements: columns, visibility, ordering, paging, locking, writes and their guards.

use super::*;
use crate::query::Cursor;
use crate::query::resolved::ColumnRef;
use crate::query::resolved::Order;

#[test]
fn select_reads_the_record_columns_of_live_rows_in_key_order() {
    let posts = column_list(POSTS);
    let expected =
        format!(r#"SELECT {posts} FROM "posts" WHERE "posts"."__deleted_at__" IS NULL ORDER BY "posts"."id" ASC"#);
    assert_eq!(sql(select(&resolve(QueryBuilder::new()))), expected);
    let notes = QueryBuilder::new().resolve(NOTES).unwrap();
    let expected = format!(r#"SELECT {} FROM "notes" ORDER BY "notes"."key" ASC"#, column_list(NOTES));
    assert_eq!(sql(select(&notes)), expected);
    let with_deleted = resolve(QueryBuilder::new().with_deleted());
    assert_eq!(sql(select(&with_deleted)), format!(r#"SELECT {posts} FROM "posts" ORDER BY "posts"."id" ASC"#));
    let only_deleted = resolve(QueryBuilder::new().only_deleted());
    let expected =
        format!(r#"SELECT {posts} FROM "posts" WHERE "posts"."__deleted_at__" IS NOT NULL ORDER BY "posts"."id" ASC"#);
    assert_eq!(sql(select(&only_deleted)), expected);
}

#[test]
fn select_orders_nulls_like_postgres_and_pages() {
    let q = resolve(crate::query::tests::fixtures::paged_posts());
    let statement = select(&q).unwrap();
    let expected = format!(
        r#"SELECT {} FROM "posts" WHERE "posts"."__deleted_at__" IS NULL AND "posts"."views" > ? ORDER BY "posts"."rating" DESC NULLS FIRST, "posts"."title" ASC, "posts"."id" ASC LIMIT 20 OFFSET 40"#,
        column_list(POSTS)
    );
    assert_eq!(statement.sql, expected);
    assert_eq!(statement.args.len(), 1);
    let text = sql(select(&resolve(QueryBuilder::new().order_by("rating", SortOrder::Asc).offset(3).for_update())));
    assert!(
        text.ends_with(r#"ORDER BY "posts"."rating" ASC NULLS LAST, "posts"."id" ASC LIMIT -1 OFFSET 3"#),
        "{text}"
    );
    let text = sql(select(&resolve(QueryBuilder::new().limit(i64::MAX))));
    assert!(text.ends_with(&format!(" LIMIT {}", i64::MAX)), "{text}");
    // Beyond SQLite's integers the count is refused, as on PostgreSQL, not capped.
    for query in [QueryBuilder::new().limit(u64::MAX), QueryBuilder::new().offset(u64::MAX)] {
        let err = select(&resolve(query)).unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err}");
    }
}

fn keyset_clause(q: QueryBuilder, values: Vec<Value>) -> (String, usize) {
    let cursor = Cursor::from_values(&resolve(q.clone()).order, values);
    let statement = select(&resolve(q.with_deleted().after(&cursor))).unwrap();
    let clause = statement.sql.split(" WHERE ").nth(1).unwrap().split(" ORDER BY ").next().unwrap().to_owned();
    (clause, statement.args.len())
}

#[test]
fn keyset_predicates_are_row_values_or_lexicographic() {
    let q = QueryBuilder::new().order_by("title", SortOrder::Asc).order_by("views", SortOrder::Desc);
    let (clause, args) = keyset_clause(q, vec![Value::Text("m".into()), Value::Integer(5), Value::BigInt(9)]);
    assert_eq!(
        clause,
        r#"("posts"."title" > ? OR ("posts"."title" = ? AND "posts"."views" < ?) OR ("posts"."title" = ? AND "posts"."views" = ? AND "posts"."id" > ?))"#
    );
    assert_eq!(args, 6);
    let q = QueryBuilder::new().order_by("views", SortOrder::Desc).order_by("id", SortOrder::Desc);
    let (clause, args) = keyset_clause(q, vec![Value::Integer(5), Value::BigInt(9)]);
    assert_eq!((clause.as_str(), args), (r#"("posts"."views", "posts"."id") < (?, ?)"#, 2));
    let (clause, _) = keyset_clause(QueryBuilder::new(), vec![Value::BigInt(9)]);
    assert_eq!(clause, r#""posts"."id" > ?"#);
    let q = QueryBuilder::new().filter(QueryFilter::eq("title", "x")).order_by("views", SortOrder::Asc);
    let (clause, _) = keyset_clause(q, vec![Value::Integer(5), Value::BigInt(9)]);
    assert_eq!(clause, r#""posts"."title" = ? AND ("posts"."views", "posts"."id") > (?, ?)"#);
}

#[test]
fn keys_that_do_not_sort_as_stored_are_refused() {
    for (field, kind) in [("balance", "decimal"), ("meta", "JSON"), ("labels", "array")] {
        let err = select_error(USERS, QueryBuilder::new().order_by(field, SortOrder::Asc));
        let expected = format!("sorting by {kind} column `{field}`");
        assert!(
            matches!(&err, StoreError::Unsupported { backend: "sqlite", operation } if *operation == expected),
            "{err:?}"
        );
    }
    let mut q = QueryBuilder::new().resolve(USERS).unwrap();
    q.order = vec![Order { column: ColumnRef::find(USERS, "balance").unwrap(), descending: false }];
    q.keyset = Some(crate::query::resolved::Keyset { after: vec![Value::Decimal(1.into())], before: false });
    // The keyset test comes before the ORDER BY that would refuse the sort key too.
    let err = select(&q).unwrap_err();
    assert!(err.to_string().contains("keyset pagination on decimal column `balance`"), "{err}");
    assert!(count(&QueryBuilder::new().order_by("balance", SortOrder::Asc).resolve(USERS).unwrap()).is_ok());
}

#[test]
fn count_keeps_the_filter_but_not_paging() {
    let q = resolve(QueryBuilder::new().filter(QueryFilter::eq("views", 1)).order_by("title", SortOrder::Asc).limit(3));
    let statement = count(&q).unwrap();
    let expected = r#"SELECT COUNT(*) FROM "posts" WHERE "posts"."__deleted_at__" IS NULL AND "posts"."views" = ?"#;
    assert_eq!((statement.sql.as_str(), statement.args.len()), (expected, 1));
    assert_eq!(sql(count(&QueryBuilder::new().resolve(NOTES).unwrap())), r#"SELECT COUNT(*) FROM "notes""#);
}

#[test]
fn update_sets_assignments_timestamps_and_version() {
    let q = resolve(QueryBuilder::new().filter(QueryFilter::eq("title", "a")));
    let set = UpdateSet::new()
        .set("title", "b")
        .set("rating", serde_json::Value::Null)
        .increment("views", 2)
        .resolve(POSTS)
        .unwrap();
    let statement = update(&q, &set, now()).unwrap();
    let expected = format!(
        r#"UPDATE "posts" SET "title" = ?, "rating" = ?, "views" = CASE WHEN "posts"."views" + ? BETWEEN -2147483648 AND 2147483647 AND typeof("posts"."views" + ?) = 'integer' THEN "posts"."views" + ? WHEN "posts"."views" IS NULL THEN NULL ELSE abs(-9223372036854775807 - 1) END, "__updated_at__" = ?, "__version__" = "posts"."__version__" + 1 WHERE "posts"."__deleted_at__" IS NULL AND "posts"."title" = ? RETURNING {}"#,
        column_list(POSTS)
    );
    // The increment binds its value three times: the range test, the type test and the sum.
    assert_eq!((statement.sql, statement.args.len()), (expected, 7));

    let notes = QueryBuilder::new().all_rows().resolve(NOTES).unwrap();
    let set = UpdateSet::new().set("title", "x").resolve(NOTES).unwrap();
    let expected = format!(r#"UPDATE "notes" SET "title" = ?, "__updated_at__" = ? RETURNING {}"#, column_list(NOTES));
    assert_eq!(sql(update(&notes, &set, now())), expected);

    let users = QueryBuilder::new().all_rows().resolve(USERS).unwrap();
    let err = update(&users, &UpdateSet::new().increment("balance", 1).resolve(USERS).unwrap(), now()).unwrap_err();
    assert!(matches!(&err, StoreError::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("decimal column `balance`"), "{err}");
    assert!(update(&users, &UpdateSet::new().increment("score", 1.5).resolve(USERS).unwrap(), now()).is_ok());
}

#[test]
fn soft_delete_and_restore_flip_deleted_at() {
    let q = resolve(QueryBuilder::new().with_deleted().filter(QueryFilter::eq("id", 3)));
    let columns = column_list(POSTS);
    let statement = soft_delete(&q, now()).unwrap();
    let expected = format!(
        r#"UPDATE "posts" SET "__deleted_at__" = ?, "__updated_at__" = ? WHERE "posts"."__deleted_at__" IS NULL AND "posts"."id" = ? RETURNING {columns}"#
    );
    assert_eq!((statement.sql, statement.args.len()), (expected, 3));
    let statement = restore(&q, now()).unwrap();
    let expected = format!(
        r#"UPDATE "posts" SET "__deleted_at__" = NULL, "__updated_at__" = ? WHERE "posts"."__deleted_at__" IS NOT NULL AND "posts"."id" = ? RETURNING {columns}"#
    );
    assert_eq!((statement.sql, statement.args.len()), (expected, 2));
    let notes = QueryBuilder::new().filter(QueryFilter::eq("key", 1)).resolve(NOTES).unwrap();
    for r in [soft_delete(&notes, now()), restore(&notes, now())] {
        assert!(matches!(&r, Err(StoreError::Validation { message, .. }) if message.contains("soft delete")), "{r:?}");
    }
}

#[test]
fn delete_honours_the_query_visibility() {
    let q = |b: QueryBuilder| resolve(b.filter(QueryFilter::eq("id", 3)));
    let columns = column_list(POSTS);
    let live = format!(
        r#"DELETE FROM "posts" WHERE "posts"."__deleted_at__" IS NULL AND "posts"."id" = ? RETURNING {columns}"#
    );
    assert_eq!(sql(delete(&q(QueryBuilder::new()))), live);
    let purge = format!(
        r#"DELETE FROM "posts" WHERE "posts"."__deleted_at__" IS NOT NULL AND "posts"."id" = ? RETURNING {columns}"#
    );
    assert_eq!(sql(delete(&q(QueryBuilder::new().only_deleted()))), purge);
    let any = format!(r#"DELETE FROM "posts" WHERE "posts"."id" = ? RETURNING {columns}"#);
    assert_eq!(sql(delete(&q(QueryBuilder::new().with_deleted()))), any);
    let all = QueryBuilder::new().all_rows().resolve(NOTES).unwrap();
    assert_eq!(sql(delete(&all)), format!(r#"DELETE FROM "notes" RETURNING {}"#, column_list(NOTES)));
}

#[test]
fn soft_delete_of_every_row_keeps_to_live_ones() {
    let all = resolve(QueryBuilder::new().all_rows());
    let text = sql(soft_delete(&all, now()));
    assert!(text.ends_with(&format!(r#"WHERE "posts"."__deleted_at__" IS NULL RETURNING {}"#, column_list(POSTS))));
}

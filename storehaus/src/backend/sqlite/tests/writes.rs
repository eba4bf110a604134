//! Bulk writes run on SQLite: what they change and the records they return.

use super::database::{Post, database, field, ids, posts, rows};
use super::*;
use chrono::Duration;

fn filtered(filter: QueryFilter) -> ResolvedQuery {
    resolve(QueryBuilder::new().filter(filter))
}

fn stamp(at: DateTime<Utc>) -> Value {
    Value::TimestampTz(at)
}

/// RETURNING order is unspecified in SQLite: rows by id.
fn by_id(mut rows: Vec<sqlx::sqlite::SqliteRow>) -> Vec<sqlx::sqlite::SqliteRow> {
    rows.sort_by_key(|r| sqlx::Row::get::<i64, _>(r, 0));
    rows
}

fn expected_ids(data: &[Post], check: impl Fn(&Post) -> bool) -> Vec<i64> {
    data.iter().filter(|p| check(p)).map(|p| p.id).collect()
}

#[tokio::test]
async fn update_where_sets_adds_and_bumps_the_version() {
    let data = posts();
    let pool = database(&data).await;
    let later = now() + Duration::seconds(5);
    let set = UpdateSet::new()
        .increment("views", 2)
        .decrement("rating", 0.5)
        .set("title", "it's; DROP TABLE posts; --")
        .resolve(POSTS)
        .unwrap();
    let returned = by_id(rows(&pool, update(&filtered(QueryFilter::eq("title", "alpha")), &set, later).unwrap()).await);
    let alphas: Vec<&Post> = data.iter().filter(|p| p.title == "alpha").collect();
    assert_eq!(returned.len(), alphas.len());
    for (row, p) in returned.iter().zip(&alphas) {
        assert_eq!(field(row, "id"), Value::BigInt(p.id));
        assert_eq!(field(row, "views"), Value::Integer(p.views + 2));
        assert_eq!(field(row, "rating"), p.rating.map_or(Value::Null, |r| Value::Double(r - 0.5)));
        assert_eq!(field(row, "title"), Value::Text("it's; DROP TABLE posts; --".into()));
        assert_eq!(field(row, "__version__"), Value::BigInt(2));
        assert_eq!(field(row, "__updated_at__"), stamp(later));
        assert_eq!(field(row, "__created_at__"), stamp(now()));
    }
    let q = filtered(QueryFilter::eq("title", "it's; DROP TABLE posts; --"));
    assert_eq!(ids(&pool, select(&q).unwrap()).await, alphas.iter().map(|p| p.id).collect::<Vec<_>>());
    // Nullable columns can be set to NULL; the rest stay untouched.
    let set = UpdateSet::new().set("rating", serde_json::Value::Null).resolve(POSTS).unwrap();
    let returned = rows(&pool, update(&filtered(QueryFilter::eq("id", 2)), &set, later).unwrap()).await;
    assert_eq!((field(&returned[0], "rating"), field(&returned[0], "views")), (Value::Null, Value::Integer(2)));
    let all = resolve(QueryBuilder::new().all_rows());
    let set = UpdateSet::new().increment("views", -100).resolve(POSTS).unwrap();
    assert_eq!(rows(&pool, update(&all, &set, later).unwrap()).await.len(), data.len());
    let q = filtered(QueryFilter::lt("views", -90));
    assert_eq!(ids(&pool, select(&q).unwrap()).await.len(), data.len());
}

#[tokio::test]
async fn soft_delete_and_restore_flip_only_rows_in_the_other_state() {
    let data = posts();
    let pool = database(&data).await;
    let later = now() + Duration::minutes(1);
    let ones = expected_ids(&data, |p| p.views == 1);
    let q = filtered(QueryFilter::eq("views", 1));
    let returned = rows(&pool, soft_delete(&q, later).unwrap()).await;
    let mut deleted_ids: Vec<i64> = returned.iter().map(|r| sqlx::Row::get(r, 0)).collect();
    deleted_ids.sort_unstable();
    assert_eq!(deleted_ids, ones);
    for row in &returned {
        assert_eq!((field(row, "__deleted_at__"), field(row, "__updated_at__")), (stamp(later), stamp(later)));
        assert_eq!(field(row, "__version__"), Value::BigInt(1));
    }
    assert!(rows(&pool, soft_delete(&q, later).unwrap()).await.is_empty(), "already deleted");
    let live = ids(&pool, select(&resolve(QueryBuilder::new())).unwrap()).await;
    assert_eq!(live, expected_ids(&data, |p| p.views != 1));
    let deleted = ids(&pool, select(&resolve(QueryBuilder::new().only_deleted())).unwrap()).await;
    assert_eq!(deleted, ones);
    let with_deleted = resolve(QueryBuilder::new().with_deleted());
    assert_eq!(ids(&pool, select(&with_deleted).unwrap()).await.len(), data.len());

    // Restore picks deleted rows whatever the query's visibility.
    let even = filtered(QueryFilter::has_any_tag(["even"]));
    let restored = by_id(rows(&pool, restore(&even, later + Duration::seconds(1)).unwrap()).await);
    let restored_ids: Vec<Value> = restored.iter().map(|r| field(r, "id")).collect();
    let even_ones = expected_ids(&data, |p| p.views == 1 && p.id % 2 == 0);
    assert_eq!(restored_ids, even_ones.iter().map(|id| Value::BigInt(*id)).collect::<Vec<_>>());
    for row in &restored {
        assert_eq!(field(row, "__deleted_at__"), Value::Null);
        assert_eq!(field(row, "__updated_at__"), stamp(later + Duration::seconds(1)));
    }
    assert!(rows(&pool, restore(&even, later).unwrap()).await.is_empty(), "nothing left to restore");
    let purge = resolve(QueryBuilder::new().only_deleted().all_rows());
    let mut purged = ids(&pool, delete(&purge).unwrap()).await;
    purged.sort_unstable();
    assert_eq!(purged, expected_ids(&data, |p| p.views == 1 && p.id % 2 == 1));
}

#[tokio::test]
async fn delete_removes_and_returns_the_rows() {
    let data = posts();
    let pool = database(&data).await;
    let q = filtered(QueryFilter::in_values("id", [3, 4, 999]));
    let returned = by_id(rows(&pool, delete(&q).unwrap()).await);
    assert_eq!(returned.iter().map(|r| field(r, "id")).collect::<Vec<_>>(), [Value::BigInt(3), Value::BigInt(4)]);
    assert_eq!(
        field(&returned[0], "__tags__"),
        Value::Array(vec![Value::Text("odd".into()), Value::Text("m0".into())])
    );
    assert!(
        ids(&pool, select(&resolve(QueryBuilder::new().with_deleted().filter(QueryFilter::eq("id", 3)))).unwrap())
            .await
            .is_empty()
    );
}

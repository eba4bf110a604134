//! The rendered statements run on PostgreSQL and select the rows the filters describe
//! (Cargo feature `testing`; skipped without a server).

use super::super::values::read_value;
use super::*;
use crate::backend::sql::record_columns;
use crate::query::Cursor;
use crate::schema::MigrateOptions;
use crate::testing::TestDatabase;
use serde_json::json;
use sqlx::{PgPool, Row};

/// The statements only these tests run.
fn count(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    statement(q.table, |s| sql::count(s, q))
}

fn delete(q: &ResolvedQuery) -> Result<Statement, StoreError> {
    statement(q.table, |s| sql::delete(s, q))
}

/// One row of the data set, as the test knows it.
#[derive(Debug, Clone)]
struct Post {
    id: i64,
    title: &'static str,
    views: i32,
    meta: serde_json::Value,
    labels: Vec<String>,
    rating: Option<f64>,
    tags: Vec<String>,
}

fn posts() -> Vec<Post> {
    (1..=60_i64)
        .map(|i| {
            let mut meta = json!({"n": i, "tag": format!("t{}", i % 2), "nested": {"k": i % 3}});
            if i % 5 == 0 {
                meta["flag"] = json!(true);
            }
            Post {
                id: i,
                title: ["a", "b", "c"][(i % 3) as usize],
                views: (i % 7) as i32,
                meta,
                labels: vec![format!("l{}", i % 4), "x".to_owned()],
                rating: (i % 6 != 0).then(|| i as f64 / 10.0),
                tags: vec![if i % 2 == 0 { "even" } else { "odd" }.to_owned(), format!("m{}", i % 3)],
            }
        })
        .collect()
}

async fn setup(db: &TestDatabase) -> PgPool {
    let pool = db.pool().await;
    pool.migrate(POSTS, &MigrateOptions::new()).await.unwrap();
    let pool = pool.as_postgres().unwrap().clone();
    for p in posts() {
        sqlx::query(
            "INSERT INTO posts (id, title, views, meta, labels, rating, __tags__) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p.id)
        .bind(p.title)
        .bind(p.views)
        .bind(&p.meta)
        .bind(&p.labels)
        .bind(p.rating)
        .bind(&p.tags)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool
}

async fn ids(pool: &PgPool, statement: Statement) -> Vec<i64> {
    let rows = sqlx::query_with(sqlx::AssertSqlSafe(&*statement.sql), statement.args)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| {
            panic!("{e}\n{}", statement.sql);
        });
    rows.iter().map(|r| r.get::<i64, _>(0)).collect()
}

async fn count_of(pool: &PgPool, q: &ResolvedQuery) -> i64 {
    let statement = count(q).unwrap();
    sqlx::query_with(sqlx::AssertSqlSafe(&*statement.sql), statement.args).fetch_one(pool).await.unwrap().get(0)
}

#[tokio::test]
async fn filters_select_the_rows_they_describe() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = setup(&db).await;
    let data = posts();
    type Check = fn(&Post) -> bool;
    let cases: Vec<(QueryFilter, Check)> = vec![
        (QueryFilter::eq("title", "a"), |p| p.title == "a"),
        (QueryFilter::ne("title", "a"), |p| p.title != "a"),
        (QueryFilter::gt("views", 3), |p| p.views > 3),
        (QueryFilter::lte("views", 3), |p| p.views <= 3),
        (QueryFilter::like("title", "a%"), |p| p.title == "a"),
        (QueryFilter::ilike("title", "B"), |p| p.title == "b"),
        (QueryFilter::not_ilike("title", "B"), |p| p.title != "b"),
        (QueryFilter::in_values("views", [1, 2]), |p| [1, 2].contains(&p.views)),
        (QueryFilter::in_values("views", Vec::<i32>::new()), |_| false),
        (QueryFilter::not_in_values("views", Vec::<i32>::new()), |_| true),
        (QueryFilter::not_in_values("views", [0]), |p| p.views != 0),
        (QueryFilter::is_null("rating"), |p| p.rating.is_none()),
        (QueryFilter::gte("rating", 5.5), |p| p.rating.is_some_and(|r| r >= 5.5)),
        (QueryFilter::has_any_tag(["even", "m1"]), |p| p.tags.iter().any(|t| t == "even" || t == "m1")),
        (QueryFilter::has_all_tags(["even", "m1"]), |p| {
            p.tags.iter().filter(|t| *t == "even" || *t == "m1").count() == 2
        }),
        (QueryFilter::has_all_tags(Vec::<String>::new()), |_| true),
        (QueryFilter::array_contains("labels", ["x", "l1"]), |p| p.labels.contains(&"l1".to_owned())),
        (QueryFilter::array_overlaps("labels", ["l2", "zz"]), |p| p.labels.contains(&"l2".to_owned())),
        (QueryFilter::json_path_eq("meta", ["nested", "k"], json!(1)), |p| p.meta["nested"]["k"] == json!(1)),
        (QueryFilter::json_path_text_eq("meta", ["n"], "7"), |p| p.id == 7),
        (QueryFilter::json_contains("meta", json!({"tag": "t0"})), |p| p.meta["tag"] == "t0"),
        (QueryFilter::json_has_key("meta", "flag"), |p| p.id % 5 == 0),
        (
            QueryFilter::or(vec![
                QueryFilter::eq("title", "a"),
                QueryFilter::and(vec![QueryFilter::eq("views", 2), QueryFilter::is_null("rating")]),
            ]),
            |p| p.title == "a" || (p.views == 2 && p.rating.is_none()),
        ),
        (QueryFilter::not(QueryFilter::or(vec![QueryFilter::eq("title", "a"), QueryFilter::eq("views", 0)])), |p| {
            !(p.title == "a" || p.views == 0)
        }),
        (QueryFilter::or(vec![]), |_| false),
    ];
    for (filter, check) in cases {
        let label = format!("{filter:?}");
        let q = resolve(QueryBuilder::new().filter(filter));
        let expected: Vec<i64> = data.iter().filter(|p| check(p)).map(|p| p.id).collect();
        assert_eq!(ids(&pool, select(&q).unwrap()).await, expected, "{label}");
        assert_eq!(count_of(&pool, &q).await, expected.len() as i64, "{label}");
    }
}

#[tokio::test]
async fn keyset_pages_concatenate_to_the_full_order() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = setup(&db).await;
    let orders = [
        vec![("title", SortOrder::Asc), ("views", SortOrder::Desc)],
        vec![("views", SortOrder::Desc)],
        vec![("title", SortOrder::Desc), ("views", SortOrder::Asc), ("id", SortOrder::Desc)],
        vec![("__created_at__", SortOrder::Asc)],
    ];
    for keys in orders {
        let base =
            keys.iter().fold(QueryBuilder::new().filter(QueryFilter::ne("views", 3)), |q, (f, o)| q.order_by(*f, *o));
        let all = ids(&pool, select(&resolve(base.clone())).unwrap()).await;
        let order = resolve(base.clone()).order;
        let columns: Vec<&str> = record_columns(POSTS).collect();
        let mut paged = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let q = match &cursor {
                Some(c) => base.clone().after(&Cursor::decode(&c.encode()).unwrap()).limit(7),
                None => base.clone().limit(7),
            };
            let statement = select(&resolve(q)).unwrap();
            let rows =
                sqlx::query_with(sqlx::AssertSqlSafe(&*statement.sql), statement.args).fetch_all(&pool).await.unwrap();
            let Some(last) = rows.last() else { break };
            paged.extend(rows.iter().map(|r| r.get::<i64, _>(0)));
            let values = order
                .iter()
                .map(|o| {
                    let index = columns.iter().position(|c| *c == o.column.name()).unwrap();
                    read_value(last, index, o.column.ty()).unwrap()
                })
                .collect();
            cursor = Some(Cursor::from_values(&order, values));
        }
        assert_eq!(paged, all, "{keys:?}");
        assert_eq!(all.len(), posts().iter().filter(|p| p.views != 3).count());
    }
}

#[tokio::test]
async fn writes_change_and_return_the_matching_rows() {
    let Some(db) = TestDatabase::new().await else { return };
    let pool = setup(&db).await;
    let a = resolve(QueryBuilder::new().filter(QueryFilter::eq("title", "a")));
    let set = UpdateSet::new().increment("views", json!(10)).set("rating", json!(null)).resolve(POSTS).unwrap();
    let statement = update(&a, &set).unwrap();
    let rows = sqlx::query_with(sqlx::AssertSqlSafe(&*statement.sql), statement.args).fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 20);
    for row in &rows {
        assert!(row.get::<i32, _>("views") >= 10);
        assert_eq!(row.get::<Option<f64>, _>("rating"), None);
        assert_eq!(row.get::<i64, _>("__version__"), 2);
    }
    let soft = ids(&pool, soft_delete(&a).unwrap()).await;
    assert_eq!(soft.len(), 20);
    assert_eq!(count_of(&pool, &resolve(QueryBuilder::new().all_rows())).await, 40);
    assert_eq!(count_of(&pool, &resolve(QueryBuilder::new().only_deleted())).await, 20);
    // Updating through a live-only query does not touch (or revive) deleted rows.
    assert!(ids(&pool, update(&a, &set).unwrap()).await.is_empty());
    let mut restored =
        ids(&pool, restore(&resolve(QueryBuilder::new().filter(QueryFilter::lt("id", 10)))).unwrap()).await;
    restored.sort_unstable();
    assert_eq!(restored, [3, 6, 9]);
    let purged = ids(&pool, delete(&resolve(QueryBuilder::new().only_deleted().all_rows())).unwrap()).await;
    assert_eq!(purged.len(), 17);
    assert_eq!(count_of(&pool, &resolve(QueryBuilder::new().with_deleted())).await, 43);

    let mut tx = pool.begin().await.unwrap();
    let statement = select(&resolve(QueryBuilder::new().for_update_skip_locked().limit(2))).unwrap();
    let locked =
        sqlx::query_with(sqlx::AssertSqlSafe(&*statement.sql), statement.args).fetch_all(&mut *tx).await.unwrap();
    assert_eq!(locked.len(), 2);
    let statement = select(&resolve(QueryBuilder::new().for_update_skip_locked().limit(2))).unwrap();
    let others = sqlx::query_with(sqlx::AssertSqlSafe(&*statement.sql), statement.args).fetch_all(&pool).await.unwrap();
    let first = |rows: &[sqlx::postgres::PgRow]| rows.iter().map(|r| r.get::<i64, _>(0)).collect::<Vec<_>>();
    assert!(first(&locked).iter().all(|id| !first(&others).contains(id)), "skip locked handed out a locked row");
    tx.rollback().await.unwrap();
}

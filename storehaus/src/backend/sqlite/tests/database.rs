//! The rendered statements run on an in-memory SQLite database and select the rows the filters
//! describe, sorted and paged as on PostgreSQL.

use super::super::values::{self as stored, read_value};
use super::*;
use crate::query::Cursor;
use crate::query::resolved::ColumnRef;
use serde_json::json;
use sqlx::sqlite::{SqlitePoolOptions, SqliteRow};
use sqlx::{Row, SqlitePool};

/// One row of the data set, as the test knows it.
#[derive(Debug, Clone)]
pub(super) struct Post {
    pub id: i64,
    pub title: String,
    pub views: i32,
    pub meta: serde_json::Value,
    pub labels: Vec<String>,
    pub rating: Option<f64>,
    pub tags: Vec<String>,
}

const TITLES: [&str; 10] =
    ["alpha", "Beta", "gamma", "50% off", "a_b", "axb", "x*y?[z]", "back\\slash", "Émile", "it's \"quoted\""];

pub(super) fn posts() -> Vec<Post> {
    let mut posts: Vec<Post> = (1..=40_i64)
        .map(|i| {
            let mut meta = json!({
                "n": i, "tag": format!("t{}", i % 2), "nested": {"k": i % 3},
                "ratio": i as f64 / 4.0, "list": [i % 4, format!("s{}", i % 2)],
            });
            if i % 5 == 0 {
                meta["flag"] = json!(true);
                meta["a\\b"] = json!("bs");
                meta["line\nbreak"] = json!("nl");
            }
            Post {
                id: i,
                title: TITLES[i as usize % TITLES.len()].to_owned(),
                views: (i % 7) as i32,
                meta,
                labels: if i % 9 == 0 { vec![] } else { vec![format!("l{}", i % 4), "x".to_owned()] },
                rating: (i % 6 != 0).then(|| i as f64 / 10.0),
                tags: vec![if i % 2 == 0 { "even" } else { "odd" }.to_owned(), format!("m{}", i % 3)],
            }
        })
        .collect();
    // Top-level JSON that is not an object: `?` also finds array elements and the string itself.
    posts[0].meta = json!(["s-key", 1, {"k": 2}]);
    posts[1].meta = json!("solo");
    posts
}

const CREATE: &str = r#"CREATE TABLE "posts" ("id" INTEGER PRIMARY KEY NOT NULL, "title" TEXT NOT NULL,
    "views" INTEGER NOT NULL, "meta" TEXT NOT NULL, "labels" TEXT NOT NULL, "rating" REAL,
    "__created_at__" TEXT NOT NULL, "__updated_at__" TEXT NOT NULL, "__tags__" TEXT NOT NULL DEFAULT '[]',
    "__deleted_at__" TEXT, "__version__" INTEGER NOT NULL DEFAULT 1) STRICT"#;

/// A one-connection in-memory database (each connection would have its own) holding `posts`.
pub(super) async fn database(posts: &[Post]) -> SqlitePool {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::query(CREATE).execute(&pool).await.unwrap();
    for p in posts {
        insert(&pool, p).await;
    }
    pool
}

pub(super) async fn insert(pool: &SqlitePool, p: &Post) {
    let text = |s: &str| Value::Text(s.to_owned());
    let texts = |items: &[String]| Value::Array(items.iter().map(|s| text(s)).collect());
    let at = Value::TimestampTz(now());
    let row = [
        Value::BigInt(p.id),
        text(&p.title),
        Value::Integer(p.views),
        Value::Json(p.meta.clone()),
        texts(&p.labels),
        p.rating.map_or(Value::Null, Value::Double),
        at.clone(),
        at,
        texts(&p.tags),
    ];
    let mut args = SqliteArguments::default();
    for (value, column) in row.into_iter().zip(POSTS.columns.iter().map(|c| c.ty).chain(system_types())) {
        stored::bind(&mut args, value, column).unwrap();
    }
    let sql = r#"INSERT INTO "posts" ("id", "title", "views", "meta", "labels", "rating", "__created_at__",
        "__updated_at__", "__tags__") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"#;
    sqlx::query_with(sql, args).execute(pool).await.unwrap();
}

fn system_types() -> impl Iterator<Item = ColumnType> {
    POSTS.system_columns().map(|c| c.ty)
}

pub(super) async fn rows(pool: &SqlitePool, statement: Statement) -> Vec<SqliteRow> {
    let sql = statement.sql.clone();
    sqlx::query_with(sqlx::AssertSqlSafe(&*statement.sql), statement.args)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
}

pub(super) async fn ids(pool: &SqlitePool, statement: Statement) -> Vec<i64> {
    rows(pool, statement).await.iter().map(|r| r.get::<i64, _>(0)).collect()
}

/// Column `name` of a returned record row.
pub(super) fn field(row: &SqliteRow, name: &str) -> Value {
    let index = record_columns(POSTS).position(|c| c == name).unwrap();
    let ty = ColumnRef::find(POSTS, name).unwrap().ty();
    read_value(row, index, ty).unwrap()
}

#[tokio::test]
async fn filters_select_the_rows_they_describe() {
    let data = posts();
    let pool = database(&data).await;
    type Check = fn(&Post) -> bool;
    fn has(p: &Post, tag: &str) -> bool {
        p.tags.iter().any(|t| t == tag)
    }
    fn label(p: &Post, l: &str) -> bool {
        p.labels.iter().any(|t| t == l)
    }
    let cases: Vec<(QueryFilter, Check)> = vec![
        (QueryFilter::eq("title", "alpha"), |p| p.title == "alpha"),
        (QueryFilter::ne("title", "alpha"), |p| p.title != "alpha"),
        (QueryFilter::gt("views", 3), |p| p.views > 3),
        (QueryFilter::lte("views", 3), |p| p.views <= 3),
        (QueryFilter::gte("rating", 2.5), |p| p.rating.is_some_and(|r| r >= 2.5)),
        (QueryFilter::lt("title", "a"), |p| p.title.as_str() < "a"),
        (QueryFilter::like("title", "a%"), |p| p.title.starts_with('a')),
        (QueryFilter::like("title", "a_b"), |p| ["a_b", "axb"].contains(&p.title.as_str())),
        (QueryFilter::like("title", r"a\_b"), |p| p.title == "a_b"),
        (QueryFilter::like("title", r"50\%%"), |p| p.title.starts_with("50%")),
        (QueryFilter::like("title", r"%\%%"), |p| p.title.contains('%')),
        (QueryFilter::like("title", "x*y?[z]"), |p| p.title == "x*y?[z]"),
        (QueryFilter::like("title", "x_y_[z]"), |p| p.title == "x*y?[z]"),
        (QueryFilter::like("title", r"%\\%"), |p| p.title.contains('\\')),
        (QueryFilter::like("title", "beta"), |_| false),
        (QueryFilter::like("title", "%'%"), |p| p.title.contains('\'')),
        (QueryFilter::not_like("title", "%a%"), |p| !p.title.contains('a')),
        (QueryFilter::ilike("title", "BETA"), |p| p.title == "Beta"),
        (QueryFilter::ilike("title", r"%\_%"), |p| p.title.contains('_')),
        (QueryFilter::not_ilike("title", "b%"), |p| !p.title.to_lowercase().starts_with('b')),
        // SQLite folds ASCII case only: PostgreSQL's ILIKE would match `Émile` here.
        (QueryFilter::ilike("title", "émile"), |_| false),
        (QueryFilter::in_values("views", [1, 2]), |p| [1, 2].contains(&p.views)),
        (QueryFilter::in_values("title", ["alpha", "it's \"quoted\""]), |p| {
            ["alpha", "it's \"quoted\""].contains(&p.title.as_str())
        }),
        (QueryFilter::in_values("views", Vec::<i32>::new()), |_| false),
        (QueryFilter::not_in_values("views", Vec::<i32>::new()), |_| true),
        (QueryFilter::not_in_values("views", [0]), |p| p.views != 0),
        (QueryFilter::not_in_values("rating", [0.1]), |p| p.rating.is_some_and(|r| r != 0.1)),
        (QueryFilter::is_null("rating"), |p| p.rating.is_none()),
        (QueryFilter::has_any_tag(["even", "m1"]), |p| has(p, "even") || has(p, "m1")),
        (QueryFilter::has_any_tag(Vec::<String>::new()), |_| false),
        (QueryFilter::has_all_tags(["even", "m1"]), |p| has(p, "even") && has(p, "m1")),
        (QueryFilter::has_all_tags(["even", "nope"]), |_| false),
        (QueryFilter::has_all_tags(Vec::<String>::new()), |_| true),
        (QueryFilter::array_contains("labels", ["x", "l1"]), |p| label(p, "l1")),
        (QueryFilter::array_contains("labels", Vec::<String>::new()), |_| true),
        (QueryFilter::array_overlaps("labels", ["l2", "zz"]), |p| label(p, "l2")),
        (QueryFilter::not(QueryFilter::array_overlaps("labels", ["x"])), |p| p.labels.is_empty()),
        (QueryFilter::json_path_eq("meta", ["nested", "k"], json!(1)), |p| p.meta["nested"]["k"] == json!(1)),
        (QueryFilter::json_path_eq("meta", ["list"], json!([1, "s1"])), |p| p.meta["list"] == json!([1, "s1"])),
        (QueryFilter::json_path_eq("meta", ["nested"], json!({"k": 2})), |p| p.meta["nested"] == json!({"k": 2})),
        (QueryFilter::json_path_eq("meta", ["2"], json!({"k": 2})), |p| p.id == 1),
        (QueryFilter::json_path_eq("meta", Vec::<String>::new(), json!("solo")), |p| p.id == 2),
        (QueryFilter::json_path_text_eq("meta", ["n"], "7"), |p| p.id == 7),
        (QueryFilter::json_path_text_eq("meta", ["ratio"], "2.5"), |p| p.id == 10),
        (QueryFilter::json_path_text_eq("meta", ["ratio"], "1.0"), |p| p.id == 4),
        (QueryFilter::json_path_text_eq("meta", ["tag"], "t1"), |p| p.meta["tag"] == "t1"),
        (QueryFilter::json_path_text_eq("meta", ["flag"], "true"), |p| p.meta["flag"] == true),
        (QueryFilter::json_path_text_eq("meta", ["list", "1"], "s0"), |p| p.meta["list"][1] == "s0"),
        (QueryFilter::json_path_text_eq("meta", ["0"], "s-key"), |p| p.id == 1),
        (QueryFilter::json_path_text_eq("meta", ["a\\b"], "bs"), |p| p.meta["a\\b"] == "bs"),
        (QueryFilter::json_path_text_eq("meta", ["line\nbreak"], "nl"), |p| p.meta["line\nbreak"] == "nl"),
        (QueryFilter::json_path_text_eq("meta", ["missing"], "x"), |_| false),
        (QueryFilter::json_has_key("meta", "flag"), |p| p.meta.get("flag").is_some()),
        (QueryFilter::json_has_key("meta", "a\\b"), |p| p.meta.get("a\\b").is_some()),
        (QueryFilter::json_has_key("meta", "s-key"), |p| p.id == 1),
        (QueryFilter::json_has_key("meta", "solo"), |p| p.id == 2),
        (QueryFilter::json_has_key("meta", "0"), |_| false),
        (
            QueryFilter::or(vec![
                QueryFilter::eq("title", "alpha"),
                QueryFilter::and(vec![QueryFilter::eq("views", 2), QueryFilter::is_null("rating")]),
            ]),
            |p| p.title == "alpha" || (p.views == 2 && p.rating.is_none()),
        ),
        (
            QueryFilter::not(QueryFilter::or(vec![QueryFilter::eq("title", "alpha"), QueryFilter::eq("views", 0)])),
            |p| !(p.title == "alpha" || p.views == 0),
        ),
        (QueryFilter::or(vec![]), |_| false),
        (QueryFilter::not(QueryFilter::and(vec![])), |_| false),
    ];
    for (filter, check) in cases {
        let q = resolve(QueryBuilder::new().filter(filter.clone()));
        let expected: Vec<i64> = data.iter().filter(|p| check(p)).map(|p| p.id).collect();
        assert_eq!(ids(&pool, select(&q).unwrap()).await, expected, "{filter:?}");
        let counted: i64 = rows(&pool, count(&q).unwrap()).await[0].get(0);
        assert_eq!(counted, expected.len() as i64, "{filter:?}");
    }
}

#[tokio::test]
async fn order_puts_nulls_where_postgres_does_and_offset_works_alone() {
    let data = posts();
    let pool = database(&data).await;
    let mut asc: Vec<&Post> = data.iter().collect();
    asc.sort_by(|a, b| match (a.rating, b.rating) {
        (Some(x), Some(y)) => x.total_cmp(&y).then(a.id.cmp(&b.id)),
        (x, y) => x.is_none().cmp(&y.is_none()).then(a.id.cmp(&b.id)),
    });
    let asc_ids: Vec<i64> = asc.iter().map(|p| p.id).collect();
    let q = resolve(QueryBuilder::new().order_by("rating", SortOrder::Asc));
    assert_eq!(ids(&pool, select(&q).unwrap()).await, asc_ids);
    let mut desc: Vec<&Post> = data.iter().collect();
    desc.sort_by(|a, b| match (a.rating, b.rating) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.id.cmp(&b.id)),
        (x, y) => y.is_none().cmp(&x.is_none()).then(a.id.cmp(&b.id)),
    });
    let q = resolve(QueryBuilder::new().order_by("rating", SortOrder::Desc));
    let got = ids(&pool, select(&q).unwrap()).await;
    assert_eq!(got, desc.iter().map(|p| p.id).collect::<Vec<_>>());
    assert!(data.iter().find(|p| p.id == got[0]).unwrap().rating.is_none());

    let q = resolve(QueryBuilder::new().order_by("rating", SortOrder::Asc).offset(30));
    assert_eq!(ids(&pool, select(&q).unwrap()).await, asc_ids[30..]);
    let q = resolve(QueryBuilder::new().order_by("rating", SortOrder::Asc).offset(5).limit(3));
    assert_eq!(ids(&pool, select(&q).unwrap()).await, asc_ids[5..8]);
    let q = resolve(QueryBuilder::new().limit(0));
    assert!(ids(&pool, select(&q).unwrap()).await.is_empty());
}

/// Every row once, in `builder`'s order, by pages of 7 continued with cursors.
async fn pages(pool: &SqlitePool, data: &[Post], builder: QueryBuilder) -> Vec<i64> {
    let order = resolve(builder.clone()).order;
    let (mut seen, mut after) = (Vec::new(), None::<Cursor>);
    loop {
        let b = builder.clone().limit(7);
        let q = resolve(match &after {
            Some(cursor) => b.after(cursor),
            None => b,
        });
        let page = ids(pool, select(&q).unwrap()).await;
        let Some(last) = page.last() else { return seen };
        let p = data.iter().find(|p| p.id == *last).unwrap();
        let values = order
            .iter()
            .map(|o| match o.column.name() {
                "title" => Value::Text(p.title.clone()),
                "views" => Value::Integer(p.views),
                _ => Value::BigInt(p.id),
            })
            .collect();
        after = Some(Cursor::from_values(&order, values));
        seen.extend(page);
    }
}

#[tokio::test]
async fn keyset_pages_cover_every_row_once_in_order() {
    let data = posts();
    let pool = database(&data).await;
    let mixed = QueryBuilder::new().order_by("title", SortOrder::Asc).order_by("views", SortOrder::Desc);
    let mut expected = data.clone();
    expected.sort_by(|a, b| a.title.cmp(&b.title).then(b.views.cmp(&a.views)).then(a.id.cmp(&b.id)));
    assert_eq!(pages(&pool, &data, mixed).await, expected.iter().map(|p| p.id).collect::<Vec<_>>());
    let same = QueryBuilder::new().order_by("views", SortOrder::Desc).order_by("id", SortOrder::Desc);
    expected.sort_by(|a, b| b.views.cmp(&a.views).then(b.id.cmp(&a.id)));
    assert_eq!(pages(&pool, &data, same).await, expected.iter().map(|p| p.id).collect::<Vec<_>>());
}

//! The tables (diesel_bench's `users`, `posts` and `comments`, as StoreHaus models), the plain row
//! structs the raw contenders decode into, SeaORM's entities, and seeding.

pub mod scoped;
pub mod sea;

use crate::Result;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Row};
use storehaus::prelude::*;

pub const USERS: &str = "bench_users";
pub const POSTS: &str = "bench_posts";
pub const COMMENTS: &str = "bench_comments";

#[model]
#[table(name = "bench_users")]
#[has_many(Post, foreign_key = "user_id")]
pub struct User {
    #[primary_key]
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

/// No `#[belongs_to(User)]`: its foreign key would refuse emptying `bench_users` alone, as the
/// other workloads do, and check every post they write.
#[model]
#[table(name = "bench_posts")]
#[has_many(Comment, foreign_key = "post_id")]
pub struct Post {
    #[primary_key]
    pub id: i32,
    /// Indexed, as a foreign key would be: both the join and `user_id = ANY($1)` use it.
    #[index]
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
}

/// diesel_bench's comments, for loading three levels of relations.
#[model]
#[table(name = "bench_comments")]
pub struct Comment {
    #[primary_key]
    pub id: i32,
    /// Indexed, as a foreign key would be: `post_id = ANY($1)` uses it.
    #[index]
    pub post_id: i32,
    pub text: String,
}

/// A `bench_users` row with the system columns StoreHaus reads, in its column order.
#[derive(Debug, Clone)]
#[expect(dead_code, reason = "decoded as a result; what is read of it does not matter")]
pub struct UserRow {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tags: Vec<String>,
}

/// A `bench_posts` row with the system columns, in StoreHaus's column order.
#[derive(Debug, Clone)]
#[expect(dead_code, reason = "decoded as a result; what is read of it does not matter")]
pub struct PostRow {
    pub id: i32,
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tags: Vec<String>,
}

/// Columns are read by position, as StoreHaus reads them: the fastest way sqlx offers.
impl<'r> FromRow<'r, PgRow> for UserRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(UserRow {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            hair_color: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            tags: row.try_get(5)?,
        })
    }
}

impl UserRow {
    pub fn from_pg(row: &tokio_postgres::Row) -> std::result::Result<Self, tokio_postgres::Error> {
        Ok(UserRow {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            hair_color: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            tags: row.try_get(5)?,
        })
    }
}

impl PostRow {
    /// The post in columns `at..at + 7` of a joined row; `None` where the LEFT JOIN found none.
    pub fn from_sqlx_at(row: &PgRow, at: usize) -> sqlx::Result<Option<Self>> {
        let Some(id) = row.try_get::<Option<i32>, _>(at)? else { return Ok(None) };
        Ok(Some(PostRow {
            id,
            user_id: row.try_get(at + 1)?,
            title: row.try_get(at + 2)?,
            body: row.try_get(at + 3)?,
            created_at: row.try_get(at + 4)?,
            updated_at: row.try_get(at + 5)?,
            tags: row.try_get(at + 6)?,
        }))
    }

    pub fn from_pg_at(
        row: &tokio_postgres::Row,
        at: usize,
    ) -> std::result::Result<Option<Self>, tokio_postgres::Error> {
        let Some(id) = row.try_get::<_, Option<i32>>(at)? else { return Ok(None) };
        Ok(Some(PostRow {
            id,
            user_id: row.try_get(at + 1)?,
            title: row.try_get(at + 2)?,
            body: row.try_get(at + 3)?,
            created_at: row.try_get(at + 4)?,
            updated_at: row.try_get(at + 5)?,
            tags: row.try_get(at + 6)?,
        }))
    }
}

/// A `bench_comments` row with the system columns, in StoreHaus's column order.
#[derive(Debug, Clone)]
#[expect(dead_code, reason = "decoded as a result; what is read of it does not matter")]
pub struct CommentRow {
    pub id: i32,
    pub post_id: i32,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tags: Vec<String>,
}

impl<'r> FromRow<'r, PgRow> for CommentRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(CommentRow {
            id: row.try_get(0)?,
            post_id: row.try_get(1)?,
            text: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            tags: row.try_get(5)?,
        })
    }
}

impl CommentRow {
    pub fn from_pg(row: &tokio_postgres::Row) -> std::result::Result<Self, tokio_postgres::Error> {
        Ok(CommentRow {
            id: row.try_get(0)?,
            post_id: row.try_get(1)?,
            text: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            tags: row.try_get(5)?,
        })
    }
}

impl<'r> FromRow<'r, PgRow> for PostRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        PostRow::from_sqlx_at(row, 0)?.ok_or_else(|| sqlx::Error::Decode("a post without an id".into()))
    }
}

/// A users LEFT JOIN posts row.
#[derive(Debug, Clone)]
#[expect(dead_code, reason = "decoded as a result; what is read of it does not matter")]
pub struct JoinRow(pub UserRow, pub Option<PostRow>);

impl<'r> FromRow<'r, PgRow> for JoinRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(JoinRow(UserRow::from_row(row)?, PostRow::from_sqlx_at(row, 6)?))
    }
}

/// The user diesel_bench would insert as number `i`.
pub fn new_user(id: i32, i: usize, hair_color: Option<&str>) -> User {
    User { id, name: format!("User {i}"), hair_color: hair_color.map(str::to_owned) }
}

/// diesel_bench's medium query data: even users are black-haired, odd ones brown.
pub fn medium_hair(i: usize) -> Option<&'static str> {
    Some(if i.is_multiple_of(2) { "black" } else { "brown" })
}

/// Posts each seeded user gets in the medium-complex workload.
pub const POSTS_PER_USER: usize = 2;

/// Empties the bench tables (outside any timed region). Here and below, statement text names only
/// the bench's own tables and database, so sqlx is told it is safe (`AssertSqlSafe`).
pub async fn truncate(pool: &PgPool, tables: &[&str]) -> Result<()> {
    let list = tables.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
    sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE {list}"))).execute(pool).await?;
    Ok(())
}

/// Users `1..=n`, with names and hair colours as diesel_bench makes them; then ANALYZE.
pub async fn seed_users(pool: &PgPool, n: usize, hair: fn(usize) -> Option<&'static str>) -> Result<()> {
    let ids: Vec<i32> = (1..=n).map(id).collect();
    let names: Vec<String> = (0..n).map(|i| format!("User {i}")).collect();
    let hairs: Vec<Option<String>> = (0..n).map(|i| hair(i).map(str::to_owned)).collect();
    sqlx::query(
        "INSERT INTO \"bench_users\" (\"id\", \"name\", \"hair_color\") \
         SELECT * FROM UNNEST($1::int4[], $2::text[], $3::text[])",
    )
    .bind(ids)
    .bind(names)
    .bind(hairs)
    .execute(pool)
    .await?;
    analyze(pool, USERS).await
}

/// `per_user` posts for each of users `1..=users`; then ANALYZE.
pub async fn seed_posts(pool: &PgPool, users: usize, per_user: usize) -> Result<()> {
    let n = users * per_user;
    let ids: Vec<i32> = (1..=n).map(id).collect();
    let user_ids: Vec<i32> = (0..n).map(|i| id(i / per_user + 1)).collect();
    let titles: Vec<String> = (0..n).map(|i| format!("Post {i}")).collect();
    let bodies: Vec<Option<String>> = (0..n).map(|i| Some(format!("The body of post {i}."))).collect();
    sqlx::query(
        "INSERT INTO \"bench_posts\" (\"id\", \"user_id\", \"title\", \"body\") \
         SELECT * FROM UNNEST($1::int4[], $2::int4[], $3::text[], $4::text[])",
    )
    .bind(ids)
    .bind(user_ids)
    .bind(titles)
    .bind(bodies)
    .execute(pool)
    .await?;
    analyze(pool, POSTS).await
}

/// `per_post` comments for each of posts `1..=posts`; then ANALYZE.
pub async fn seed_comments(pool: &PgPool, posts: usize, per_post: usize) -> Result<()> {
    let n = posts * per_post;
    let ids: Vec<i32> = (1..=n).map(id).collect();
    let post_ids: Vec<i32> = (0..n).map(|i| id(i / per_post + 1)).collect();
    let texts: Vec<String> = (0..n).map(|i| format!("Comment {i}")).collect();
    sqlx::query(
        "INSERT INTO \"bench_comments\" (\"id\", \"post_id\", \"text\") \
         SELECT * FROM UNNEST($1::int4[], $2::int4[], $3::text[])",
    )
    .bind(ids)
    .bind(post_ids)
    .bind(texts)
    .execute(pool)
    .await?;
    analyze(pool, COMMENTS).await
}

/// Fresh statistics, so every contender's statements get the same, sensible plan.
async fn analyze(pool: &PgPool, table: &str) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE \"{table}\""))).execute(pool).await?;
    Ok(())
}

/// Row numbers are small; a key that does not fit `i32` is a bug in the bench.
pub fn id(n: usize) -> i32 {
    i32::try_from(n).expect("bench ids fit in i32")
}

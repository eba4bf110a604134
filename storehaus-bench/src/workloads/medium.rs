//! diesel_bench's `medium_complex_query`: the black-haired users with their posts.
//!
//! Every contender sends one `users LEFT JOIN posts WHERE hair_color = $1` statement. StoreHaus
//! joins the relation (`User::posts().joined()`) and folds each user's rows into one record with
//! its posts; `sqlx-same-sql` sends that very statement through sqlx and folds its rows the same
//! way, which separates the cost of the library from the cost of the SQL. Raw sqlx and
//! tokio-postgres send their own join text and keep one (user, post) pair per row; SeaORM uses
//! its join, `find_also_related`.

use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{
    JoinRow, POSTS, POSTS_PER_USER, PostRow, USERS, User, UserRow, medium_hair, sea, seed_posts, seed_users, truncate,
};
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use storehaus::{Loaded, QueryBuilder};

pub const NAME: &str = "medium_complex_query";
const SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];
const HAIR: &str = "black";

/// Users with their posts, one entry per user.
type UsersWithPosts = Vec<(UserRow, Vec<PostRow>)>;

async fn storehaus_way(b: &Bench) -> Result<Vec<Loaded<User>>> {
    let query = QueryBuilder::new().filter(User::columns().hair_color.eq(HAIR.to_owned()));
    Ok(b.users.find_with(query, User::posts().joined()).await?)
}

fn storehaus_posts(found: &[Loaded<User>]) -> usize {
    found.iter().map(|user| user.related(User::posts()).len()).sum()
}

/// StoreHaus's joined statement on raw sqlx, folded as StoreHaus folds it: a user's rows are
/// adjacent (the order starts with the user's key), the user is decoded from the first of them,
/// and a row without a post (the LEFT JOIN found none) adds none. Rows are decoded as they arrive.
async fn sqlx_same_sql(b: &Bench) -> Result<UsersWithPosts> {
    let mut last = None;
    let rows = sqlx::query(sql::FIND_USERS_BY_HAIR_WITH_POSTS)
        .bind(HAIR)
        .try_map(move |row: PgRow| {
            let id: i32 = row.try_get(0)?;
            let first = last != Some(id);
            last = Some(id);
            let user = if first { Some(UserRow::from_row(&row)?) } else { None };
            Ok((user, PostRow::from_sqlx_at(&row, 6)?))
        })
        .fetch_all(&b.sqlx)
        .await?;
    let mut found: UsersWithPosts = Vec::new();
    for (user, post) in rows {
        if let Some(user) = user {
            found.push((user, Vec::new()));
        }
        if let Some(post) = post
            && let Some((_, posts)) = found.last_mut()
        {
            posts.push(post);
        }
    }
    Ok(found)
}

fn posts_in(found: &UsersWithPosts) -> usize {
    found.iter().map(|(_, posts)| posts.len()).sum()
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    b.note(format!(
        "{NAME}: every contender sends one users LEFT JOIN posts; StoreHaus (User::posts().joined()) and \
         sqlx-same-sql send StoreHaus's text and fold each user's rows into one user with its posts; sqlx and \
         tokio-postgres keep a (user, post) pair per row. Size = users seeded, {POSTS_PER_USER} posts each; half \
         the users match."
    ));
    let mut out = Vec::new();
    for size in SIZES {
        truncate(&b.setup, &[USERS, POSTS]).await?;
        seed_users(&b.setup, size, medium_hair).await?;
        seed_posts(&b.setup, size, POSTS_PER_USER).await?;
        let users = size.div_ceil(2);
        let joined = users * POSTS_PER_USER;
        let join = &b.pg.prepare(sql::USERS_WITH_POSTS).await?;
        let mut contenders = vec![
            Contender::new("storehaus", move |_| {
                Box::pin(async move {
                    let (t, found) = timed!(storehaus_way(b).await?);
                    expect_rows("storehaus", found.len(), users)?;
                    expect_rows("storehaus", storehaus_posts(&found), joined)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx", move |_| {
                Box::pin(async move {
                    let (t, rows) = timed!(
                        sqlx::query_as::<_, JoinRow>(sql::USERS_WITH_POSTS).bind(HAIR).fetch_all(&b.sqlx).await?
                    );
                    expect_rows("sqlx", rows.len(), joined)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx-same-sql", move |_| {
                Box::pin(async move {
                    let (t, found) = timed!(sqlx_same_sql(b).await?);
                    expect_rows("sqlx-same-sql", found.len(), users)?;
                    expect_rows("sqlx-same-sql", posts_in(&found), joined)?;
                    Ok(t)
                })
            }),
            Contender::new("tokio-postgres", move |_| {
                Box::pin(async move {
                    let (t, rows) = timed!(
                        b.pg.query(join, &[&HAIR])
                            .await?
                            .iter()
                            .map(|row| Ok((UserRow::from_pg(row)?, PostRow::from_pg_at(row, 6)?)))
                            .collect::<Result<Vec<_>, tokio_postgres::Error>>()?
                    );
                    expect_rows("tokio-postgres", rows.len(), joined)?;
                    Ok(t)
                })
            }),
            Contender::new("sea-orm", move |_| {
                Box::pin(async move {
                    let (t, rows) = timed!(
                        sea::user::Entity::find()
                            .find_also_related(sea::post::Entity)
                            .filter(sea::user::Column::HairColor.eq(HAIR))
                            .order_by_asc(sea::user::Column::Id)
                            .order_by_asc(sea::post::Column::Id)
                            .all(&b.sea)
                            .await?
                    );
                    expect_rows("sea-orm", rows.len(), joined)?;
                    Ok(t)
                })
            }),
        ];
        let cost = if size >= 10_000 { Cost::Heavy } else { Cost::Light };
        out.extend(measure(NAME, size as u64, b.mode.plan(cost), &mut contenders).await?);
    }
    Ok(out)
}

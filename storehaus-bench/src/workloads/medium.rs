//! diesel_bench's `medium_complex_query`: the black-haired users with their posts.
//!
//! The raw contenders send `users LEFT JOIN posts WHERE hair_color = $1`. StoreHaus has no joins,
//! so it does it the StoreHaus way: the users by filter, then their posts by `user_id = ANY(ids)`,
//! zipped in memory. `sqlx-same-sql` sends those two StoreHaus statements through sqlx, which
//! separates the cost of the strategy from the cost of the library. SeaORM uses its join,
//! `find_also_related`.

use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{
    JoinRow, POSTS, POSTS_PER_USER, Post, PostRow, USERS, User, UserRow, medium_hair, sea, seed_posts, seed_users,
    truncate,
};
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use storehaus::{QueryBuilder, Record};

pub const NAME: &str = "medium_complex_query";
const SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];
const HAIR: &str = "black";

/// Users with their posts, the shape a two-query load naturally gives.
type UsersWithPosts<U, P> = Vec<(U, Vec<P>)>;

/// Groups `posts` under their users, keeping the users' order.
fn zip<U, P>(users: Vec<U>, posts: Vec<P>, user_id: fn(&U) -> i32, post_user: fn(&P) -> i32) -> UsersWithPosts<U, P> {
    let mut by_user: HashMap<i32, Vec<P>> = HashMap::with_capacity(users.len());
    for post in posts {
        by_user.entry(post_user(&post)).or_default().push(post);
    }
    users
        .into_iter()
        .map(|user| {
            let posts = by_user.remove(&user_id(&user)).unwrap_or_default();
            (user, posts)
        })
        .collect()
}

fn posts_in<U, P>(found: &UsersWithPosts<U, P>) -> usize {
    found.iter().map(|(_, posts)| posts.len()).sum()
}

async fn storehaus_way(b: &Bench) -> Result<UsersWithPosts<Record<User>, Record<Post>>> {
    let users = b.users.find(QueryBuilder::new().filter(User::columns().hair_color.eq(HAIR.to_owned()))).await?;
    let ids: Vec<i32> = users.iter().map(|u| u.id).collect();
    let posts = b.posts.find(QueryBuilder::new().filter(Post::columns().user_id.in_values(ids))).await?;
    Ok(zip(users, posts, |u| u.id, |p| p.user_id))
}

async fn sqlx_same_sql(b: &Bench) -> Result<UsersWithPosts<UserRow, PostRow>> {
    let users = sqlx::query_as::<_, UserRow>(sql::FIND_USERS_BY_HAIR).bind(HAIR).fetch_all(&b.sqlx).await?;
    let ids: Vec<i32> = users.iter().map(|u| u.id).collect();
    let posts = sqlx::query_as::<_, PostRow>(sql::FIND_POSTS_OF_USERS).bind(ids).fetch_all(&b.sqlx).await?;
    Ok(zip(users, posts, |u| u.id, |p| p.user_id))
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    b.note(format!(
        "{NAME}: StoreHaus has no joins; its line is two queries (users by hair colour, then their posts by \
         user_id = ANY(ids)) zipped in memory, as is sqlx-same-sql's; sqlx, tokio-postgres and sea-orm send one \
         LEFT JOIN. Size = users seeded, {POSTS_PER_USER} posts each; half the users match."
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
                    expect_rows("storehaus", posts_in(&found), joined)?;
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

//! diesel_bench's `loading_associations`: every user with their posts, and every post with its
//! comments; three levels, three statements.
//!
//! StoreHaus: `find_with(QueryBuilder::new(), User::posts().with(Post::comments()))`, one
//! statement for the users and one per level with every parent's key in one array parameter.
//! sqlx and tokio-postgres send the same three queries written by hand (the users; the posts
//! `WHERE "user_id" = ANY($1)`; the comments `WHERE "post_id" = ANY($1)`) and group the rows into
//! nested `Vec`s through `HashMap`s; `sqlx-same-sql` does the same with StoreHaus's three texts.
//! SeaORM loads the users with `find().all()`, then the posts and the comments with its loader
//! (`load_many`, an `IN` list per level). Every contender orders each level by key, as StoreHaus
//! does.

use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{
    COMMENTS, CommentRow, POSTS, Post, PostRow, USERS, User, UserRow, medium_hair, sea, seed_comments, seed_posts,
    seed_users, truncate,
};
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use sea_orm::{EntityTrait, LoaderTrait, QueryOrder};
use std::collections::HashMap;
use storehaus::{Loaded, QueryBuilder};

pub const NAME: &str = "loading_associations";
/// Users seeded: the workload's size.
const USER_COUNT: usize = 100;
const POSTS_EACH: usize = 10;
const COMMENTS_EACH: usize = 10;

/// Users, each with its posts, each with its comments.
type Tree<U, P, C> = Vec<(U, Vec<(P, Vec<C>)>)>;

/// How many users, posts and comments a load returned.
type Counts = (usize, usize, usize);

/// `rows` by the key `key` reads from each, in their order.
fn group<T>(rows: Vec<T>, key: fn(&T) -> i32) -> HashMap<i32, Vec<T>> {
    let mut groups: HashMap<i32, Vec<T>> = HashMap::new();
    for row in rows {
        groups.entry(key(&row)).or_default().push(row);
    }
    groups
}

/// The rows of three queries as a tree: comments under their posts, posts under their users.
fn nest(users: Vec<UserRow>, posts: Vec<PostRow>, comments: Vec<CommentRow>) -> Tree<UserRow, PostRow, CommentRow> {
    let mut comments = group(comments, |c| c.post_id);
    let mut posts = group(posts, |p| p.user_id);
    users
        .into_iter()
        .map(|user| {
            let posts = posts
                .remove(&user.id)
                .unwrap_or_default()
                .into_iter()
                .map(|post| {
                    let comments = comments.remove(&post.id).unwrap_or_default();
                    (post, comments)
                })
                .collect();
            (user, posts)
        })
        .collect()
}

fn tree_counts<U, P, C>(tree: &Tree<U, P, C>) -> Counts {
    let posts = tree.iter().map(|(_, posts)| posts.len()).sum();
    let comments = tree.iter().flat_map(|(_, posts)| posts).map(|(_, comments)| comments.len()).sum();
    (tree.len(), posts, comments)
}

/// Fails unless `got` is every seeded user, post and comment.
fn expect_all(contender: &str, got: Counts) -> Result<()> {
    expect_rows(contender, got.0, USER_COUNT)?;
    expect_rows(contender, got.1, USER_COUNT * POSTS_EACH)?;
    expect_rows(contender, got.2, USER_COUNT * POSTS_EACH * COMMENTS_EACH)
}

async fn storehaus_way(b: &Bench) -> Result<Vec<Loaded<User>>> {
    Ok(b.users.find_with(QueryBuilder::new(), User::posts().with(Post::comments())).await?)
}

fn storehaus_counts(users: &[Loaded<User>]) -> Counts {
    let posts = || users.iter().flat_map(|user| user.related(User::posts()));
    let comments = posts().map(|post| post.related(Post::comments()).len()).sum();
    (users.len(), posts().count(), comments)
}

async fn sqlx_way(b: &Bench) -> Result<Tree<UserRow, PostRow, CommentRow>> {
    let users = sqlx::query_as::<_, UserRow>(sql::LIST_USERS).fetch_all(&b.sqlx).await?;
    let user_ids: Vec<i32> = users.iter().map(|u| u.id).collect();
    let posts = sqlx::query_as::<_, PostRow>(sql::POSTS_OF_USERS).bind(user_ids).fetch_all(&b.sqlx).await?;
    let post_ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
    let comments = sqlx::query_as::<_, CommentRow>(sql::COMMENTS_OF_POSTS).bind(post_ids).fetch_all(&b.sqlx).await?;
    Ok(nest(users, posts, comments))
}

/// StoreHaus's three statements on raw sqlx (the loader's carry the looked-up key as a last
/// column, which the row structs leave unread), rows decoded as they arrive and grouped by hand.
async fn sqlx_same_sql(b: &Bench) -> Result<Tree<UserRow, PostRow, CommentRow>> {
    let users = sqlx::query_as::<_, UserRow>(sql::LIST_USERS).fetch_all(&b.sqlx).await?;
    let user_ids: Vec<i32> = users.iter().map(|u| u.id).collect();
    let posts = sqlx::query_as::<_, PostRow>(sql::LOAD_POSTS_OF_USERS).bind(user_ids).fetch_all(&b.sqlx).await?;
    let post_ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
    let comments =
        sqlx::query_as::<_, CommentRow>(sql::LOAD_COMMENTS_OF_POSTS).bind(post_ids).fetch_all(&b.sqlx).await?;
    Ok(nest(users, posts, comments))
}

/// The three statements, prepared once on the tokio-postgres client (untimed).
struct PgStatements {
    users: tokio_postgres::Statement,
    posts: tokio_postgres::Statement,
    comments: tokio_postgres::Statement,
}

async fn tokio_postgres_way(b: &Bench, s: &PgStatements) -> Result<Tree<UserRow, PostRow, CommentRow>> {
    let users = b.pg.query(&s.users, &[]).await?.iter().map(UserRow::from_pg).collect::<Result<Vec<_>, _>>()?;
    let user_ids: Vec<i32> = users.iter().map(|u| u.id).collect();
    let posts = b.pg.query(&s.posts, &[&user_ids]).await?;
    let posts = posts.iter().map(|row| PostRow::from_pg_at(row, 0)).collect::<Result<Option<Vec<_>>, _>>()?;
    let posts = posts.ok_or("a post without an id")?;
    let post_ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
    let comments =
        b.pg.query(&s.comments, &[&post_ids]).await?.iter().map(CommentRow::from_pg).collect::<Result<Vec<_>, _>>()?;
    Ok(nest(users, posts, comments))
}

/// SeaORM's loader: `load_many` returns each parent's children in the parents' order, so the
/// posts are loaded for the users, flattened to load their comments, and cut back per user.
async fn sea_orm_way(b: &Bench) -> Result<Tree<sea::user::Model, sea::post::Model, sea::comment::Model>> {
    let users = sea::user::Entity::find().order_by_asc(sea::user::Column::Id).all(&b.sea).await?;
    let posts_per_user = users.load_many(sea::post::Entity::find().order_by_asc(sea::post::Column::Id), &b.sea).await?;
    let counts: Vec<usize> = posts_per_user.iter().map(Vec::len).collect();
    let posts: Vec<sea::post::Model> = posts_per_user.into_iter().flatten().collect();
    let comments = posts.load_many(sea::comment::Entity::find().order_by_asc(sea::comment::Column::Id), &b.sea).await?;
    let mut posts = posts.into_iter().zip(comments);
    Ok(users.into_iter().zip(counts).map(|(user, n)| (user, posts.by_ref().take(n).collect())).collect())
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    b.note(format!(
        "{NAME}: {USER_COUNT} users, {POSTS_EACH} posts each, {COMMENTS_EACH} comments per post, all loaded as a \
         tree in three statements (StoreHaus: find_with and User::posts().with(Post::comments()); sqlx and \
         tokio-postgres: = ANY($1) by hand, grouped with HashMaps; sqlx-same-sql: StoreHaus's three texts, \
         grouped the same way; sea-orm: load_many twice)."
    ));
    truncate(&b.setup, &[USERS, POSTS, COMMENTS]).await?;
    seed_users(&b.setup, USER_COUNT, medium_hair).await?;
    seed_posts(&b.setup, USER_COUNT, POSTS_EACH).await?;
    seed_comments(&b.setup, USER_COUNT * POSTS_EACH, COMMENTS_EACH).await?;
    let statements = &PgStatements {
        users: b.pg.prepare(sql::LIST_USERS).await?,
        posts: b.pg.prepare(sql::POSTS_OF_USERS).await?,
        comments: b.pg.prepare(sql::COMMENTS_OF_POSTS).await?,
    };
    let mut contenders = vec![
        Contender::new("storehaus", move |_| {
            Box::pin(async move {
                let (t, found) = timed!(storehaus_way(b).await?);
                expect_all("storehaus", storehaus_counts(&found))?;
                Ok(t)
            })
        }),
        Contender::new("sqlx", move |_| {
            Box::pin(async move {
                let (t, found) = timed!(sqlx_way(b).await?);
                expect_all("sqlx", tree_counts(&found))?;
                Ok(t)
            })
        }),
        Contender::new("sqlx-same-sql", move |_| {
            Box::pin(async move {
                let (t, found) = timed!(sqlx_same_sql(b).await?);
                expect_all("sqlx-same-sql", tree_counts(&found))?;
                Ok(t)
            })
        }),
        Contender::new("tokio-postgres", move |_| {
            Box::pin(async move {
                let (t, found) = timed!(tokio_postgres_way(b, statements).await?);
                expect_all("tokio-postgres", tree_counts(&found))?;
                Ok(t)
            })
        }),
        Contender::new("sea-orm", move |_| {
            Box::pin(async move {
                let (t, found) = timed!(sea_orm_way(b).await?);
                expect_all("sea-orm", tree_counts(&found))?;
                Ok(t)
            })
        }),
    ];
    measure(NAME, USER_COUNT as u64, b.mode.plan(Cost::Light), &mut contenders).await
}

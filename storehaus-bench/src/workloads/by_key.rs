//! One row by primary key: a lookup, and an update returning the row.
//!
//! StoreHaus: `get_by_id` / `update(&id, user, None)`. sqlx and tokio-postgres (prepared once):
//! the same statements StoreHaus sends. SeaORM: `find_by_id(..).one(..)` and an ActiveModel
//! `update`, its own SQL (`LIMIT` on the lookup; `__updated_at__` from the client's clock).

use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{USERS, User, UserRow, medium_hair, sea, seed_users, truncate};
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{ActiveModelTrait, EntityTrait};
use storehaus::GenericStore;

pub const LOOKUP: &str = "pk_lookup";
pub const UPDATE: &str = "update_by_pk";

/// Rows in the table the lookups and updates pick from.
pub const TABLE_ROWS: usize = 10_000;

/// The key of sample `i`: every contender of a round touches the same row, rounds spread over
/// the table.
pub fn key(i: usize, rows: usize) -> i32 {
    crate::schema::id(i * 7_919 % rows + 1)
}

/// A table of [`TABLE_ROWS`] users.
pub async fn seed(b: &Bench) -> Result<()> {
    truncate(&b.setup, &[USERS]).await?;
    seed_users(&b.setup, TABLE_ROWS, medium_hair).await
}

pub async fn lookup(b: &Bench) -> Result<Vec<Summary>> {
    seed(b).await?;
    let get = &b.pg.prepare(sql::GET_USER).await?;
    let mut contenders = vec![
        store_lookup("storehaus", &b.users, TABLE_ROWS),
        sqlx_lookup(b, TABLE_ROWS),
        Contender::new("tokio-postgres", move |i| {
            Box::pin(async move {
                let (t, row) = timed!(
                    b.pg.query_opt(get, &[&key(i, TABLE_ROWS)]).await?.as_ref().map(UserRow::from_pg).transpose()?
                );
                expect_rows("tokio-postgres", row.iter().len(), 1)?;
                Ok(t)
            })
        }),
        Contender::new("sea-orm", move |i| {
            Box::pin(async move {
                let (t, row) = timed!(sea::user::Entity::find_by_id(key(i, TABLE_ROWS)).one(&b.sea).await?);
                expect_rows("sea-orm", row.iter().len(), 1)?;
                Ok(t)
            })
        }),
    ];
    measure(LOOKUP, 1, b.mode.plan(Cost::Light), &mut contenders).await
}

/// `get_by_id` on `store`, cycling through the first `rows` keys.
pub fn store_lookup<'a>(name: &'static str, store: &'a GenericStore<User>, rows: usize) -> Contender<'a> {
    Contender::new(name, move |i| {
        Box::pin(async move {
            let (t, row) = timed!(store.get_by_id(&key(i, rows)).await?);
            expect_rows(name, row.iter().len(), 1)?;
            Ok(t)
        })
    })
}

/// StoreHaus's lookup statement on raw sqlx, cycling through the first `rows` keys.
pub fn sqlx_lookup(b: &Bench, rows: usize) -> Contender<'_> {
    Contender::new("sqlx", move |i| {
        Box::pin(async move {
            let (t, row) =
                timed!(sqlx::query_as::<_, UserRow>(sql::GET_USER).bind(key(i, rows)).fetch_optional(&b.sqlx).await?);
            expect_rows("sqlx", row.iter().len(), 1)?;
            Ok(t)
        })
    })
}

/// The new values sample `i` writes: they change every time, so every update really writes.
fn changed(i: usize) -> User {
    let id = key(i, TABLE_ROWS);
    User {
        id,
        name: format!("User {id} v{i}"),
        hair_color: Some(if i.is_multiple_of(2) { "red" } else { "grey" }.to_owned()),
    }
}

pub async fn update(b: &Bench) -> Result<Vec<Summary>> {
    seed(b).await?;
    let update = &b.pg.prepare(sql::UPDATE_USER).await?;
    let mut contenders = vec![
        Contender::new("storehaus", move |i| {
            Box::pin(async move {
                let user = changed(i);
                let id = user.id;
                let (t, _) = timed!(b.users.update(&id, user, None).await?);
                Ok(t)
            })
        }),
        Contender::new("sqlx", move |i| {
            Box::pin(async move {
                let user = changed(i);
                let (t, _) = timed!(
                    sqlx::query_as::<_, UserRow>(sql::UPDATE_USER)
                        .bind(&user.name)
                        .bind(&user.hair_color)
                        .bind(user.id)
                        .fetch_one(&b.sqlx)
                        .await?
                );
                Ok(t)
            })
        }),
        Contender::new("tokio-postgres", move |i| {
            Box::pin(async move {
                let user = changed(i);
                let (t, _) = timed!(UserRow::from_pg(
                    &b.pg.query_one(update, &[&user.name, &user.hair_color, &user.id]).await?
                )?);
                Ok(t)
            })
        }),
        Contender::new("sea-orm", move |i| {
            Box::pin(async move {
                let user = changed(i);
                let model = sea::user::ActiveModel {
                    id: Unchanged(user.id),
                    name: Set(user.name),
                    hair_color: Set(user.hair_color),
                    updated_at: Set(chrono::Utc::now()),
                    ..Default::default()
                };
                let (t, _) = timed!(model.update(&b.sea).await?);
                Ok(t)
            })
        }),
    ];
    measure(UPDATE, 1, b.mode.plan(Cost::Light), &mut contenders).await
}

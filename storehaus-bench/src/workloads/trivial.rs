//! diesel_bench's `trivial_query`: load every row of `users`.
//!
//! StoreHaus: `list_all()`. sqlx and tokio-postgres: the same `SELECT … ORDER BY "id" ASC`
//! StoreHaus sends. SeaORM: `Entity::find().order_by_asc(id).all()`, its own spelling of it.

use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{USERS, UserRow, sea, seed_users, truncate};
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use sea_orm::{EntityTrait, QueryOrder};

pub const NAME: &str = "trivial_query";
const SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    for size in SIZES {
        truncate(&b.setup, &[USERS]).await?;
        seed_users(&b.setup, size, |_| None).await?;
        let list = &b.pg.prepare(sql::LIST_USERS).await?;
        let mut contenders = vec![
            Contender::new("storehaus", move |_| {
                Box::pin(async move {
                    let (t, rows) = timed!(b.users.list_all().await?);
                    expect_rows("storehaus", rows.len(), size)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx", move |_| {
                Box::pin(async move {
                    let (t, rows) = timed!(sqlx::query_as::<_, UserRow>(sql::LIST_USERS).fetch_all(&b.sqlx).await?);
                    expect_rows("sqlx", rows.len(), size)?;
                    Ok(t)
                })
            }),
            Contender::new("tokio-postgres", move |_| {
                Box::pin(async move {
                    let (t, rows) = timed!(
                        b.pg.query(list, &[]).await?.iter().map(UserRow::from_pg).collect::<Result<Vec<_>, _>>()?
                    );
                    expect_rows("tokio-postgres", rows.len(), size)?;
                    Ok(t)
                })
            }),
            Contender::new("sea-orm", move |_| {
                Box::pin(async move {
                    let (t, rows) =
                        timed!(sea::user::Entity::find().order_by_asc(sea::user::Column::Id).all(&b.sea).await?);
                    expect_rows("sea-orm", rows.len(), size)?;
                    Ok(t)
                })
            }),
        ];
        let cost = if size >= 10_000 { Cost::Heavy } else { Cost::Light };
        out.extend(measure(NAME, size as u64, b.mode.plan(cost), &mut contenders).await?);
    }
    Ok(out)
}

//! Bulk insert into an empty table, truncated before every sample (outside the timed part).
//!
//! StoreHaus: `create_many` (5 000 rows a statement, in a transaction past one statement).
//! sqlx: multi-row VALUES, 21 845 rows a statement (under 65 535 parameters), in a transaction
//! past one statement. `sqlx-same-sql`: StoreHaus's UNNEST statement and chunking through sqlx.
//! `copy-binary`: tokio-postgres binary COPY, the floor, which returns no rows where all the others
//! return every inserted row. SeaORM: `insert_many`, chunked as sqlx.

use super::write::{self, ValuesSql};
use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{USERS, User, id, medium_hair, new_user, truncate};
use crate::setup::Bench;
use crate::stats::Summary;

pub const NAME: &str = "bulk_insert";
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// An empty table and `size` users to put in it.
async fn fresh(b: &Bench, size: usize) -> Result<Vec<User>> {
    truncate(&b.setup, &[USERS]).await?;
    Ok((0..size).map(|i| new_user(id(i + 1), i, medium_hair(i))).collect())
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    let texts = &ValuesSql::for_batches(SIZES);
    let mut out = Vec::new();
    for size in SIZES {
        let mut contenders = vec![
            Contender::new("storehaus", move |_| {
                Box::pin(async move {
                    let users = fresh(b, size).await?;
                    let (t, n) = timed!(write::storehaus(b, users).await?);
                    expect_rows("storehaus", n, size)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx", move |_| {
                Box::pin(async move {
                    let users = fresh(b, size).await?;
                    let (t, n) = timed!(write::sqlx_values(b, texts, &users).await?);
                    expect_rows("sqlx", n, size)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx-same-sql", move |_| {
                Box::pin(async move {
                    let users = fresh(b, size).await?;
                    let (t, n) = timed!(write::sqlx_unnest(b, &users).await?);
                    expect_rows("sqlx-same-sql", n, size)?;
                    Ok(t)
                })
            }),
            Contender::new("copy-binary", move |_| {
                Box::pin(async move {
                    let users = fresh(b, size).await?;
                    let (t, n) = timed!(write::copy_binary(b, &users).await?);
                    expect_rows("copy-binary", n, size)?;
                    Ok(t)
                })
            }),
            Contender::new("sea-orm", move |_| {
                Box::pin(async move {
                    let models = write::sea_models(&fresh(b, size).await?);
                    let (t, n) = timed!(write::sea_orm(b, models).await?);
                    expect_rows("sea-orm", n, size)?;
                    Ok(t)
                })
            }),
        ];
        let cost = if size >= 10_000 { Cost::Heavy } else { Cost::Light };
        out.extend(measure(NAME, size as u64, b.mode.plan(cost), &mut contenders).await?);
    }
    truncate(&b.setup, &[USERS]).await?;
    Ok(out)
}

//! diesel_bench's `insert`: a batch of new users in one call.
//!
//! StoreHaus: `create_many`, one `INSERT … SELECT … FROM UNNEST(…)` statement. sqlx and
//! tokio-postgres (statement prepared once per batch size): multi-row VALUES. `sqlx-same-sql`:
//! StoreHaus's UNNEST statement through sqlx. SeaORM: `insert_many`. All return the new rows.

use super::write::{self, ValuesSql};
use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{USERS, User, new_user, truncate};
use crate::setup::Bench;
use crate::stats::Summary;

pub const NAME: &str = "insert";
const SIZES: [usize; 5] = [1, 10, 25, 50, 100];

/// `size` users with keys no earlier sample used (the table grows during a size's samples).
fn batch(b: &Bench, size: usize) -> Vec<User> {
    b.fresh_ids(size).map(|id| new_user(id, id as usize, Some("brown"))).collect()
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    let texts = &ValuesSql::for_batches(SIZES);
    let prepared = &write::prepare_pg_values(b, &SIZES).await?;
    let mut out = Vec::new();
    for size in SIZES {
        truncate(&b.setup, &[USERS]).await?;
        let mut contenders = vec![
            Contender::new("storehaus", move |_| {
                Box::pin(async move {
                    let users = batch(b, size);
                    let (t, n) = timed!(write::storehaus(b, users).await?);
                    expect_rows("storehaus", n, size)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx", move |_| {
                Box::pin(async move {
                    let users = batch(b, size);
                    let (t, n) = timed!(write::sqlx_values(b, texts, &users).await?);
                    expect_rows("sqlx", n, size)?;
                    Ok(t)
                })
            }),
            Contender::new("sqlx-same-sql", move |_| {
                Box::pin(async move {
                    let users = batch(b, size);
                    let (t, n) = timed!(write::sqlx_unnest(b, &users).await?);
                    expect_rows("sqlx-same-sql", n, size)?;
                    Ok(t)
                })
            }),
            Contender::new("tokio-postgres", move |_| {
                Box::pin(async move {
                    let users = batch(b, size);
                    let (t, n) = timed!(write::pg_values(b, prepared, &users).await?);
                    expect_rows("tokio-postgres", n, size)?;
                    Ok(t)
                })
            }),
            Contender::new("sea-orm", move |_| {
                Box::pin(async move {
                    let models = write::sea_models(&batch(b, size));
                    let (t, n) = timed!(write::sea_orm(b, models).await?);
                    expect_rows("sea-orm", n, size)?;
                    Ok(t)
                })
            }),
        ];
        out.extend(measure(NAME, size as u64, b.mode.plan(Cost::Light), &mut contenders).await?);
    }
    Ok(out)
}

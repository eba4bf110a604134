//! One row by primary key through a principal scope: what `#[table(auth)]` adds to `pk_lookup`.
//!
//! StoreHaus: `auth("user_1").get_by_id(&id)` on the `auth` twin of `bench_users`. sqlx and
//! tokio-postgres (prepared once): the statement StoreHaus sends, the key and the principals
//! array bound the same way. Every sampled row lists `user_1`, so every lookup finds its row.

use super::by_key::{self, TABLE_ROWS, key};
use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::scoped::{PRINCIPAL, ScopedRow, ScopedUser, seed_from_users};
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use storehaus::GenericStore;

pub const NAME: &str = "pk_lookup_scoped";

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    b.storehaus.auto_migrate::<ScopedUser>(false).await?;
    by_key::seed(b).await?;
    seed_from_users(&b.setup).await?;
    let store = &GenericStore::<ScopedUser>::new(b.storehaus.pool().clone(), None, None).auth(PRINCIPAL);
    // The scope's principals, held by the raw contenders as the scoped store holds its own.
    let principals = &vec![PRINCIPAL.to_owned()];
    let get = &b.pg.prepare(sql::GET_SCOPED_USER).await?;
    let mut contenders = vec![
        Contender::new("storehaus", move |i| {
            Box::pin(async move {
                let (t, row) = timed!(store.get_by_id(&key(i, TABLE_ROWS)).await?);
                expect_rows("storehaus", row.iter().len(), 1)?;
                Ok(t)
            })
        }),
        Contender::new("sqlx", move |i| {
            Box::pin(async move {
                let (t, row) = timed!(
                    sqlx::query_as::<_, ScopedRow>(sql::GET_SCOPED_USER)
                        .bind(key(i, TABLE_ROWS))
                        .bind(principals)
                        .fetch_optional(&b.sqlx)
                        .await?
                );
                expect_rows("sqlx", row.iter().len(), 1)?;
                Ok(t)
            })
        }),
        Contender::new("tokio-postgres", move |i| {
            Box::pin(async move {
                let (t, row) = timed!(
                    b.pg.query_opt(get, &[&key(i, TABLE_ROWS), principals])
                        .await?
                        .as_ref()
                        .map(ScopedRow::from_pg)
                        .transpose()?
                );
                expect_rows("tokio-postgres", row.iter().len(), 1)?;
                Ok(t)
            })
        }),
    ];
    measure(NAME, 1, b.mode.plan(Cost::Light), &mut contenders).await
}

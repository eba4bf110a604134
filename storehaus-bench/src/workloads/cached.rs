//! Primary-key lookups through StoreHaus's Redis cache, warm, against the same store without a
//! cache and against raw sqlx.
//!
//! `storehaus+redis` is a store with `CacheParams` over Redis (per-run key prefix, forgotten at
//! the end); every key it reads was read once before measuring, so each sample is a hit: one
//! Redis round trip, no SQL.

use super::by_key::{key, seed, sqlx_lookup, store_lookup};
use crate::Result;
use crate::runner::{Cost, measure};
use crate::schema::{USERS, User};
use crate::setup::Bench;
use crate::stats::Summary;
use storehaus::GenericStore;
use storehaus::cache::CacheParams;

pub const NAME: &str = "cached_pk_lookup";

/// Keys the samples cycle through, all warm in the cache.
const WORKING_SET: usize = 1_000;

/// Leaves nothing of this run in Redis: the table's keys, and the entries and epochs of the rows
/// read (those would expire on their own, within minutes).
async fn forget(params: &CacheParams) -> Result<()> {
    let table = params.table(USERS);
    for i in 0..WORKING_SET {
        let row = table.row(&key(i, WORKING_SET).to_string());
        params.manager().delete(row.entry()).await?;
        params.manager().delete(row.epoch()).await?;
    }
    params.manager().forget_table(&table).await?;
    Ok(())
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    let params = match b.cache().await {
        Ok(params) => params,
        Err(e) => {
            eprintln!("{NAME}: skipped, {e}");
            return Ok(Vec::new());
        }
    };
    seed(b).await?;
    let cached = &GenericStore::<User>::new(b.storehaus.pool().clone(), None, Some(params.clone()));
    for i in 0..WORKING_SET {
        cached.get_by_id(&key(i, WORKING_SET)).await?;
    }
    let before = params.manager().stats();
    let mut contenders = vec![
        store_lookup("storehaus+redis", cached, WORKING_SET),
        store_lookup("storehaus", &b.users, WORKING_SET),
        sqlx_lookup(b, WORKING_SET),
    ];
    let summaries = measure(NAME, 1, b.mode.plan(Cost::Light), &mut contenders).await?;
    let after = params.manager().stats();
    b.note(format!(
        "{NAME}: while measuring, the cache answered {} hits, {} misses, {} errors, {} timeouts",
        after.hits - before.hits,
        after.misses - before.misses,
        after.errors - before.errors,
        after.timeouts - before.timeouts
    ));
    forget(&params).await?;
    Ok(summaries)
}

//! Primary-key lookups through StoreHaus's Redis cache, warm, against the same store without a
//! cache and against raw sqlx.
//!
//! `storehaus+redis` is a store with `CacheParams` over Redis (per-run key prefix, forgotten at
//! the end); every key it reads was read once before measuring, so each sample is a hit: one
//! Redis round trip, no SQL. `storehaus+near` adds a `NearCache` in front of the same Redis:
//! each sample is a hit in the process. `redis-rs` is a bare `GET` of the same entry bytes on a
//! multiplexed connection of its own (decoded by nobody): the floor of a Redis hit.

use super::by_key::{key, seed, sqlx_lookup, store_lookup};
use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::{USERS, User};
use crate::setup::Bench;
use crate::stats::Summary;
use storehaus::GenericStore;
use storehaus::cache::{CacheParams, NearCache};

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
    let near_params =
        params.clone().near(NearCache::with_ttl(2 * WORKING_SET as u64, std::time::Duration::from_secs(60)));
    let near = &GenericStore::<User>::new(b.storehaus.pool().clone(), None, Some(near_params));
    for i in 0..WORKING_SET {
        cached.get_by_id(&key(i, WORKING_SET)).await?;
        near.get_by_id(&key(i, WORKING_SET)).await?;
    }
    let redis = &mut redis::Client::open(b.redis_url.as_str())?.get_multiplexed_async_connection().await?;
    let table = params.table(USERS);
    let entries: &Vec<String> =
        &(0..WORKING_SET).map(|i| table.row(&key(i, WORKING_SET).to_string()).entry().to_owned()).collect();
    let before = params.manager().stats();
    let mut contenders = vec![
        store_lookup("storehaus+near", near, WORKING_SET),
        store_lookup("storehaus+redis", cached, WORKING_SET),
        Contender::new("redis-rs", move |i| {
            let mut redis = redis.clone();
            Box::pin(async move {
                let entry = &entries[i % WORKING_SET];
                let (t, bytes) = timed!(redis::cmd("GET").arg(entry).query_async::<Option<Vec<u8>>>(&mut redis).await?);
                expect_rows("redis-rs", bytes.iter().len(), 1)?;
                Ok(t)
            })
        }),
        store_lookup("storehaus", &b.users, WORKING_SET),
        sqlx_lookup(b, WORKING_SET),
    ];
    let summaries = measure(NAME, 1, b.mode.plan(Cost::Light), &mut contenders).await?;
    let after = params.manager().stats();
    b.note(format!(
        "{NAME}: while measuring, the cache answered {} near hits, {} hits, {} misses, {} errors, {} timeouts",
        after.near_hits - before.near_hits,
        after.hits - before.hits,
        after.misses - before.misses,
        after.errors - before.errors,
        after.timeouts - before.timeouts
    ));
    forget(&params).await?;
    Ok(summaries)
}

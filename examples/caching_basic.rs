//! Read-through caching: the same reads by primary key without a cache, through a warm Redis
//! cache, and through a near cache in the process in front of it, timed, with every cached read
//! checked against the database.
//!
//! ```text
//! cargo run --example caching_basic
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! then `DATABASE_URL`, `REDIS_URL` and the `STOREHAUS_*` variables (see docs/configuration.md);
//! the cache defaults to `redis://127.0.0.1:6379`. When Redis cannot be reached
//! the example still runs: the cache fails open, every read goes to PostgreSQL, and only the
//! results are checked. It exits non-zero when a read through the cache differs from the
//! database, or when a reachable cache never answers.
//!
//! The table `caching_basic_products` is recreated on every run.

use std::time::{Duration, Instant};

use storehaus::cache::{CacheConfig, CacheManager, NearCache};
use storehaus::prelude::*;

#[model]
#[table(name = "caching_basic_products")]
#[derive(PartialEq)]
pub struct Product {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    pub price: Decimal,
    pub stock: i32,
}

/// Rows created, and reads timed per store.
const ROWS: usize = 200;
const READS: usize = 2_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database).await?;
    storehaus.auto_migrate::<Product>(true).await?;

    // A short command timeout: a cache that does not answer quickly is worth less than none.
    let cache_config = CacheConfig { timeout_ms: 200, connection_timeout_ms: 500, ..config.cache };
    let manager = Arc::new(CacheManager::new(cache_config.clone())?);
    let redis_up = match manager.ping().await {
        Ok(()) => true,
        Err(error) => {
            println!("Redis at {} is unreachable ({error}).", cache_config.redacted_url());
            println!("The cache fails open: every read goes to PostgreSQL. Checking correctness only.");
            false
        }
    };

    // A prefix of this run alone, so entries of earlier runs (or other applications) never mix in.
    let prefix = format!("caching_basic:{}", Uuid::new_v4().simple());
    let plain = GenericStore::<Product>::new(storehaus.pool().clone(), None, None);
    let params = CacheParams::new(manager.clone(), 300, prefix);
    let cached = GenericStore::<Product>::new(storehaus.pool().clone(), None, Some(params.clone()));
    // The same cache with rows also kept in this process: hits cost no network round trip.
    let near =
        GenericStore::<Product>::new(storehaus.pool().clone(), None, Some(params.near(NearCache::new(ROWS as u64))));

    let products: Vec<Product> = (0..ROWS)
        .map(|i| Product {
            id: Uuid::new_v4(),
            name: format!("product {i}"),
            price: Decimal::new(100 + i as i64, 2),
            stock: i as i32,
        })
        .collect();
    let ids: Vec<Uuid> = products.iter().map(|p| p.id).collect();
    plain.create_many(products, None).await?;

    // Warm the cache: one read of every row.
    for id in &ids {
        cached.get_by_id(id).await?;
        near.get_by_id(id).await?;
    }

    // The two stores take turns, so that whatever else the machine does slows both alike.
    let before = manager.stats();
    let mut uncached_times = Vec::with_capacity(READS);
    let mut cached_times = Vec::with_capacity(READS);
    let mut near_times = Vec::with_capacity(READS);
    let mut mismatches = 0;
    for i in 0..READS {
        let id = &ids[i % ROWS];
        let started = Instant::now();
        let expected = plain.get_by_id(id).await?;
        uncached_times.push(started.elapsed());
        let started = Instant::now();
        let record = cached.get_by_id(id).await?;
        cached_times.push(started.elapsed());
        let started = Instant::now();
        let near_record = near.get_by_id(id).await?;
        near_times.push(started.elapsed());
        for (what, record) in [("the cache", &record), ("the near cache", &near_record)] {
            if record.is_none() || *record != expected {
                mismatches += 1;
                eprintln!("read {i}: {what} returned {record:?}, the database {expected:?}");
            }
        }
    }
    let after = manager.stats();
    let (hits, misses) = (after.hits - before.hits, after.misses - before.misses);
    let near_hits = after.near_hits - before.near_hits;
    let hit_ratio = hits as f64 / (hits + misses).max(1) as f64;

    // A write through the cached store is read back at once, through either cache: the write
    // voids the rows it wrote in this process's near caches before it returns.
    let id = ids[0];
    let mut changed = cached.get_by_id(&id).await?.ok_or("the first product is missing")?.into_inner();
    changed.name = "renamed".to_string();
    cached.update(&id, changed, None).await?;
    let truth = plain.get_by_id(&id).await?;
    for (what, store) in [("the cache", &cached), ("the near cache", &near)] {
        let read = store.get_by_id(&id).await?;
        if read.as_ref().map(|r| r.name.as_str()) != Some("renamed") || read != truth {
            mismatches += 1;
            eprintln!("after an update {what} returned {read:?}");
        }
    }

    let uncached_median = median(&mut uncached_times);
    let cached_median = median(&mut cached_times);
    let near_median = median(&mut near_times);
    println!("{READS} reads of {ROWS} rows, median per call:");
    println!("  without cache:      {uncached_median:?}");
    println!("  through cache:      {cached_median:?} (hit ratio {:.1}%)", hit_ratio * 100.0);
    println!("  through near cache: {near_median:?} ({near_hits} answered in the process)");
    if redis_up {
        let speed_up = |median: Duration| uncached_median.as_secs_f64() / median.as_secs_f64().max(1e-9);
        println!(
            "  speed-up: {:.1}x through the cache, {:.1}x through the near cache",
            speed_up(cached_median),
            speed_up(near_median)
        );
    }
    println!("cache stats: {:?}", manager.stats());

    // This run's key prefix is never used again: remove the table's keys that never expire.
    if let Some(params) = cached.cache().filter(|_| redis_up) {
        manager.forget_table(&params.table(Product::TABLE.name)).await?;
    }

    if mismatches > 0 {
        return Err(format!("{mismatches} reads through the cache differ from the database").into());
    }
    if redis_up && hits == 0 {
        return Err("Redis answers, yet no read was served from the cache".into());
    }
    if redis_up && near_hits == 0 {
        return Err("Redis answers, yet no read was served from the near cache".into());
    }
    println!("every read through the cache matched the database");
    Ok(())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

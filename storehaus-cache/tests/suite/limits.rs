//! What the cache keeps is bounded: query entries are keyed by and carry a fixed-size digest,
//! an entry above `max_entry_bytes` is served but not stored, and the in-memory backend keeps
//! to its byte budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use storehaus_cache::{CacheConfig, CacheManager, Lookup, MemoryBackend, QueryDigest};

use crate::Setup;

crate::on_both_backends!(query_entries_hold_a_digest_not_the_query, oversized_values_are_served_not_stored);

type LoadError = Arc<String>;
const TTL: Duration = Duration::from_secs(300);

async fn query_entries_hold_a_digest_not_the_query(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, table) = (&ctx.manager, ctx.space.table("posts"));
    let query = format!("SELECT * FROM posts WHERE body = {:?}", "x".repeat(1 << 20));
    let rows = cache.get_or_load_query(&table, &query, TTL, || async { Ok::<_, LoadError>(vec![1u32]) }).await;
    assert_eq!(rows.unwrap(), vec![1]);
    let cached = cache.get_or_load_query(&table, &query, TTL, || async { Ok::<_, LoadError>(vec![2u32]) }).await;
    assert_eq!(cached.unwrap(), vec![1], "the second call is answered by the cache");

    let generation = cache.backend().get(&table.generation_key()).await.unwrap().expect("the generation exists");
    let generation: i64 = std::str::from_utf8(&generation).unwrap().parse().unwrap();
    let key = table.query_key(generation, &QueryDigest::from(query.as_str()));
    assert!(key.len() < table.as_str().len() + 100, "the key grows with the query: {} bytes", key.len());
    let entry = cache.backend().get(&key).await.unwrap().expect("the result is stored under the digest's key");
    assert!(entry.len() < 64, "the entry holds more than a digest and the result: {} bytes", entry.len());
}

async fn oversized_values_are_served_not_stored(setup: Setup) {
    let Some(ctx) = setup.ctx(|c| c.max_entry_bytes = 4096).await else { return };
    let (cache, table) = (&ctx.manager, ctx.space.table("docs"));
    assert_eq!(cache.max_entry_bytes(), 4096);
    let loads = AtomicUsize::new(0);
    let big = "b".repeat(8192);

    // A row over the limit is returned every time and never kept.
    let row = table.row("big");
    for _ in 0..2 {
        let value = cache
            .get_or_load(&row, TTL, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, LoadError>(Some(big.clone()))
            })
            .await;
        assert_eq!(value.unwrap().as_deref(), Some(big.as_str()));
    }
    assert_eq!(loads.swap(0, Ordering::SeqCst), 2, "an oversized row is loaded every time");
    assert!(cache.backend().get(row.entry()).await.unwrap().is_none(), "an oversized row was stored");
    assert!(matches!(cache.lookup::<String>(&row).await, Lookup::Miss(_)));

    // So is a query result.
    for _ in 0..2 {
        let rows = cache
            .get_or_load_query(&table, "all", TTL, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, LoadError>(vec![big.clone()])
            })
            .await;
        assert_eq!(rows.unwrap(), vec![big.clone()]);
    }
    assert_eq!(loads.swap(0, Ordering::SeqCst), 2, "an oversized result is loaded every time");
    assert_eq!(cache.stats().oversized_skipped, 4, "{:?}", cache.stats());

    // Values within the limit are kept as before.
    let small = table.row("small");
    for _ in 0..2 {
        let value = cache
            .get_or_load(&small, TTL, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, LoadError>(Some("s".repeat(1000)))
            })
            .await;
        assert_eq!(value.unwrap().map(|s| s.len()), Some(1000));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1, "a small row is cached");
}

/// The in-memory backend weighs entries by bytes: filling far beyond its budget leaves it
/// within the budget.
#[tokio::test]
async fn memory_backend_keeps_to_its_byte_budget() {
    let budget = 1 << 20;
    let backend = Arc::new(MemoryBackend::new(budget));
    let config = CacheConfig { memory_max_bytes: budget, ..CacheConfig::default() };
    let cache = CacheManager::with_backend(backend.clone(), &config).unwrap();
    let table = storehaus_cache::KeySpace::new("budget").table("t");
    let value = "v".repeat(64 << 10);
    for i in 0..200 {
        let row = table.row(&i.to_string());
        cache.get_or_load(&row, TTL, || async { Ok::<_, LoadError>(Some(value.clone())) }).await.unwrap();
    }
    backend.sync().await;
    assert!(backend.weighted_bytes() <= budget, "{} bytes held, budget {budget}", backend.weighted_bytes());
    let mut held = 0;
    for i in 0..200 {
        if matches!(cache.lookup::<String>(&table.row(&i.to_string())).await, Lookup::Found(_)) {
            held += 1;
        }
    }
    assert!(held <= 16, "{held} rows of 64 KiB held in a 1 MiB budget");
}

#[test]
fn memory_managers_take_their_budget_from_the_config() {
    let config = CacheConfig { memory_max_bytes: 12_345, max_entry_bytes: 99, ..CacheConfig::default() };
    let manager = CacheManager::memory(&config).unwrap();
    assert_eq!(manager.max_entry_bytes(), 99);
    assert!(format!("{manager:?}").contains("max_bytes: 12345"), "{manager:?}");
    let zero = CacheConfig { memory_max_bytes: 0, ..CacheConfig::default() };
    assert!(CacheManager::memory(&zero).is_err());
}

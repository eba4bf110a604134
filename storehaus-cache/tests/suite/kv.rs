//! Plain key-value calls: get, set, delete, TTLs and batches.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use storehaus_cache::CacheError;

use crate::Setup;

crate::on_both_backends!(get_set_delete, entries_expire_after_their_ttl, batches_keep_order);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    age: u32,
}

fn profile(name: &str, age: u32) -> Profile {
    Profile { name: name.to_owned(), age }
}

async fn get_set_delete(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, key) = (&ctx.manager, ctx.space.kv("alice"));

    assert_eq!(cache.get::<Profile>(&key).await.unwrap(), None);
    cache.set(&key, &profile("Alice", 30), Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(cache.get::<Profile>(&key).await.unwrap(), Some(profile("Alice", 30)));
    let ttl = cache.ttl(&key).await.unwrap().expect("the entry expires");
    assert!(ttl > Duration::from_secs(50) && ttl <= Duration::from_secs(60), "{ttl:?}");

    cache.set(&key, &profile("Alice", 31), None).await.unwrap();
    assert_eq!(cache.ttl(&key).await.unwrap(), None, "set without TTL keeps the entry for ever");
    assert_eq!(cache.get::<Profile>(&key).await.unwrap(), Some(profile("Alice", 31)));
    assert!(matches!(cache.get::<u64>(&key).await, Err(CacheError::Serialization(_))));

    assert!(cache.delete(&key).await.unwrap());
    assert!(!cache.delete(&key).await.unwrap());
    assert_eq!(cache.get::<Profile>(&key).await.unwrap(), None);

    let stats = cache.stats();
    assert!(stats.hits >= 2 && stats.misses >= 2, "{stats:?}");
    assert_eq!((stats.errors, stats.timeouts), (0, 0));
}

async fn entries_expire_after_their_ttl(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, key) = (&ctx.manager, ctx.space.kv("short"));
    let ttl = Duration::from_millis(400);

    let written = Instant::now();
    cache.set(&key, &"soon gone", Some(ttl)).await.unwrap();
    let value = cache.get::<String>(&key).await.unwrap();
    // On a stalled machine the entry may be gone already, but only once its TTL has passed.
    assert!(value.as_deref() == Some("soon gone") || written.elapsed() >= ttl, "{value:?}");

    tokio::time::sleep(ttl + Duration::from_millis(600)).await;
    assert_eq!(cache.get::<String>(&key).await.unwrap(), None);
    assert_eq!(cache.ttl(&key).await.unwrap(), None);
}

async fn batches_keep_order(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let entries: Vec<(String, Profile)> =
        (0..50).map(|i| (ctx.space.kv(&format!("user-{i}")), profile(&format!("user {i}"), i))).collect();
    cache.set_many(&entries, Some(Duration::from_secs(60))).await.unwrap();

    let mut keys: Vec<String> = entries.iter().map(|(key, _)| key.clone()).collect();
    keys.insert(10, ctx.space.kv("missing-a"));
    keys.push(ctx.space.kv("missing-b"));
    let values = cache.get_many::<Profile>(&keys).await.unwrap();
    assert_eq!(values.len(), 52);
    assert_eq!(values[10], None);
    assert_eq!(values[51], None);
    let found: Vec<Profile> = values.into_iter().flatten().collect();
    assert_eq!(found, entries.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>());

    assert!(cache.get_many::<Profile>(&[]).await.unwrap().is_empty());
    cache.set_many::<Profile>(&[], None).await.unwrap();
    let ttl = cache.ttl(&keys[0]).await.unwrap().expect("batch entries expire");
    assert!(ttl <= Duration::from_secs(60));
}

//! A store with a near cache: repeat reads are answered in the process, every write of this
//! process is seen by the next read, and a write of another process (another pool and cache
//! manager) as soon as its announcement arrives.

use super::*;
use std::time::Instant;
use storehaus::cache::NearCache;

/// Waits (up to 10 s) until `manager` follows the invalidation feed.
async fn feed_live(manager: &CacheManager) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !manager.stats().near_feed_live {
        assert!(Instant::now() < deadline, "the feed never came up: {:?}", manager.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads `id` until it reads `want` (up to 2 s after `since`); returns how long it took.
async fn until_seen(store: &GenericStore<Article>, id: &Uuid, want: Option<&str>, since: Instant) -> Duration {
    loop {
        let read = store.get_by_id(id).await.unwrap();
        if read.as_ref().map(|r| r.title.as_str()) == want {
            return since.elapsed();
        }
        assert!(since.elapsed() < Duration::from_secs(2), "{id} still reads {read:?}, not {want:?}");
        tokio::task::yield_now().await;
    }
}

pub(crate) async fn near_cache_sees_own_writes_at_once_and_others_soon<B: TestBackend>(backend: Backend, db: B) {
    let test = format!("near_cache_sees_own_writes_at_once_and_others_soon/{backend:?}/{}", B::NAME);
    let Some(manager_a) = backend.manager(&test).await else { return };
    // Another process: a pool and a manager of its own on the same database and cache.
    let manager_b = match backend {
        Backend::Redis => match backend.manager(&test).await {
            Some(manager) => manager,
            None => return,
        },
        Backend::Memory => {
            Arc::new(CacheManager::with_backend(manager_a.backend().clone(), &CacheConfig::default()).unwrap())
        }
    };
    let (haus_a, haus_b) = (db.storehaus().await, db.storehaus().await);
    haus_a.auto_migrate::<Article>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&manager_a, &prefix);
    let near = NearCache::new(1_000);
    let a = GenericStore::<Article>::new(
        haus_a.pool().clone(),
        None,
        Some(CacheParams::new(manager_a.clone(), TTL_SECONDS, prefix.clone()).near(near.clone())),
    );
    let b = GenericStore::<Article>::new(
        haus_b.pool().clone(),
        None,
        Some(CacheParams::new(manager_b.clone(), TTL_SECONDS, prefix)),
    );

    let id = a.create(article("v0"), None).await.unwrap().id;
    a.get_by_id(&id).await.unwrap();
    feed_live(&manager_a).await;

    // Repeat reads: answered by the near cache, with no backend call.
    a.get_by_id(&id).await.unwrap();
    let before = manager_a.stats();
    for _ in 0..5 {
        assert_eq!(a.get_by_id(&id).await.unwrap().unwrap().title, "v0");
    }
    let after = manager_a.stats();
    assert_eq!(after.near_hits - before.near_hits, 5, "{after:?}");
    assert_eq!((after.hits, after.misses), (before.hits, before.misses), "no read reached the shared cache");

    // This process's writes: the very next read sees them.
    for round in 1..=10 {
        let title = format!("a{round}");
        a.update(&id, titled(id, &title), None).await.unwrap();
        assert_eq!(a.get_by_id(&id).await.unwrap().unwrap().title, title);
        assert_eq!(a.get_by_id(&id).await.unwrap().unwrap().title, title, "kept again");
    }

    // Another process's writes: seen once their announcement arrives.
    let mut delays = Vec::new();
    for round in 1..=20 {
        let title = format!("b{round}");
        assert!(a.get_by_id(&id).await.unwrap().is_some());
        b.update(&id, titled(id, &title), None).await.unwrap();
        delays.push(until_seen(&a, &id, Some(&title), Instant::now()).await);
    }
    b.delete(&id).await.unwrap();
    delays.push(until_seen(&a, &id, None, Instant::now()).await);
    delays.sort();
    eprintln!(
        "{test}: another process's write seen after a median {:?}, at most {:?}",
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    );
    assert!(manager_a.stats().near_invalidations_heard >= 21);
}

//! Near caches: hits without a backend call, voided by this process's writes at once and by
//! another manager's writes (another process) as soon as their announcement arrives.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use storehaus_cache::{CacheConfig, CacheManager, KeySpace, NearCache, RowKey};

use crate::support::redis_url;
use crate::{Backend, Setup};

crate::on_both_backends!(
    near_hits_make_no_backend_call,
    own_writes_void_near_entries_before_they_return,
    another_managers_writes_void_near_entries_within_a_bound,
    a_read_that_raced_a_write_keeps_nothing,
    entries_not_announced_stale_live_at_most_the_ttl,
);

type LoadError = Arc<String>;
const TTL: Duration = Duration::from_secs(300);

/// A second manager on the same storage, as another process would have.
fn peer(setup: Setup, manager: &CacheManager) -> CacheManager {
    match setup.backend {
        Backend::Redis => {
            let config = CacheConfig { timeout_ms: 2000, ..CacheConfig::from_url(redis_url()).unwrap() };
            CacheManager::new(config).unwrap()
        }
        Backend::Memory => CacheManager::with_backend(Arc::clone(manager.backend()), &CacheConfig::default()).unwrap(),
    }
}

/// Waits (up to 10 s) until `manager` follows the invalidation feed; the first near read
/// starts following it.
async fn wait_for_feed(manager: &CacheManager, near: &NearCache, row: &RowKey) {
    let _ = manager.get_or_load_near(near, row, TTL, || async { Ok::<Option<String>, LoadError>(None) }).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !manager.stats().near_feed_live {
        assert!(Instant::now() < deadline, "the feed never came up: {:?}", manager.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads `row` through `near`, counting loads in `loads`; the loader answers `value`.
async fn read(manager: &CacheManager, near: &NearCache, row: &RowKey, loads: &AtomicUsize, value: &str) -> String {
    manager
        .get_or_load_near(near, row, TTL, || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, LoadError>(Some(value.to_owned()))
        })
        .await
        .unwrap()
        .expect("the loader always finds the row")
}

fn space_row(space: &KeySpace, id: &str) -> RowKey {
    space.table("users").row(id)
}

async fn near_hits_make_no_backend_call(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, near, row) = (&ctx.manager, NearCache::new(100), space_row(&ctx.space, "1"));
    wait_for_feed(cache, &near, &space_row(&ctx.space, "warm")).await;
    let loads = AtomicUsize::new(0);
    assert_eq!(read(cache, &near, &row, &loads, "alice").await, "alice");
    let before = cache.stats();
    for _ in 0..10 {
        assert_eq!(read(cache, &near, &row, &loads, "other").await, "alice");
    }
    let after = cache.stats();
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(after.near_hits - before.near_hits, 10);
    assert_eq!((after.hits, after.misses), (before.hits, before.misses), "no read reached the backend");
}

async fn own_writes_void_near_entries_before_they_return(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, near) = (&ctx.manager, NearCache::new(100));
    let table = ctx.space.table("users");
    wait_for_feed(cache, &near, &table.row("warm")).await;
    let loads = AtomicUsize::new(0);
    for round in 0..20 {
        let row = table.row(&round.to_string());
        assert_eq!(read(cache, &near, &row, &loads, "v1").await, "v1");
        assert_eq!(read(cache, &near, &row, &loads, "v1").await, "v1");
        cache.invalidate_rows(&table, &[round.to_string()]).await;
        assert_eq!(read(cache, &near, &row, &loads, "v2").await, "v2", "round {round}");
    }
    assert_eq!(loads.load(Ordering::SeqCst), 40);
}

async fn another_managers_writes_void_near_entries_within_a_bound(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (reader, near) = (&ctx.manager, NearCache::new(1_000));
    let writer = peer(setup, reader);
    let table = ctx.space.table("users");
    wait_for_feed(reader, &near, &table.row("warm")).await;
    let loads = AtomicUsize::new(0);
    let mut stale = Vec::new();
    for round in 0..100 {
        let (id, old, new) = (round.to_string(), format!("v{round}"), format!("w{round}"));
        let row = table.row(&id);
        assert_eq!(read(reader, &near, &row, &loads, &old).await, old);
        assert_eq!(read(reader, &near, &row, &loads, &old).await, old, "a near hit");
        writer.invalidate_rows(&table, std::slice::from_ref(&id)).await;
        let written = Instant::now();
        loop {
            if read(reader, &near, &row, &loads, &new).await == new {
                break;
            }
            assert!(written.elapsed() < Duration::from_secs(2), "round {round}: still the old row");
            tokio::task::yield_now().await;
        }
        stale.push(written.elapsed());
    }
    stale.sort();
    let at = |q: f64| stale[((stale.len() as f64 * q) as usize).min(stale.len() - 1)];
    eprintln!(
        "{}: another manager's write was seen after p50 {:?}, p99 {:?}, max {:?} ({} rounds, {} heard)",
        setup.test,
        at(0.5),
        at(0.99),
        stale[stale.len() - 1],
        stale.len(),
        reader.stats().near_invalidations_heard
    );
    assert!(reader.stats().near_invalidations_heard >= 100);
    assert!(reader.stats().near_hits >= 100, "{:?}", reader.stats());
}

async fn a_read_that_raced_a_write_keeps_nothing(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (reader, near) = (&ctx.manager, NearCache::new(100));
    let writer = peer(setup, reader);
    let table = ctx.space.table("users");
    wait_for_feed(reader, &near, &table.row("warm")).await;
    for (round, by_peer) in [(0, false), (1, true)] {
        let id = round.to_string();
        let row = table.row(&id);
        let heard = reader.stats().near_invalidations_heard;
        // The write commits and is announced while the reader's load of the old row is in flight.
        let raced = reader
            .get_or_load_near(&near, &row, TTL, || async {
                let writing = if by_peer { &writer } else { reader };
                writing.invalidate_rows(&table, std::slice::from_ref(&id)).await;
                Ok::<_, LoadError>(Some("old".to_owned()))
            })
            .await
            .unwrap();
        assert_eq!(raced.as_deref(), Some("old"));
        if by_peer {
            let deadline = Instant::now() + Duration::from_secs(5);
            while reader.stats().near_invalidations_heard == heard {
                assert!(Instant::now() < deadline, "the announcement never arrived");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let loads = AtomicUsize::new(0);
        assert_eq!(read(reader, &near, &row, &loads, "new").await, "new", "by_peer: {by_peer}");
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }
}

async fn entries_not_announced_stale_live_at_most_the_ttl(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, near) = (&ctx.manager, NearCache::with_ttl(100, Duration::from_millis(300)));
    let row = space_row(&ctx.space, "1");
    wait_for_feed(cache, &near, &space_row(&ctx.space, "warm")).await;
    let loads = AtomicUsize::new(0);
    assert_eq!(read(cache, &near, &row, &loads, "v1").await, "v1");
    // The shared entry goes away without an announcement (evicted, or removed by hand): the
    // near entry still answers, but never past its TTL.
    cache.backend().delete(&[row.entry().to_owned()]).await.unwrap();
    let removed = Instant::now();
    assert_eq!(read(cache, &near, &row, &loads, "v2").await, "v1");
    loop {
        if read(cache, &near, &row, &loads, "v2").await == "v2" {
            break;
        }
        assert!(removed.elapsed() < Duration::from_secs(2), "the near entry outlived its TTL");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(removed.elapsed() <= Duration::from_millis(300) + Duration::from_millis(200), "{:?}", removed.elapsed());
}

//! What a store keeps in its cache is bounded: query results are keyed by a fixed-size digest
//! (never the query's text and bound values), and a row or result above `max_entry_bytes` is
//! served but not stored.

use super::*;

/// A bound value of about 1 MiB, different for each `i`.
fn huge(i: usize) -> String {
    format!("{i}:{}", "x".repeat(1 << 20))
}

pub(crate) async fn find_cached_keeps_no_query_text<B: TestBackend>(backend: Backend, db: B) {
    let test = format!("find_cached_keeps_no_query_text/{backend:?}/{}", B::NAME);
    let Some(cache) = backend.recorded(&test, |_| {}).await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Article>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&cache.manager, &prefix);
    let cached: GenericStore<Article> = GenericStore::new(
        storehaus.pool().clone(),
        None,
        Some(CacheParams::new(cache.manager.clone(), TTL_SECONDS, prefix)),
    );

    const QUERIES: usize = 300;
    for i in 0..QUERIES {
        let rows = cached.find_cached(QueryBuilder::new().filter(QueryFilter::eq("title", huge(i)))).await.unwrap();
        assert!(rows.is_empty());
    }
    let stats = cache.manager.stats();
    assert_eq!((stats.misses, stats.fills), (QUERIES as u64, QUERIES as u64), "every result is cached: {stats:?}");
    // Keys hold a 64-digit digest and values the result behind a 35-byte header, whatever the
    // size of the query.
    assert!(cache.recording.largest_key() < 300, "a key of {} bytes was written", cache.recording.largest_key());
    assert!(cache.recording.largest_value() < 100, "a value of {} bytes was written", cache.recording.largest_value());
    if let Some(memory) = &cache.memory {
        memory.sync().await;
        assert!(
            memory.weighted_bytes() < 1 << 20,
            "{} bytes held for {QUERIES} empty results",
            memory.weighted_bytes()
        );
    }

    // The results still answer.
    let before = Counts::of(&cache.manager);
    let again = cached.find_cached(QueryBuilder::new().filter(QueryFilter::eq("title", huge(0)))).await.unwrap();
    assert!(again.is_empty());
    assert_eq!(Counts::of(&cache.manager).since(before).hits, 1, "a cached result is a hit");
}

pub(crate) async fn oversized_rows_and_results_are_served_not_stored<B: TestBackend>(backend: Backend, db: B) {
    const LIMIT: u64 = 4096;
    let test = format!("oversized_rows_and_results_are_served_not_stored/{backend:?}/{}", B::NAME);
    let Some(cache) = backend.recorded(&test, |c| c.max_entry_bytes = LIMIT).await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Article>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&cache.manager, &prefix);
    let params = CacheParams::new(cache.manager.clone(), TTL_SECONDS, prefix);
    let cached: GenericStore<Article> = GenericStore::new(storehaus.pool().clone(), None, Some(params));
    let plain: GenericStore<Article> = GenericStore::new(storehaus.pool().clone(), None, None);

    let big = plain.create(article(&"b".repeat(2 * LIMIT as usize)), None).await.unwrap();
    let small = plain.create(article("small"), None).await.unwrap();

    // Served every time, from the database.
    for _ in 0..2 {
        assert_eq!(cached.get_by_id(&big.id).await.unwrap().as_ref(), Some(&big));
        assert_eq!(cached.find_cached(matching(&[big.id])).await.unwrap(), vec![big.clone()]);
    }
    let stats = cache.manager.stats();
    assert_eq!((stats.hits, stats.oversized_skipped), (0, 4), "nothing oversized is kept: {stats:?}");
    assert!(
        cache.recording.largest_value() <= LIMIT as usize,
        "a value of {} bytes was written",
        cache.recording.largest_value()
    );

    // What fits is still kept.
    let before = Counts::of(&cache.manager);
    for _ in 0..2 {
        assert_eq!(cached.get_by_id(&small.id).await.unwrap().as_ref(), Some(&small));
        assert_eq!(cached.find_cached(matching(&[small.id])).await.unwrap(), vec![small.clone()]);
    }
    let delta = Counts::of(&cache.manager).since(before);
    assert_eq!((delta.misses, delta.hits), (2, 2), "{delta:?}");
}

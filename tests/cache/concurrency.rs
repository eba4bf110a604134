//! Concurrent readers and writers never read stale rows; concurrent misses of one key run one
//! load; claims of the cache alone.

use super::*;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;
use storehaus_suite::pg;

pub(crate) async fn no_stale_reads_under_concurrent_writes<B: TestBackend>(backend: Backend, db: B) {
    const KEYS: usize = 50;
    const READERS: usize = 8;
    const WRITERS: usize = 2;
    const RUN: Duration = Duration::from_secs(5);
    let Some(ctx) = setup("no_stale_reads_under_concurrent_writes", backend, &db).await else { return };
    let rows: Vec<Article> = (0..KEYS).map(|i| article(&format!("key {i}"))).collect();
    let ids: Arc<Vec<Uuid>> = Arc::new(rows.iter().map(|a| a.id).collect());
    ctx.plain.create_many(rows, None).await.unwrap();
    // The counter each key's latest returned update wrote; a read that starts later must see it.
    let published: Arc<Vec<AtomicI64>> = Arc::new((0..KEYS).map(|_| AtomicI64::new(0)).collect());
    let before = Counts::of(&ctx.manager);
    let stop = Instant::now() + RUN;

    // Each key has one writer, so its counter only goes up.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, ids, published) = (ctx.cached.clone(), ids.clone(), published.clone());
            tokio::spawn(async move {
                let mine: Vec<usize> = (w..KEYS).step_by(WRITERS).collect();
                let mut counters = vec![0i64; KEYS];
                let mut writes = 0u64;
                for &k in mine.iter().cycle() {
                    if Instant::now() >= stop {
                        break;
                    }
                    counters[k] += 1;
                    let data = Article { id: ids[k], title: format!("key {k}"), views: counters[k] };
                    store.update(&ids[k], data, None).await.unwrap();
                    published[k].store(counters[k], Ordering::SeqCst);
                    writes += 1;
                }
                writes
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (store, ids, published) = (ctx.cached.clone(), ids.clone(), published.clone());
            tokio::spawn(async move {
                let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (r as u64 + 1);
                let (mut reads, mut stale) = (0u64, Vec::new());
                while Instant::now() < stop {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let k = (state % KEYS as u64) as usize;
                    let floor = published[k].load(Ordering::SeqCst);
                    let read = store.get_by_id(&ids[k]).await.unwrap().expect("rows are never deleted here");
                    if read.views < floor {
                        stale.push((k, floor, read.views));
                    }
                    reads += 1;
                    // An in-memory hit never suspends; without this the readers would keep every
                    // worker thread and starve the writers.
                    tokio::task::yield_now().await;
                }
                (reads, stale)
            })
        })
        .collect();

    let mut writes = 0;
    for writer in writers {
        writes += writer.await.unwrap();
    }
    let (mut reads, mut stale) = (0, Vec::new());
    for reader in readers {
        let (n, found) = reader.await.unwrap();
        reads += n;
        stale.extend(found);
    }
    let delta = Counts::of(&ctx.manager).since(before);
    eprintln!("{backend:?}: {reads} reads and {writes} writes in {RUN:?}, {} stale; {delta:?}", stale.len());
    assert!(
        stale.is_empty(),
        "{} stale reads (key, published, read), first ones: {:?}",
        stale.len(),
        &stale[..10.min(stale.len())]
    );
    assert!(reads > 1_000 && writes > 100, "too little ran to tell: {reads} reads, {writes} writes");
    assert!(delta.hits > 0, "the readers never hit the cache: {delta:?}");
    for (k, id) in ids.iter().enumerate() {
        let read = ctx.cached.get_by_id(id).await.unwrap().unwrap();
        assert_eq!(read.views, published[k].load(Ordering::SeqCst), "key {k} after the run");
    }
}

/// On SQLite, which counts no statements, the cache's counters alone say how many loads ran.
pub(crate) async fn concurrent_misses_run_one_query<B: TestBackend + Configured>(backend: Backend, db: B) {
    const CALLERS: usize = 100;
    const POOL_SIZE: u32 = 2;
    let test = format!("concurrent_misses_run_one_query/{backend:?}/{}", B::NAME);
    let Some(manager) = backend.manager(&test).await else { return };
    // A pool of its own, small, so every connection that may have run the load can be made to
    // publish its statistics.
    let config = DatabaseConfig { max_connections: POOL_SIZE, min_connections: 0, ..db.config().clone() };
    let loads = StoreHaus::new(config).await.unwrap();
    let observer = db.storehaus().await;
    loads.auto_migrate::<Article>(false).await.unwrap();
    let plain = GenericStore::<Article>::new(loads.pool().clone(), None, None);
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&manager, &prefix);
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix);
    let cached = GenericStore::<Article>::new(loads.pool().clone(), None, Some(params));
    let row = plain.create(article("cold"), None).await.unwrap();
    let id = row.id;

    // Whether the catalog counts what ran: three uncached reads must show as three scans.
    let base = scans(&loads, &observer, POOL_SIZE).await;
    for _ in 0..3 {
        plain.get_by_id(&id).await.unwrap();
    }
    let calibration = scans(&loads, &observer, POOL_SIZE).await.zip(base).map(|(after, base)| after - base);

    let before_stats = Counts::of(&manager);
    let before_scans = scans(&loads, &observer, POOL_SIZE).await;
    let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (store, start) = (cached.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.get_by_id(&id).await
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap().as_ref(), Some(&row));
    }
    let loads_run = scans(&loads, &observer, POOL_SIZE).await.zip(before_scans).map(|(after, before)| after - before);
    let delta = Counts::of(&manager).since(before_stats);
    eprintln!(
        "{backend:?}: {loads_run:?} table scans for {CALLERS} callers (calibration {calibration:?}/3); {delta:?}"
    );

    assert_eq!(delta.fills, 1, "one load filled the cache: {delta:?}");
    assert_eq!(delta.hits + delta.joins, CALLERS as u64 - 1, "every other caller hit or joined: {delta:?}");
    match (calibration, loads_run) {
        (Some(3), Some(loads_run)) => assert_eq!(loads_run, 1, "{CALLERS} concurrent misses ran {loads_run} queries"),
        (Some(calibration), _) => {
            eprintln!("pg_stat_user_tables counted {calibration} scans for 3 reads: not reliable here, not checked")
        }
        (None, _) => eprintln!("{} counts no statements: the scans are not checked", B::NAME),
    }
}

/// Index and sequential scans of `articles` so far, after making every connection of the pool
/// of `loads` publish its pending statistics; `None` on SQLite, which has no such statistics.
async fn scans(loads: &StoreHaus, observer: &StoreHaus, pool_size: u32) -> Option<i64> {
    loads.pool().as_postgres()?;
    let mut held = Vec::new();
    for _ in 0..pool_size {
        let mut conn = pg(loads).acquire().await.unwrap();
        sqlx::query("SELECT pg_stat_force_next_flush()").execute(&mut *conn).await.unwrap();
        // The flush happens before the server reports itself ready, which this waits for.
        sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap();
        held.push(conn);
    }
    drop(held);
    let mut conn = pg(observer).acquire().await.unwrap();
    sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&mut *conn).await.unwrap();
    sqlx::query_scalar(
        "SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'articles'",
    )
    .fetch_one(&mut *conn)
    .await
    .map(Some)
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Claims

pub(crate) async fn claims_belong_to_their_owner_and_expire(backend: Backend) {
    let test = format!("claims_belong_to_their_owner_and_expire/{backend:?}");
    let Some(manager) = backend.manager(&test).await else { return };
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&manager, &prefix);
    let key = KeySpace::new(prefix).claim("nightly");
    let ttl = Duration::from_millis(600);

    // B held the key once; its claim ran out and A took the key.
    let old = manager.claim(&key, "worker-b", Duration::from_millis(100)).await.unwrap().expect("a free key");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = manager.claim(&key, "worker-a", ttl).await.unwrap().expect("B's claim expired");
    assert_eq!(manager.claim(&key, "worker-b", ttl).await.unwrap(), None, "A holds it");
    assert!(!manager.release(&old).await.unwrap(), "B cannot release A's claim");
    assert!(!manager.extend(&old, ttl).await.unwrap(), "nor extend it");
    assert_eq!(manager.claim_owner(&key).await.unwrap().as_deref(), Some("worker-a"));

    // A never releases it: it frees itself after its TTL.
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    assert_eq!(manager.claim_owner(&key).await.unwrap(), None, "expired");
    assert!(!manager.release(&held).await.unwrap(), "an expired claim is not held");
    let again = manager.claim(&key, "worker-b", ttl).await.unwrap().expect("free after the TTL");
    assert!(manager.release(&again).await.unwrap());
    assert_eq!(manager.claim_owner(&key).await.unwrap(), None);
}

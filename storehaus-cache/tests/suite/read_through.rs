//! The read-through protocol: fills, jitter, negative caching, epochs and single flight.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use storehaus_cache::{CacheManager, Lookup};

use crate::Setup;

crate::on_both_backends!(
    fills_then_hits,
    fill_ttls_are_jittered_within_bounds,
    absent_rows_are_remembered_briefly,
    a_fill_with_a_stale_epoch_is_refused,
    loader_errors_are_not_cached,
    query_results_follow_the_table_generation,
    forgetting_a_table_removes_its_keys_and_retires_its_entries,
    interleaved_readers_and_writers_never_leave_stale_rows,
    single_flight_runs_one_loader,
    single_flight_shares_loader_errors,
    a_cancelled_leader_frees_its_waiters,
);

type LoadError = Arc<String>;
const TTL: Duration = Duration::from_secs(300);

/// Waits (up to 20 s) until `joins` callers have joined another caller's load.
async fn wait_for_joins(cache: &CacheManager, joins: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while cache.stats().single_flight_joins < joins {
        assert!(Instant::now() < deadline, "only {:?} joined", cache.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn fills_then_hits(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, row) = (&ctx.manager, ctx.space.table("users").row("1"));
    let loads = AtomicUsize::new(0);
    for _ in 0..3 {
        let value = cache
            .get_or_load(&row, TTL, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, LoadError>(Some("alice".to_owned()))
            })
            .await
            .unwrap();
        assert_eq!(value.as_deref(), Some("alice"));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    let stats = cache.stats();
    assert_eq!((stats.fills, stats.hits, stats.misses), (1, 2, 1), "{stats:?}");
    assert!(matches!(cache.lookup::<String>(&row).await, Lookup::Found(v) if v == "alice"));
}

async fn fill_ttls_are_jittered_within_bounds(setup: Setup) {
    let Some(ctx) = setup.ctx(|c| c.ttl_jitter_percent = 10).await else { return };
    let (cache, table) = (&ctx.manager, ctx.space.table("items"));
    let ttl = Duration::from_secs(100);
    let mut ttls = Vec::new();
    for i in 0..40 {
        let row = table.row(&i.to_string());
        cache.get_or_load(&row, ttl, || async { Ok::<_, LoadError>(Some(i)) }).await.unwrap();
        ttls.push(cache.ttl(row.entry()).await.unwrap().expect("filled entries expire"));
    }
    // A few seconds of slack below for a slow machine; none above.
    let (low, high) = (Duration::from_secs(87), Duration::from_secs(110));
    assert!(ttls.iter().all(|t| *t >= low && *t <= high), "{ttls:?}");
    let spread = *ttls.iter().max().unwrap() - *ttls.iter().min().unwrap();
    assert!(spread > Duration::from_secs(2), "fills do not expire together: {ttls:?}");
}

async fn absent_rows_are_remembered_briefly(setup: Setup) {
    let Some(ctx) = setup.ctx(|c| c.negative_ttl_seconds = 1).await else { return };
    let (cache, table) = (&ctx.manager, ctx.space.table("users"));
    let row = table.row("ghost");
    let loads = AtomicUsize::new(0);
    let exists = AtomicUsize::new(0);
    let get = || {
        cache.get_or_load(&row, TTL, || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, LoadError>((exists.load(Ordering::SeqCst) == 1).then(|| "ghost".to_owned()))
        })
    };

    assert_eq!(get().await.unwrap(), None);
    assert_eq!(get().await.unwrap(), None);
    assert_eq!(loads.load(Ordering::SeqCst), 1, "the absence is cached");
    assert_eq!(cache.lookup::<String>(&row).await, Lookup::Absent);
    let ttl = cache.ttl(row.entry()).await.unwrap().unwrap();
    assert!(ttl <= Duration::from_millis(1100), "negative TTL, not the entry TTL: {ttl:?}");

    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(get().await.unwrap(), None);
    assert_eq!(loads.load(Ordering::SeqCst), 2, "the absence expired");

    // A create invalidates the remembered absence at once.
    exists.store(1, Ordering::SeqCst);
    cache.invalidate_rows(&table, &["ghost"]).await;
    assert_eq!(get().await.unwrap().as_deref(), Some("ghost"));
    assert_eq!(loads.load(Ordering::SeqCst), 3);
}

async fn a_fill_with_a_stale_epoch_is_refused(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, table) = (&ctx.manager, ctx.space.table("accounts"));
    let row = table.row("7");

    // A reader misses and loads balance 100; a writer commits 50 and invalidates meanwhile.
    let Lookup::Miss(old) = cache.lookup::<u32>(&row).await else { panic!("cold key") };
    cache.invalidate_rows(&table, &["7"]).await;
    assert!(!cache.fill(&row, old, Some(&100u32), TTL).await, "a fill after an invalidation is refused");
    assert_eq!(cache.stats().stale_fills_refused, 1);

    let Lookup::Miss(fresh) = cache.lookup::<u32>(&row).await else { panic!("nothing was filled") };
    assert_ne!(fresh, old);
    assert!(cache.fill(&row, fresh, Some(&50u32), TTL).await);
    assert_eq!(cache.lookup::<u32>(&row).await, Lookup::Found(50));

    // A whole-table invalidation retires the entry and refuses fills read before it.
    let Lookup::Miss(other) = cache.lookup::<u32>(&table.row("8")).await else { panic!("cold key") };
    cache.invalidate_table(&table).await;
    assert!(matches!(cache.lookup::<u32>(&row).await, Lookup::Miss(_)), "retired by the table epoch");
    assert!(!cache.fill(&table.row("8"), other, Some(&1u32), TTL).await);
    assert!(!cache.fill(&row, fresh, Some(&50u32), TTL).await);
    assert_eq!(cache.stats().stale_fills_refused, 3);
}

async fn loader_errors_are_not_cached(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, row) = (&ctx.manager, ctx.space.table("users").row("1"));
    let failed = cache.get_or_load(&row, TTL, || async { Err::<Option<u8>, _>(Arc::new("db down".to_owned())) }).await;
    assert_eq!(failed.unwrap_err().as_str(), "db down");
    let value = cache.get_or_load(&row, TTL, || async { Ok::<_, LoadError>(Some(1u8)) }).await.unwrap();
    assert_eq!(value, Some(1));
    assert_eq!(cache.stats().in_flight, 0);
}

async fn query_results_follow_the_table_generation(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, table) = (&ctx.manager, ctx.space.table("posts"));
    let loads = AtomicUsize::new(0);
    let run = |query: &'static str, rows: Vec<u32>| {
        let loads = &loads;
        cache.get_or_load_query(&table, query, TTL, move || async move {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, LoadError>(rows)
        })
    };
    let adults = r#"SELECT * FROM "posts" WHERE "age" >= $1 [18]"#;
    assert_eq!(run(adults, vec![1, 2]).await.unwrap(), vec![1, 2]);
    assert_eq!(run(adults, vec![9]).await.unwrap(), vec![1, 2], "cached");
    assert_eq!(run("SELECT 2", vec![3]).await.unwrap(), vec![3], "another query, another entry");
    assert_eq!(loads.load(Ordering::SeqCst), 2);

    // Any write to the table retires every cached query of it.
    cache.invalidate_rows(&table, &["2"]).await;
    assert_eq!(run(adults, vec![1]).await.unwrap(), vec![1]);
    cache.invalidate_table(&table).await;
    assert_eq!(run(adults, vec![]).await.unwrap(), Vec::<u32>::new());
    assert_eq!(loads.load(Ordering::SeqCst), 4);
    // Other tables keep theirs.
    let other = ctx.space.table("comments");
    cache.get_or_load_query(&other, adults, TTL, || async { Ok::<_, LoadError>(vec![7u32]) }).await.unwrap();
    cache.invalidate_rows(&table, &["1"]).await;
    let kept = cache.get_or_load_query(&other, adults, TTL, || async { Ok::<_, LoadError>(vec![8u32]) }).await;
    assert_eq!(kept.unwrap(), vec![7]);
}

async fn forgetting_a_table_removes_its_keys_and_retires_its_entries(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let (cache, table) = (&ctx.manager, ctx.space.table("runs"));
    let row = table.row("1");
    let load = |value: u32| move || async move { Ok::<_, LoadError>(Some(value)) };
    assert_eq!(cache.get_or_load(&row, TTL, load(1)).await.unwrap(), Some(1));
    let query = || async { Ok::<_, LoadError>(vec![1u32]) };
    cache.get_or_load_query(&table, "SELECT 1", TTL, query).await.unwrap();
    let persistent = [table.epoch_key(), table.generation_key()];
    for key in &persistent {
        assert_eq!(cache.ttl(key).await.unwrap(), None, "{key} exists and never expires");
        assert!(cache.backend().get(key).await.unwrap().is_some(), "{key} exists");
    }

    cache.forget_table(&table).await.unwrap();
    for key in &persistent {
        assert!(cache.backend().get(key).await.unwrap().is_none(), "{key} was removed");
    }
    // Entries cached before are not served: the next read loads again.
    assert_eq!(cache.get_or_load(&row, TTL, load(2)).await.unwrap(), Some(2));
    let again = cache.get_or_load_query(&table, "SELECT 1", TTL, || async { Ok::<_, LoadError>(vec![2u32]) }).await;
    assert_eq!(again.unwrap(), vec![2]);
}

/// Writers commit to a stand-in database and invalidate; readers read through the cache.
/// A reader that starts after a write's invalidation returned must see that write or a later
/// one, and at the end the cache holds no row older than the database.
async fn interleaved_readers_and_writers_never_leave_stale_rows(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = Arc::clone(&ctx.manager);
    let table = ctx.space.table("balances");
    let keys: Vec<String> = (0..4).map(|k| k.to_string()).collect();
    let db: Arc<Mutex<HashMap<String, u64>>> = Arc::new(Mutex::new(keys.iter().map(|k| (k.clone(), 0)).collect()));
    let invalidated: Arc<HashMap<String, AtomicU64>> =
        Arc::new(keys.iter().map(|k| (k.clone(), AtomicU64::new(0))).collect());
    let deadline = Instant::now() + Duration::from_secs(2);
    let seed = Arc::new(AtomicU64::new(0x9E37_79B9_7F4A_7C15));
    let next = move || {
        // xorshift: cheap, deterministic per task, good enough to shuffle timings.
        let mut x = seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        seed.store(x, Ordering::Relaxed);
        x
    };

    let mut tasks = Vec::new();
    for writer in 0..2u64 {
        let (cache, table, db, invalidated, keys, next) =
            (cache.clone(), table.clone(), db.clone(), invalidated.clone(), keys.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = writer;
            while Instant::now() < deadline {
                let r = next().wrapping_add(n);
                n += 1;
                let key = &keys[(r % keys.len() as u64) as usize];
                let version = {
                    let mut db = db.lock().unwrap();
                    let row = db.get_mut(key).unwrap();
                    *row += 1;
                    *row
                };
                tokio::time::sleep(Duration::from_micros(r % 1500)).await;
                cache.invalidate_rows(&table, &[key]).await;
                invalidated[key].fetch_max(version, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_micros((r >> 8) % 3000)).await;
            }
        }));
    }
    for reader in 0..6u64 {
        let (cache, table, db, invalidated, keys, next) =
            (cache.clone(), table.clone(), db.clone(), invalidated.clone(), keys.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = reader;
            while Instant::now() < deadline {
                let r = next().wrapping_add(n * 7);
                n += 1;
                let key = &keys[(r % keys.len() as u64) as usize];
                let floor = invalidated[key].load(Ordering::SeqCst);
                let db = db.clone();
                let value = cache
                    .get_or_load(&table.row(key), TTL, || async move {
                        let version = db.lock().unwrap()[key];
                        // Widen the window between reading the database and filling.
                        tokio::time::sleep(Duration::from_micros((r >> 16) % 2000)).await;
                        Ok::<_, LoadError>(Some(version))
                    })
                    .await
                    .unwrap()
                    .unwrap();
                assert!(value >= floor, "key {key}: read version {value} after version {floor} was invalidated");
                // In-memory hits never suspend; let the writers run.
                tokio::task::yield_now().await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let db = db.lock().unwrap().clone();
    for key in &keys {
        match cache.lookup::<u64>(&table.row(key)).await {
            Lookup::Found(cached) => assert_eq!(cached, db[key], "key {key}: the cache holds an old version"),
            Lookup::Miss(_) => {}
            other => panic!("key {key}: unexpected {other:?}"),
        }
    }
    let stats = cache.stats();
    eprintln!("{}: {stats:?}", setup.test);
    assert!(stats.hits > 0 && stats.invalidations > 0, "{stats:?}");
    assert_eq!((stats.errors, stats.timeouts, stats.in_flight), (0, 0, 0), "{stats:?}");
}

async fn single_flight_runs_one_loader(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = Arc::clone(&ctx.manager);
    let row = ctx.space.table("users").row("hot");
    let loads = Arc::new(AtomicUsize::new(0));
    let callers = 100;

    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (cache, row, loads) = (cache.clone(), row.clone(), loads.clone());
            tokio::spawn(async move {
                let loader_cache = cache.clone();
                cache
                    .get_or_load(&row, TTL, || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        // Hold the load until every other caller has joined it.
                        wait_for_joins(&loader_cache, callers - 1).await;
                        Ok::<_, LoadError>(Some("hot".to_owned()))
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().as_deref(), Some("hot"));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    let stats = cache.stats();
    assert_eq!((stats.single_flight_joins, stats.in_flight, stats.fills), (callers - 1, 0, 1), "{stats:?}");
}

async fn single_flight_shares_loader_errors(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = Arc::clone(&ctx.manager);
    let row = ctx.space.table("users").row("broken");
    let loads = Arc::new(AtomicUsize::new(0));
    let callers = 20;

    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (cache, row, loads) = (cache.clone(), row.clone(), loads.clone());
            tokio::spawn(async move {
                let loader_cache = cache.clone();
                cache
                    .get_or_load(&row, TTL, || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        wait_for_joins(&loader_cache, callers - 1).await;
                        Err::<Option<String>, _>(Arc::new("connection reset".to_owned()))
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err().as_str(), "connection reset");
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().in_flight, 0, "no flight leaks");
    assert_eq!(cache.stats().fills, 0);
}

async fn a_cancelled_leader_frees_its_waiters(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = Arc::clone(&ctx.manager);
    let row = ctx.space.table("users").row("slow");

    let leader = {
        let (cache, row) = (cache.clone(), row.clone());
        tokio::spawn(async move {
            cache.get_or_load(&row, TTL, std::future::pending::<Result<Option<String>, LoadError>>).await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while cache.stats().in_flight == 0 {
        assert!(Instant::now() < deadline, "the leader never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiter = {
        let (cache, row) = (cache.clone(), row.clone());
        tokio::spawn(async move {
            cache.get_or_load(&row, TTL, || async { Ok::<_, LoadError>(Some("from waiter".to_owned())) }).await
        })
    };
    wait_for_joins(&cache, 1).await;
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());

    let value = tokio::time::timeout(Duration::from_secs(20), waiter).await.expect("the waiter is released");
    assert_eq!(value.unwrap().unwrap().as_deref(), Some("from waiter"));
    assert_eq!(cache.stats().in_flight, 0);
    assert!(matches!(cache.lookup::<String>(&row).await, Lookup::Found(v) if v == "from waiter"));
}

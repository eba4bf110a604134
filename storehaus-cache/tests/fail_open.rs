//! Redis down, slow or restarted: read-through calls answer from the loader within the timeout,
//! failures are counted, reconnection is bounded by backoff, and hits resume by themselves.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use storehaus_cache::{CacheConfig, CacheError, CacheManager, KeySpace};
use support::{RedisServer, free_port, skip, unique_prefix};

const TTL: Duration = Duration::from_secs(300);
/// Allowance on top of `timeout_ms` for a loaded machine.
const MARGIN: Duration = Duration::from_millis(1500);

type LoadError = Arc<String>;

fn config(url: String, timeout_ms: u64, reconnect_max_delay_ms: u64) -> CacheConfig {
    CacheConfig {
        redis_url: url,
        timeout_ms,
        connection_timeout_ms: timeout_ms,
        reconnect_max_delay_ms,
        ..CacheConfig::default()
    }
}

/// The most connection attempts a backoff starting at 100 ms (at least 80 ms with jitter) and
/// capped at `max_ms` (at least 80% of it) allows in `elapsed`, counting the first attempt and
/// the one a reconnect makes at once.
fn attempt_bound(elapsed: Duration, max_ms: u64) -> u64 {
    let mut bound = 2;
    let mut delay = 80.0;
    let mut budget = elapsed.as_millis() as f64;
    while budget >= 0.0 {
        bound += 1;
        budget -= delay;
        delay = (delay * 2.0).min(max_ms as f64 * 0.8);
    }
    bound
}

#[test]
fn construction_needs_no_server_and_no_runtime() {
    let manager = CacheManager::new(config(format!("redis://127.0.0.1:{}", free_port()), 100, 1000)).unwrap();
    assert_eq!(manager.stats().connect_attempts, 0, "connecting is lazy");
    let tls = CacheManager::new(CacheConfig::from_url("rediss://cache.example.com:6380").unwrap());
    assert!(matches!(tls, Err(CacheError::Config(e)) if e.key == "cache.redis_url"), "this build has no TLS");
    let invalid = CacheConfig { timeout_ms: 0, ..CacheConfig::default() };
    assert!(matches!(CacheManager::new(invalid), Err(CacheError::Config(e)) if e.key == "cache.timeout_ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_fails_open_quickly() {
    let timeout = Duration::from_millis(200);
    let url = format!("redis://127.0.0.1:{}", free_port());
    let manager = CacheManager::new(config(url, timeout.as_millis() as u64, 1000)).unwrap();
    let table = KeySpace::new(unique_prefix("fail_open")).table("users");
    let row = table.row("1");
    let bounded = |started: Instant, what: &str| {
        let took = started.elapsed();
        assert!(took < timeout + MARGIN, "{what} took {took:?}");
    };

    let started = Instant::now();
    let mut rounds = 0u32;
    while started.elapsed() < Duration::from_millis(1500) {
        rounds += 1;
        let t = Instant::now();
        let value = manager.get_or_load(&row, TTL, || async { Ok::<_, LoadError>(Some(rounds)) }).await.unwrap();
        assert_eq!(value, Some(rounds));
        bounded(t, "get_or_load");

        let t = Instant::now();
        let rows = manager.get_or_load_query(&table, "q", TTL, || async { Ok::<_, LoadError>(vec![rounds]) }).await;
        assert_eq!(rows.unwrap(), vec![rounds]);
        bounded(t, "get_or_load_query");

        let t = Instant::now();
        manager.invalidate_rows(&table, &["1"]).await;
        bounded(t, "invalidate_rows");

        let t = Instant::now();
        let error = manager.get::<String>("k").await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(manager.incr("c", 1, None).await.is_err());
        bounded(t, "explicit calls");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let elapsed = started.elapsed();
    let stats = manager.stats();
    eprintln!("{rounds} rounds in {elapsed:?}: {stats:?}");
    assert!(stats.errors > 0, "{stats:?}");
    assert_eq!((stats.hits, stats.fills, stats.in_flight), (0, 0, 0), "{stats:?}");
    assert!(stats.misses >= u64::from(rounds), "{stats:?}");
    assert!(stats.invalidations_deferred > 0, "{stats:?}");
    assert!(stats.connect_attempts >= 1);
    assert!(
        stats.connect_attempts <= attempt_bound(elapsed, 1000),
        "{} attempts in {elapsed:?} for {rounds} rounds",
        stats.connect_attempts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_redis_recovers_without_storms() {
    const TEST: &str = "restarted_redis_recovers_without_storms";
    let port = free_port();
    let mut server = match RedisServer::start(port) {
        Ok(server) => server,
        Err(why) => return skip(TEST, &why).unwrap_or(()),
    };
    let timeout = Duration::from_millis(300);
    let max_delay_ms = 400;
    let manager = Arc::new(CacheManager::new(config(server.url(), timeout.as_millis() as u64, max_delay_ms)).unwrap());
    let table = KeySpace::new(unique_prefix(TEST)).table("users");
    let row = table.row("1");
    let load = |value: &'static str| move || async move { Ok::<_, LoadError>(Some(value.to_owned())) };

    // Up: fill, then hit.
    assert_eq!(manager.get_or_load(&row, TTL, load("v1")).await.unwrap().as_deref(), Some("v1"));
    assert_eq!(manager.get_or_load(&row, TTL, load("unused")).await.unwrap().as_deref(), Some("v1"));
    assert_eq!(manager.stats().hits, 1);

    // Down: every call still answers from the loader, within the timeout.
    server.stop();
    let before = manager.stats();
    let down = Instant::now();
    let mut calls = 0u64;
    while down.elapsed() < Duration::from_millis(2500) {
        let batch: Vec<_> = (0..5)
            .map(|_| {
                let (manager, row) = (manager.clone(), row.clone());
                tokio::spawn(async move {
                    let started = Instant::now();
                    let value = manager.get_or_load(&row, TTL, load("db")).await.unwrap();
                    (value, started.elapsed())
                })
            })
            .collect();
        for task in batch {
            let (value, took) = task.await.unwrap();
            assert_eq!(value.as_deref(), Some("db"));
            assert!(took < timeout + MARGIN, "a call took {took:?} while Redis was down");
            calls += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let down_for = down.elapsed();
    let during = manager.stats();
    let attempts = during.connect_attempts - before.connect_attempts;
    eprintln!("down {down_for:?}: {calls} calls, {attempts} connection attempts, {during:?}");
    assert!(during.errors + during.timeouts > before.errors + before.timeouts, "failures are counted");
    assert!(attempts >= 1, "it tried to reconnect");
    assert!(attempts <= attempt_bound(down_for, max_delay_ms), "{attempts} attempts in {down_for:?}: a storm");
    assert!(attempts * 5 < calls, "{attempts} attempts for {calls} calls");

    // Up again on the same port: hits resume on the same manager.
    let _server = RedisServer::start(port).expect("restart redis-server");
    let hits = manager.stats().hits;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = manager.get_or_load(&row, TTL, load("v2")).await.unwrap();
        if manager.stats().hits > hits {
            assert_eq!(value.as_deref(), Some("v2"), "the restarted server was empty; v2 was filled");
            break;
        }
        assert!(Instant::now() < deadline, "no hit within 20 s of the restart: {:?}", manager.stats());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    manager.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_redis_costs_a_few_timeouts_not_one_per_call() {
    const TEST: &str = "hung_redis_costs_a_few_timeouts_not_one_per_call";
    let port = free_port();
    let server = match RedisServer::start(port) {
        Ok(server) => server,
        Err(why) => return skip(TEST, &why).unwrap_or(()),
    };
    let timeout = Duration::from_millis(300);
    let max_delay_ms = 1000;
    let manager = CacheManager::new(config(server.url(), timeout.as_millis() as u64, max_delay_ms)).unwrap();
    let row = KeySpace::new(unique_prefix(TEST)).table("users").row("1");
    let load = |value: &'static str| move || async move { Ok::<_, LoadError>(Some(value.to_owned())) };
    manager.get_or_load(&row, TTL, load("v1")).await.unwrap();
    assert_eq!(manager.get_or_load(&row, TTL, load("unused")).await.unwrap().as_deref(), Some("v1"));

    // Frozen: the first calls time out; then the connection counts as lost and calls fail fast,
    // except one per reconnection attempt.
    server.pause();
    let before = manager.stats();
    let paused = Instant::now();
    let (mut fast, mut slow) = (0u64, 0u64);
    while paused.elapsed() < Duration::from_secs(4) {
        let started = Instant::now();
        assert_eq!(manager.get_or_load(&row, TTL, load("db")).await.unwrap().as_deref(), Some("db"));
        let took = started.elapsed();
        assert!(took < timeout + MARGIN, "a call took {took:?} while Redis was frozen");
        if took >= timeout / 2 {
            slow += 1
        } else {
            fast += 1
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let frozen_for = paused.elapsed();
    let after = manager.stats();
    let attempts = after.connect_attempts - before.connect_attempts;
    eprintln!("frozen {frozen_for:?}: {slow} slow and {fast} fast calls, {attempts} attempts, {after:?}");
    assert!(after.timeouts > before.timeouts, "timeouts are counted");
    assert!(attempts <= attempt_bound(frozen_for, max_delay_ms), "{attempts} attempts in {frozen_for:?}");
    assert!(slow <= 3 + attempts + 1, "{slow} calls waited for the timeout, {attempts} attempts");
    assert!(fast > slow, "{fast} fast calls, {slow} slow");

    // Thawed: hits resume on the same manager.
    server.resume();
    let hits = manager.stats().hits;
    let deadline = Instant::now() + Duration::from_secs(20);
    while manager.stats().hits == hits {
        assert!(Instant::now() < deadline, "no hit within 20 s of the thaw: {:?}", manager.stats());
        manager.get_or_load(&row, TTL, load("v2")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

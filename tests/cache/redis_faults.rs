//! Redis unreachable, or gone and back: every store call still succeeds. Redis only, on
//! PostgreSQL.

use super::*;
use std::time::Instant;
use storehaus_suite::redis::{RedisServer, free_port};

/// The cache's bound per command in the fault tests.
const FAULT_TIMEOUT: Duration = Duration::from_millis(200);
/// What one store call may spend in PostgreSQL, on a loaded machine.
const DATABASE_ALLOWANCE: Duration = Duration::from_millis(1500);

fn fault_config(url: String) -> CacheConfig {
    let timeout_ms = FAULT_TIMEOUT.as_millis() as u64;
    CacheConfig {
        redis_url: url,
        timeout_ms,
        connection_timeout_ms: timeout_ms,
        reconnect_max_delay_ms: 400,
        ..CacheConfig::default()
    }
}

/// Runs one store call, checking it stays within the cache timeout plus database time.
async fn bounded<R>(slowest: &mut Duration, what: &str, call: impl Future<Output = R>) -> R {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    assert!(took < FAULT_TIMEOUT + DATABASE_ALLOWANCE, "{what} took {took:?} while Redis was unreachable");
    *slowest = (*slowest).max(took);
    result
}

/// One round of CRUD calls through `cached`, each checked against the database; returns how
/// many calls ran.
async fn crud_round(cached: &GenericStore<Article>, plain: &GenericStore<Article>, slowest: &mut Duration) -> u64 {
    let data = article("round");
    let id = data.id;
    let created = bounded(slowest, "create", cached.create(data, Some(owned(&["t"])))).await.unwrap();
    let read = bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
    assert_eq!(read.as_ref(), Some(&created));
    bounded(slowest, "update", cached.update(&id, titled(id, "updated"), None)).await.unwrap();
    let read = bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
    assert_eq!(read, plain.get_by_id(&id).await.unwrap());
    assert_eq!(read.unwrap().title, "updated");
    bounded(slowest, "add_tags", cached.add_tags(&id, ["u"])).await.unwrap();
    assert!(bounded(slowest, "delete", cached.delete(&id)).await.unwrap());
    assert_eq!(bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap(), None);
    bounded(slowest, "restore", cached.restore(&id)).await.unwrap();
    let read = bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
    assert_eq!(read.map(|r| r.tags().to_vec()), Some(owned(&["t", "u"])));
    assert!(bounded(slowest, "force_delete", cached.force_delete(&id)).await.unwrap());
    assert_eq!(bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap(), None);
    11
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_redis_fails_open() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Article>(false).await.unwrap();
    let url = format!("redis://127.0.0.1:{}", free_port());
    let manager = Arc::new(CacheManager::new(fault_config(url)).unwrap());
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, unique_prefix("unreachable_redis_fails_open"));
    let cached = GenericStore::<Article>::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::<Article>::new(storehaus.pool().clone(), None, None);

    let started = Instant::now();
    let (mut calls, mut slowest) = (0, Duration::ZERO);
    while started.elapsed() < Duration::from_secs(2) {
        calls += crud_round(&cached, &plain, &mut slowest).await;
    }
    let stats = manager.stats();
    eprintln!("{calls} store calls in {:?}, slowest {slowest:?}; {stats:?}", started.elapsed());
    assert!(stats.errors + stats.timeouts > 0, "the failures are counted: {stats:?}");
    assert_eq!((stats.hits, stats.fills), (0, 0), "{stats:?}");
    assert!(stats.invalidations_deferred > 0, "failed invalidations are queued: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_redis_is_used_again_by_the_same_store() {
    const TEST: &str = "restarted_redis_is_used_again_by_the_same_store";
    let mut server = match RedisServer::start(free_port()) {
        Ok(server) => server,
        Err(why) => return unavailable(TEST, &why).unwrap_or(()),
    };
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Article>(false).await.unwrap();
    let manager = Arc::new(CacheManager::new(fault_config(server.url())).unwrap());
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, unique_prefix(TEST));
    let cached = GenericStore::<Article>::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::<Article>::new(storehaus.pool().clone(), None, None);
    let id = plain.create(article("survivor"), None).await.unwrap().id;
    prime(&cached, &manager, &id).await.unwrap();

    // Down: every call still succeeds, and the failures are counted.
    server.stop();
    let before = manager.stats();
    let down = Instant::now();
    let (mut calls, mut slowest) = (0, Duration::ZERO);
    while down.elapsed() < Duration::from_secs(2) {
        calls += crud_round(&cached, &plain, &mut slowest).await;
        let read = bounded(&mut slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
        assert_eq!(read, plain.get_by_id(&id).await.unwrap());
        calls += 1;
    }
    let during = manager.stats();
    eprintln!("down {:?}: {calls} store calls, slowest {slowest:?}; {during:?}", down.elapsed());
    assert!(during.errors + during.timeouts > before.errors + before.timeouts, "failures are counted");
    assert_eq!(during.hits, before.hits, "nothing is served from a cache that is down");

    // Back on the same port, empty: the same store fills and hits again.
    server.restart().expect("restart redis-server on its port");
    let back = Instant::now();
    loop {
        let hits = manager.stats().hits;
        let read = cached.get_by_id(&id).await.unwrap();
        assert_eq!(read, plain.get_by_id(&id).await.unwrap());
        if manager.stats().hits > hits {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(10), "no hit within 10 s of the restart: {:?}", manager.stats());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("first hit {:?} after the restart", back.elapsed());
    // And writes invalidate again.
    prime(&cached, &manager, &id).await.unwrap();
    cached.update(&id, titled(id, "after the restart"), None).await.unwrap();
    assert_eq!(fresh(&cached, &plain, &id, "an update after the restart").await.unwrap().title, "after the restart");
}

//! A near cache whose invalidation feed is cut: announcements made meanwhile are lost, so
//! everything it kept is void once the feed is back. Runs on a `redis-server` of its own, whose
//! pub/sub connections it may kill.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use storehaus_cache::{CacheConfig, CacheManager, KeySpace, NearCache};
use support::{RedisServer, free_port, skip};

type LoadError = Arc<String>;
const TTL: Duration = Duration::from_secs(300);

fn manager(url: &str) -> CacheManager {
    CacheManager::new(CacheConfig {
        timeout_ms: 2000,
        reconnect_max_delay_ms: 200,
        ..CacheConfig::from_url(url).unwrap()
    })
    .unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_missed_while_the_feed_was_lost_void_every_near_entry() {
    const TEST: &str = "near_feed_lost";
    let server = match RedisServer::start(free_port()) {
        Ok(server) => server,
        Err(why) => return skip(TEST, &why).unwrap_or(()),
    };
    let (reader, writer) = (manager(&server.url()), manager(&server.url()));
    let near = NearCache::new(100);
    let table = KeySpace::new(TEST).table("users");
    let row = table.row("1");
    let read = |value: &'static str| {
        reader.get_or_load_near(&near, &row, TTL, move || async move { Ok::<_, LoadError>(Some(value.to_owned())) })
    };

    assert_eq!(read("v1").await.unwrap().as_deref(), Some("v1"));
    wait_until("the feed is live", || reader.stats().near_feed_live).await;
    assert_eq!(read("v1").await.unwrap().as_deref(), Some("v1"));
    assert_eq!(read("v2").await.unwrap().as_deref(), Some("v1"), "kept in the near cache");
    assert!(reader.stats().near_hits >= 1);

    // Cut every subscription, then write: the announcement reaches no one.
    let client = redis::Client::open(server.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub").query_async(&mut admin).await.unwrap();
    assert!(killed >= 1, "the reader's feed was subscribed");
    writer.invalidate_rows(&table, &["1"]).await;

    wait_until("the feed was lost and is back", || {
        let stats = reader.stats();
        stats.near_feed_lost >= 1 && stats.near_feed_live
    })
    .await;
    assert_eq!(read("v2").await.unwrap().as_deref(), Some("v2"), "nothing kept before the loss is used");
    assert_eq!(read("v3").await.unwrap().as_deref(), Some("v2"), "kept again once the feed is back");
    assert_eq!(reader.stats().near_feed_lost, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_caches_are_bypassed_while_the_backend_is_down() {
    const TEST: &str = "near_backend_down";
    let mut server = match RedisServer::start(free_port()) {
        Ok(server) => server,
        Err(why) => return skip(TEST, &why).unwrap_or(()),
    };
    let reader = manager(&server.url());
    let near = NearCache::new(100);
    let row = KeySpace::new(TEST).table("users").row("1");
    let read = |value: &'static str| {
        reader.get_or_load_near(&near, &row, TTL, move || async move { Ok::<_, LoadError>(Some(value.to_owned())) })
    };
    assert_eq!(read("v1").await.unwrap().as_deref(), Some("v1"));
    wait_until("the feed is live", || reader.stats().near_feed_live).await;
    assert_eq!(read("v2").await.unwrap().as_deref(), Some("v1"));

    server.stop();
    wait_until("the feed is lost", || !reader.stats().near_feed_live).await;
    // With no feed, a write elsewhere could go unheard: every read goes to the loader.
    assert_eq!(read("v2").await.unwrap().as_deref(), Some("v2"));
    assert_eq!(read("v3").await.unwrap().as_deref(), Some("v3"));
}

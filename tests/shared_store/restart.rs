//! A subscriber survives a Redis restart: it subscribes again by itself, and events published
//! after the restart reach it. Redis only, on a `redis-server` of the test's own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use storehaus::cache::shared::SharedStore;
use storehaus::cache::{CacheConfig, CacheManager};
use storehaus_suite::redis::{RedisServer, free_port, unavailable};
use tokio::sync::mpsc::unbounded_channel;

const TEST: &str = "shared_store::restart";

fn store_on(server: &RedisServer) -> SharedStore {
    let config = CacheConfig {
        redis_url: server.url(),
        timeout_ms: 1000,
        connection_timeout_ms: 1000,
        reconnect_max_delay_ms: 200,
        ..CacheConfig::default()
    };
    let manager = Arc::new(CacheManager::new(config).expect("a valid config"));
    SharedStore::builder(manager).service("api").prefix(TEST).build().expect("the store builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_survives_a_restart() {
    let mut server = match RedisServer::start_durable(free_port()) {
        Ok(server) => server,
        Err(why) => {
            unavailable::<()>(TEST, &why);
            return;
        }
    };
    let subscriber = store_on(&server);
    let publisher = store_on(&server);
    let (sender, mut received) = unbounded_channel();
    let _subscription = subscriber
        .events()
        .subscribe::<u64, _, _>("ticks", move |ctx| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(ctx.data);
            }
        })
        .await
        .expect("subscribe");
    publisher.events().publish("ticks", &0_u64).await.unwrap();
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), received.recv()).await.unwrap(), Some(0));

    server.restart().expect("redis-server starts again");

    // Messages published before the subscriber is back are lost; publish until one arrives.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 1_u64;
    let first = loop {
        assert!(Instant::now() < deadline, "no event reached the subscriber after the restart");
        let _ = publisher.events().publish("ticks", &n).await;
        n += 1;
        if let Ok(Some(got)) = tokio::time::timeout(Duration::from_millis(100), received.recv()).await {
            break got;
        }
    };
    assert!(first >= 1);
    // Once it is back, every event arrives, in order.
    let mut expected: Vec<u64> = Vec::new();
    for more in n..n + 20 {
        assert!(publisher.events().publish("ticks", &more).await.unwrap() >= 1, "the subscriber is active");
        expected.push(more);
    }
    let mut got = Vec::new();
    while got.last() != expected.last() {
        let next = tokio::time::timeout(Duration::from_secs(5), received.recv()).await.expect("delivered");
        let next = next.expect("the subscription is alive");
        if next >= expected[0] {
            got.push(next);
        }
    }
    assert_eq!(got, expected);
    drop(server);
}

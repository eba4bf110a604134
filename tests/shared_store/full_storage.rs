//! A full storage never drops a claim or a counter: a lock held by one owner stays held, and a
//! count stays exact, however many values are written next to them. Redis (a private server
//! with `maxmemory` and the default `noeviction`) refuses the writes that do not fit; the memory
//! backend must not evict to make room for them either.

use std::sync::Arc;
use std::time::Duration;

use storehaus::cache::shared::SharedStore;
use storehaus::cache::{CacheConfig, CacheManager};
use storehaus_suite::redis::{RedisServer, free_port, unavailable};

use storehaus_suite::resp::{self, Reply};

const TEST: &str = "shared_store::full_storage";
const HOLD: Duration = Duration::from_secs(60);

/// Takes a claim and counts, fills the storage with values (some writes may be refused), then
/// checks that the claim and the count are intact.
async fn claim_and_count_survive(store: &SharedStore, before_flood: impl AsyncFnOnce()) {
    assert!(store.claim().once("lock", "alice", HOLD).await.unwrap().is_some());
    assert_eq!(store.counter().increment("hits", 5).await.unwrap(), 5);
    before_flood().await;
    let value = "x".repeat(4096);
    for n in 0..2_000 {
        let key = format!("filler:{n}");
        if store.kv().set(&key, &value, None).await.is_ok() {
            // Values in use, read again and again, as a cache sees them.
            for _ in 0..3 {
                let _ = store.kv().get::<String>(&key).await;
            }
        }
    }
    assert!(store.claim().once("lock", "bob", HOLD).await.unwrap().is_none(), "a held claim was dropped");
    assert_eq!(store.claim().owner("lock").await.unwrap().as_deref(), Some("alice"));
    assert_eq!(store.counter().get("hits").await.unwrap(), 5, "a counter was dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis() {
    let server = match RedisServer::start(free_port()) {
        Ok(server) => server,
        Err(why) => {
            unavailable::<()>(TEST, &why);
            return;
        }
    };
    let config = CacheConfig { redis_url: server.url(), timeout_ms: 2000, ..CacheConfig::default() };
    let store = SharedStore::builder(Arc::new(CacheManager::new(config).unwrap())).service("api").build().unwrap();
    let url = server.url();
    claim_and_count_survive(&store, async || {
        let reply = resp::command(&url, &["CONFIG", "SET", "maxmemory", "4mb"]).await;
        assert_eq!(reply, Reply::Status("OK".into()));
    })
    .await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory() {
    let config = CacheConfig { memory_max_bytes: 1 << 20, ..CacheConfig::default() };
    let store = SharedStore::builder(Arc::new(CacheManager::memory(&config).unwrap())).service("api").build().unwrap();
    claim_and_count_survive(&store, async || {}).await;
}

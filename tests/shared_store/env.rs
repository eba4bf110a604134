//! [`Env`]: one backend (the shared Redis or the in-process memory cache) under a key prefix of
//! one test, with raw access to what the store wrote.

use std::sync::Arc;
use std::time::Duration;

use storehaus::cache::shared::{SharedAdapter, SharedStore, SharedStoreBuilder, Subscription};
use storehaus::cache::{CacheConfig, CacheManager};
use storehaus_suite::redis::{delete_under, keys_under, redis_url, shared_manager, unique_prefix};

use storehaus_suite::resp::{self, RawSubscription, Reply};

/// The service name of every store of the suite.
pub const SERVICE: &str = "api";

/// The storage a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Redis,
    Memory,
}

/// A test's storage and key prefix.
#[derive(Debug)]
pub struct Env {
    pub backend: Backend,
    pub manager: Arc<CacheManager>,
    pub prefix: String,
    /// The memory storage itself, for raw reads on the memory backend.
    memory: Option<Arc<dyn SharedAdapter>>,
}

impl Env {
    /// The storage of `backend` for test `test`; `None` when Redis is unreachable and services
    /// are not required.
    pub async fn open(backend: Backend, test: &str) -> Option<Env> {
        let prefix = unique_prefix(test);
        match backend {
            Backend::Redis => {
                let manager = Arc::new(shared_manager(test).await?);
                Some(Env { backend, manager, prefix, memory: None })
            }
            Backend::Memory => {
                let manager = Arc::new(CacheManager::memory(&CacheConfig::default()).expect("a memory cache"));
                let adapter = Arc::clone(manager.backend()).shared_adapter().expect("memory holds a shared store");
                Some(Env { backend, manager, prefix, memory: Some(adapter) })
            }
        }
    }

    pub fn is_redis(&self) -> bool {
        self.backend == Backend::Redis
    }

    /// A builder on this storage with the suite's service and the test's prefix.
    pub fn builder(&self) -> SharedStoreBuilder {
        self.builder_on(&self.manager)
    }

    /// Like [`Env::builder`], on another manager of the same storage.
    pub fn builder_on(&self, manager: &Arc<CacheManager>) -> SharedStoreBuilder {
        SharedStore::builder(Arc::clone(manager)).service(SERVICE).prefix(self.prefix.as_str())
    }

    /// A store without declared scope kinds.
    pub fn store(&self) -> SharedStore {
        self.builder().build().expect("the store builds")
    }

    /// Another manager on the same storage: its own connections on Redis, the same in-process
    /// state in memory (which has no connections).
    pub async fn peer_manager(&self) -> Arc<CacheManager> {
        match self.backend {
            Backend::Redis => Arc::new(shared_manager("shared_store peer").await.expect("Redis answered already")),
            Backend::Memory => Arc::clone(&self.manager),
        }
    }

    /// The bytes stored under the full key `key`.
    pub async fn raw_get(&self, key: &str) -> Option<Vec<u8>> {
        match &self.memory {
            None => resp::command(&redis_url(), &["GET", key]).await.bulk(),
            Some(adapter) => adapter.get(key).await.expect("memory get"),
        }
    }

    /// Stores `value` under the full key `key`, bypassing the store's encoding.
    pub async fn raw_set(&self, key: &str, value: &[u8]) {
        match &self.memory {
            None => {
                let mut connection = resp::Connection::open(&redis_url()).await;
                let reply = connection.command(&[b"SET", key.as_bytes(), value]).await;
                assert_eq!(reply, Reply::Status("OK".into()));
            }
            Some(adapter) => adapter.set(key, value, None).await.expect("memory set"),
        }
    }

    pub async fn raw_exists(&self, key: &str) -> bool {
        match &self.memory {
            None => resp::command(&redis_url(), &["EXISTS", key]).await.int() == 1,
            Some(adapter) => adapter.exists(key).await.expect("memory exists"),
        }
    }

    /// The time the full key `key` has left; `None` when missing or without expiry.
    pub async fn raw_ttl(&self, key: &str) -> Option<Duration> {
        match &self.memory {
            None => {
                let millis = resp::command(&redis_url(), &["PTTL", key]).await.int();
                u64::try_from(millis).ok().map(Duration::from_millis)
            }
            Some(adapter) => adapter.ttl(key).await.expect("memory ttl"),
        }
    }

    /// `XLEN` of the full key `key`.
    pub async fn raw_stream_len(&self, key: &str) -> u64 {
        match &self.memory {
            None => resp::command(&redis_url(), &["XLEN", key]).await.int() as u64,
            Some(adapter) => adapter.stream_len(key).await.expect("memory stream_len"),
        }
    }

    /// Publishes `payload` as is on the full channel `channel`, as a client without the store
    /// would; returns how many received it.
    pub async fn raw_publish(&self, channel: &str, payload: &[u8]) -> u64 {
        match &self.memory {
            None => {
                let mut connection = resp::Connection::open(&redis_url()).await;
                connection.command(&[b"PUBLISH", channel.as_bytes(), payload]).await.int() as u64
            }
            Some(adapter) => adapter.publish(channel, payload).await.expect("memory publish"),
        }
    }

    /// Subscribers of the full channel `channel` as Redis counts them (`PUBSUB NUMSUB`); `None`
    /// in memory.
    pub async fn raw_numsub(&self, channel: &str) -> Option<i64> {
        self.memory.is_none().then_some(())?;
        let Reply::Array(parts) = resp::command(&redis_url(), &["PUBSUB", "NUMSUB", channel]).await else {
            panic!("PUBSUB NUMSUB answers an array")
        };
        Some(parts[1].int())
    }

    /// A plain subscription to the full channel `channel`, active when this returns.
    pub async fn raw_subscribe(&self, channel: &str) -> RawListener {
        match &self.memory {
            None => RawListener::Redis(resp::subscribe(&redis_url(), channel).await),
            Some(adapter) => RawListener::Memory(adapter.subscribe(channel).await.expect("memory subscribe")),
        }
    }

    /// Deletes every key of the test, and checks that none is left on Redis.
    pub async fn cleanup(&self) {
        match &self.memory {
            None => {
                delete_under(&self.manager, &self.prefix).await;
                let left = keys_under(&self.manager, &self.prefix).await;
                assert!(left.is_empty(), "keys left under {}: {left:?}", self.prefix);
            }
            Some(adapter) => {
                let pattern = format!("{}*", self.prefix);
                let mut cursor = 0;
                loop {
                    let (next, keys) = adapter.scan(&pattern, cursor, 1000).await.expect("memory scan");
                    adapter.delete(&keys).await.expect("memory delete");
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
            }
        }
    }
}

/// The raw payloads of one channel.
#[derive(Debug)]
pub enum RawListener {
    Redis(RawSubscription),
    Memory(Subscription),
}

impl RawListener {
    /// The next payload, or `None` when none arrives within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let receiver = match self {
            RawListener::Redis(subscription) => &mut subscription.messages,
            RawListener::Memory(subscription) => subscription,
        };
        tokio::time::timeout(wait, receiver.recv()).await.ok().flatten()
    }
}

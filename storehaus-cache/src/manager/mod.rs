//! [`CacheManager`]: one backend plus the timeouts, statistics and protocols on top of it.

mod envelope;
mod limiter;
mod local;
mod near;
mod pending;
pub(crate) mod read_through;

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use storehaus_resilience::{BreakerOpen, BreakerState, CircuitBreaker, RateLimitError, RateLimits, Strategy};

pub use self::limiter::CacheLimiter;
use self::local::LocalEpochs;
use self::near::{FeedState, FeedTask};
use self::pending::Pending;
use crate::backend::{BoxFuture, CacheBackend, MemoryBackend, RedisBackend};
use crate::config::CacheConfig;
use crate::error::{CacheError, CacheResult};
use crate::flight::Flights;
use crate::stats::{CacheStats, Counters};

/// The cache: a backend (Redis or in-memory) with timeouts, statistics, the read-through
/// protocol for rows and queries, and the primitives (key-value, batch, counters, claims).
///
/// Share it as an `Arc<CacheManager>`; every method takes `&self`.
///
/// Two kinds of calls:
/// - **read-through** ([`get_or_load`](Self::get_or_load), [`get_or_load_query`](Self::get_or_load_query),
///   [`invalidate_rows`](Self::invalidate_rows), [`invalidate_table`](Self::invalidate_table))
///   fail open: a backend error or timeout is counted in [`stats`](Self::stats) and the loader
///   answers, so a cache outage never fails a store call;
/// - **explicit** (key-value, counters, claims) return [`CacheError`].
///
/// Every backend call is bounded by `timeout_ms` and goes through a [`CircuitBreaker`]
/// ([`CacheConfig::breaker`]): after repeated unreachable or timed-out calls the breaker opens
/// and calls fail at once with [`CacheError::Unavailable`] instead of waiting, until one call
/// probes the backend and finds it healthy. While it is open, read-through calls go to the
/// loader and invalidations are deferred exactly as when the backend fails, so the cache never
/// serves a value older than a committed write. The read-through calls keep no entry larger
/// than `max_entry_bytes`.
///
/// Explicit calls can be rate limited ([`set_rate_limits`](Self::set_rate_limits)).
pub struct CacheManager {
    backend: Arc<dyn CacheBackend>,
    timeout: Duration,
    max_entry_bytes: u64,
    jitter_percent: u32,
    negative_ttl: Duration,
    counters: Counters,
    flights: Flights,
    local: Arc<LocalEpochs>,
    pending: Pending,
    /// The invalidation feed near caches rely on, followed from their first read.
    feed: Arc<FeedState>,
    feed_task: Mutex<Option<FeedTask>>,
    breaker: CircuitBreaker,
    strategy: Strategy,
    /// Rules on `cache.<operation>` for the explicit calls; `None` admits every call.
    rate_limits: RwLock<Option<RateLimits>>,
}

impl CacheManager {
    /// A manager over the Redis server of `config.redis_url`.
    ///
    /// Does not connect, so it succeeds while Redis is down: the first call connects, and a
    /// lost connection is reopened with backoff. Fails only on invalid settings.
    pub fn new(config: CacheConfig) -> Result<Self, CacheError> {
        let backend = RedisBackend::new(&config)?;
        Ok(Self::build(Arc::new(backend), &config))
    }

    /// A manager over an in-process cache of at most `config.memory_max_bytes` bytes of keys
    /// and values, with the timeout, TTL jitter, negative TTL and entry limit of `config` (its
    /// `redis_url` is ignored). `CacheManager::memory(&CacheConfig::default())` holds 64 MiB.
    pub fn memory(config: &CacheConfig) -> Result<Self, CacheError> {
        Self::with_backend(Arc::new(MemoryBackend::new(config.memory_max_bytes)), config)
    }

    /// A manager over any backend, with the timeout, TTL jitter, negative TTL and entry limit
    /// of `config` (its `redis_url` and `memory_max_bytes` are ignored).
    pub fn with_backend(backend: Arc<dyn CacheBackend>, config: &CacheConfig) -> Result<Self, CacheError> {
        config.validate_tuning()?;
        Ok(Self::build(backend, config))
    }

    fn build(backend: Arc<dyn CacheBackend>, config: &CacheConfig) -> Self {
        CacheManager {
            backend,
            timeout: Duration::from_millis(config.timeout_ms.max(1)),
            max_entry_bytes: config.max_entry_bytes,
            jitter_percent: config.ttl_jitter_percent,
            negative_ttl: Duration::from_secs(config.negative_ttl_seconds),
            counters: Counters::default(),
            flights: Flights::default(),
            local: Arc::default(),
            pending: Pending::default(),
            feed: Arc::default(),
            feed_task: Mutex::new(None),
            breaker: CircuitBreaker::new("cache", config.breaker),
            strategy: config.strategy,
            rate_limits: RwLock::new(None),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn CacheBackend> {
        &self.backend
    }

    /// The bound of every backend call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The largest entry (key and encoded value) a read-through fill keeps, in bytes.
    pub fn max_entry_bytes(&self) -> u64 {
        self.max_entry_bytes
    }

    /// Whether an entry of `key` holding `value_len` bytes is small enough to keep; counts the
    /// ones that are not.
    pub(crate) fn fits(&self, key: &str, value_len: usize) -> bool {
        let fits = u64::try_from(key.len() + value_len).is_ok_and(|len| len <= self.max_entry_bytes);
        if !fits {
            Counters::add(&self.counters.oversized_skipped, 1);
        }
        fits
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        let mut stats = self.counters.snapshot(
            self.flights.len() as u64,
            self.backend.connect_attempts(),
            self.breaker.stats(),
            self.feed.is_live(),
        );
        stats.near_invalidations_heard = self.feed.heard.load(std::sync::atomic::Ordering::Relaxed);
        stats.near_feed_lost = self.feed.lost.load(std::sync::atomic::Ordering::Relaxed);
        stats
    }

    /// The circuit breaker of the backend calls.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// What store reads do while the breaker is open.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Whether a store read may go on: with [`Strategy::FailFast`], `Err` while the breaker
    /// refuses calls (open, or another call probing), counted as short-circuited; once the open
    /// period ends the read goes through and probes the backend. With [`Strategy::Fallback`]
    /// always `Ok`: reads go to the loader while the breaker is open.
    pub fn check_available(&self) -> CacheResult<()> {
        if self.strategy == Strategy::Fallback {
            return Ok(());
        }
        // A permit dropped unused lets the read's own first call take it again.
        self.breaker.allow().map(drop).map_err(breaker_open)
    }

    /// Applies `limits` to the explicit calls from now on, or none with `None`. Each call checks
    /// the operation `cache.<method>` (`cache.get`, `cache.set`, `cache.delete`,
    /// `cache.get_many`, `cache.set_many`, `cache.ttl`, `cache.incr`, `cache.get_counter`,
    /// `cache.claim`, `cache.release`, `cache.extend`, `cache.claim_owner`) without a principal:
    /// a refusal is [`CacheError::RateLimited`], an unavailable limiter under
    /// [`Strategy::FailFast`] is [`CacheError::Unavailable`]. Read-through calls are never
    /// limited here: they serve store reads, which are limited at the store.
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        *self.rate_limits.write().unwrap_or_else(std::sync::PoisonError::into_inner) = limits;
    }

    /// The limits applied to the explicit calls.
    pub fn rate_limits(&self) -> Option<RateLimits> {
        self.rate_limits.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Checks that the backend answers within the timeout.
    pub async fn ping(&self) -> CacheResult<()> {
        self.call(self.backend.ping()).await
    }

    /// The value of `key`, decoded from JSON.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> CacheResult<Option<T>> {
        self.admit("cache.get").await?;
        let raw = self.call(self.backend.get(key)).await?;
        self.count_lookup(raw.is_some());
        raw.map(|raw| serde_json::from_slice(&raw)).transpose().map_err(CacheError::from)
    }

    /// Stores `value` as JSON under `key`, expiring after `ttl` (never when `None`).
    pub async fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T, ttl: Option<Duration>) -> CacheResult<()> {
        self.admit("cache.set").await?;
        let raw = serde_json::to_vec(value)?;
        self.call(self.backend.set(key, &raw, ttl)).await
    }

    /// Removes `key`; returns whether it existed.
    pub async fn delete(&self, key: &str) -> CacheResult<bool> {
        self.admit("cache.delete").await?;
        let keys = [key.to_owned()];
        Ok(self.call(self.backend.delete(&keys)).await? > 0)
    }

    /// The values of `keys`, in order, in one round trip.
    pub async fn get_many<T: DeserializeOwned>(&self, keys: &[String]) -> CacheResult<Vec<Option<T>>> {
        self.admit("cache.get_many").await?;
        let raws = self.call(self.backend.get_many(keys)).await?;
        raws.into_iter()
            .map(|raw| {
                self.count_lookup(raw.is_some());
                raw.map(|raw| serde_json::from_slice(&raw)).transpose().map_err(CacheError::from)
            })
            .collect()
    }

    /// Stores every `(key, value)` as JSON, each expiring after `ttl`, in one round trip.
    pub async fn set_many<T: Serialize>(&self, entries: &[(String, T)], ttl: Option<Duration>) -> CacheResult<()> {
        self.admit("cache.set_many").await?;
        let raws = entries
            .iter()
            .map(|(key, value)| Ok((key.clone(), serde_json::to_vec(value)?)))
            .collect::<CacheResult<Vec<_>>>()?;
        self.call(self.backend.set_many(&raws, ttl)).await
    }

    /// The time `key` has left; `None` when it is missing or never expires.
    pub async fn ttl(&self, key: &str) -> CacheResult<Option<Duration>> {
        self.admit("cache.ttl").await?;
        self.call(self.backend.ttl(key)).await
    }

    /// Checks the rate limits of the explicit call `operation`.
    pub(crate) async fn admit(&self, operation: &'static str) -> CacheResult<()> {
        let limits = match &*self.rate_limits.read().unwrap_or_else(std::sync::PoisonError::into_inner) {
            None => return Ok(()),
            Some(limits) => limits.clone(),
        };
        // Boxed as `Send` here, where its lifetimes are concrete: the future of `check` holds
        // an iterator over borrowed rules, which callers generic over lifetimes cannot prove
        // `Send` through.
        let check: BoxFuture<'_, Result<(), RateLimitError>> =
            Box::pin(async move { limits.check(operation, None).await });
        check.await.map_err(limiter::refusal)
    }

    /// Runs one backend call through the breaker and under the timeout, and counts its failure.
    /// An open breaker refuses it at once; an unreachable or slow backend counts against the
    /// breaker, any other outcome (an answer, even an error) for it.
    pub(crate) async fn call<T>(&self, call: BoxFuture<'_, CacheResult<T>>) -> CacheResult<T> {
        let permit = self.breaker.allow().map_err(breaker_open)?;
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(CacheError::Timeout(self.timeout)),
        };
        match &result {
            Err(error) if error.is_transient() => permit.failure(),
            _ => permit.success(),
        }
        if let Err(error) = &result {
            let counter = match error {
                CacheError::Timeout(_) => &self.counters.timeouts,
                _ => &self.counters.errors,
            };
            Counters::add(counter, 1);
            tracing::debug!(backend = self.backend.name(), %error, "cache call failed");
        }
        result
    }

    fn count_lookup(&self, hit: bool) {
        Counters::add(if hit { &self.counters.hits } else { &self.counters.misses }, 1);
    }
}

impl fmt::Debug for CacheManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheManager")
            .field("backend", &self.backend)
            .field("timeout", &self.timeout)
            .field("max_entry_bytes", &self.max_entry_bytes)
            .field("ttl_jitter_percent", &self.jitter_percent)
            .field("negative_ttl", &self.negative_ttl)
            .field("breaker", &self.breaker)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

/// The error of a call the breaker refused.
fn breaker_open(open: BreakerOpen) -> CacheError {
    CacheError::Unavailable(match open.state {
        BreakerState::HalfOpen if open.retry_in.is_zero() => "circuit breaker open; a probe is running".to_owned(),
        _ => format!("circuit breaker open; next probe in {} ms", open.retry_in.as_millis()),
    })
}

//! Caching for StoreHaus.
//!
//! A read-through cache in front of PostgreSQL: stores look records up here first and every
//! committed write invalidates what it changed, in a way that never lets a reader put back a
//! row older than a committed write. The guide is `docs/caching.md`.
//!
//! | Piece | What it is |
//! |---|---|
//! | [`CacheManager`] | the cache: backend, timeouts, stats, read-through, primitives |
//! | [`CacheConfig`] | the `[cache]` section of `storehaus.toml` |
//! | [`CacheParams`] | what a store needs: manager, TTL, key prefix, near cache |
//! | [`NearCache`] | rows kept in the process in front of the shared cache, voided by every process's writes |
//! | [`KeySpace`], [`TableKeys`], [`RowKey`] | every key, built in one place |
//! | [`QueryDigest`] | the fixed-size key of a cached query result |
//! | [`CacheBackend`] | the storage: [`RedisBackend`] or [`MemoryBackend`] |
//! | [`Claim`] | a lock held with [`CacheManager::claim`] |
//! | [`CacheLimiter`] | token buckets in the cache, shared by every process ([`CacheManager::rate_limiter`]) |
//! | [`shared::SharedStore`] | state shared by services: kv, counters, claims, batches, typed events, streams, scopes |
//!
//! Read-through calls fail open (an unreachable or slow backend is a miss, counted in
//! [`CacheStats`]); the explicit primitives return [`CacheError`]. Every backend call goes
//! through a circuit breaker ([`CacheConfig::breaker`]): once the backend keeps failing, calls
//! fail at once instead of waiting for it, until a probe finds it healthy again.
//!
//! The crate does not depend on `storehaus` or `storehaus-signals`, so it can be used and tested
//! on its own.
//!
//! | Cargo feature | Enables |
//! |---|---|
//! | *(none)* | both backends are always built: Redis (without TLS) and in-memory (`moka`) |

mod backend;
mod config;
mod digest;
mod error;
mod flight;
mod glob;
mod keys;
mod manager;
mod near;
mod params;
mod primitives;
pub mod shared;
mod stats;
mod util;

pub use backend::{
    BoxFuture, BufferOp, BufferPending, BufferState, CacheBackend, EpochKey, FeedEvent, GuardedRead,
    INVALIDATIONS_CHANNEL, InvalidationFeed, MemoryBackend, RedisBackend,
};
pub use config::{CacheConfig, ConfigError, DEFAULT_MAX_ENTRY_BYTES, DEFAULT_MEMORY_MAX_BYTES, redact_url};
pub use digest::QueryDigest;
pub use error::{CacheError, CacheResult};
pub use glob::{glob_escape, glob_match};
pub use keys::{KeySpace, MAX_ROW_SEGMENT, RowKey, TableKeys, rate_limit_key};
pub use manager::read_through::{FillToken, Lookup};
pub use manager::{CacheLimiter, CacheManager};
pub use near::NearCache;
pub use params::CacheParams;
pub use primitives::Claim;
pub use stats::CacheStats;

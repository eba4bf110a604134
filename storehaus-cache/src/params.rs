//! How a store uses a cache.

/// The cache settings of one store: which cache, for how long, under which key prefix.
///
/// Stores take an `Option<CacheParams>`; the cache backends are not part of this release, so no
/// parameters can be constructed yet and stores are created with `None`.
#[derive(Debug, Clone)]
pub struct CacheParams {
    ttl_seconds: u64,
    prefix: String,
}

impl CacheParams {
    /// How long entries live, in seconds.
    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// The prefix of every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

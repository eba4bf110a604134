//! How a store uses a cache.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::keys::{KeySpace, TableKeys};
use crate::manager::CacheManager;
use crate::near::NearCache;

/// The cache settings of one store: which cache, for how long, under which key prefix.
///
/// ```
/// use std::sync::Arc;
/// use storehaus_cache::{CacheManager, CacheParams};
///
/// let manager = Arc::new(CacheManager::memory(&Default::default()).unwrap());
/// let params = CacheParams::new(manager, 300, "app").with_scope("tenant", "acme");
/// assert_eq!(params.table("users").row("1").entry(), "app:tenant=acme:users:row:1");
/// ```
#[derive(Clone)]
pub struct CacheParams {
    manager: Arc<CacheManager>,
    ttl_seconds: u64,
    keys: KeySpace,
    near: Option<NearCache>,
}

impl CacheParams {
    /// Entries of the store live `ttl_seconds` (at least 1) under keys starting with `prefix`,
    /// percent-encoded like every part of a key (see [`KeySpace::new`]).
    pub fn new(manager: Arc<CacheManager>, ttl_seconds: u64, prefix: impl Into<String>) -> Self {
        CacheParams { manager, ttl_seconds: ttl_seconds.max(1), keys: KeySpace::new(prefix), near: None }
    }

    /// The same parameters with every key further scoped by `name=value` (tenants, workspaces).
    pub fn with_scope(mut self, name: &str, value: &str) -> Self {
        self.keys = self.keys.scope(name, value);
        self
    }

    /// The same parameters with `near` in front of the shared cache for rows read by key
    /// (`get_by_id`): see [`NearCache`] for what a reader can see and for how long. Stores that
    /// clone these parameters share the near cache.
    pub fn near(mut self, near: NearCache) -> Self {
        self.near = Some(near);
        self
    }

    /// The near cache, if any.
    pub fn near_cache(&self) -> Option<&NearCache> {
        self.near.as_ref()
    }

    /// The cache.
    pub fn manager(&self) -> &Arc<CacheManager> {
        &self.manager
    }

    /// How long entries live, in seconds.
    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// How long entries live.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_seconds)
    }

    /// The prefix of every key, as given (keys hold it percent-encoded).
    pub fn prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// The key space (prefix and scope) of the store.
    pub fn keys(&self) -> &KeySpace {
        &self.keys
    }

    /// The keys of table `table`.
    pub fn table(&self, table: &str) -> TableKeys {
        self.keys.table(table)
    }
}

impl fmt::Debug for CacheParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheParams")
            .field("backend", &self.manager.backend().name())
            .field("ttl_seconds", &self.ttl_seconds)
            .field("keys", &self.keys)
            .field("near", &self.near)
            .finish()
    }
}

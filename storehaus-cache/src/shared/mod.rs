//! The shared store: state that services share through Redis, isolated per tenant.
//!
//! A [`SharedStore`] gives a service values with a TTL ([`kv`](SharedStore::kv)), atomic
//! counters ([`counter`](SharedStore::counter)), locks ([`claim`](SharedStore::claim)),
//! multi-key reads and writes ([`batch`](SharedStore::batch)), typed pub/sub with context
//! ([`events`](SharedStore::events)), durable streams read by consumer groups
//! ([`streams`](SharedStore::streams)) and a key scan ([`dev`](SharedStore::dev)), all under
//! `<prefix>:<service>[:<kind>:<id>...]:<namespace>:<key>`, with hierarchical scopes
//! ([`scope`](SharedStore::scope)) that keep tenants apart. The guide is `docs/shared-store.md`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use storehaus_cache::shared::SharedStore;
//! use storehaus_cache::{CacheConfig, CacheManager};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = Arc::new(CacheManager::memory(&CacheConfig::default())?);
//! let store = SharedStore::builder(manager)
//!     .service("my-api")
//!     .scope_kind("organization", true)
//!     .build()?;
//! let org = store.scope("organization", "org_123")?;
//! org.kv().set("settings", &serde_json::json!({"theme": "dark"}), Some(Duration::from_secs(60))).await?;
//! assert_eq!(org.key(storehaus_cache::shared::Namespace::Kv, "settings"),
//!            "storehaus:store:my-api:organization:org_123:kv:settings");
//! assert_eq!(org.counter().increment("api-calls", 1).await?, 1);
//! // The organization is required: the unscoped store refuses to work.
//! assert_eq!(store.kv().exists("settings").await.unwrap_err().code(), "STORE_MISSING_SCOPE");
//! # Ok(()) }
//! ```

mod adapter;
mod batch;
mod builder;
mod claim;
mod counter;
mod dev;
mod error;
mod events;
mod keys;
mod kv;
mod stats;
mod streams;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use storehaus_envelope::EventScope;
use tracing::Instrument;

pub use self::adapter::{AutoClaimed, PendingSummary, RawEntry, SharedAdapter, StreamEntry, StreamTrim, Subscription};
pub use self::batch::{Batch, BatchEntry};
use self::builder::Registry;
pub use self::builder::{EventGroup, SharedStoreBuilder};
pub use self::claim::{Claim, Claims};
pub use self::counter::Counter;
pub use self::dev::{Dev, ScanPage};
pub use self::error::{SharedResult, SharedStoreError};
pub use self::events::{EventContext, Events, Unsubscribe};
pub use self::keys::{MAX_NAME_BYTES, Namespace};
use self::keys::{check_name, escape_id, join};
pub use self::kv::Kv;
pub use self::stats::SharedStats;
use self::stats::Stats;
pub use self::streams::{StreamAppend, StreamGroup, StreamMessage, Streams};
use crate::backend::BoxFuture;
use crate::error::{CacheError, CacheResult};

/// The most keys one batch call takes.
pub const MAX_BATCH_KEYS: usize = 10_000;

/// What every scope of one built store shares.
struct Inner {
    adapter: Arc<dyn SharedAdapter>,
    prefix: String,
    service: String,
    /// Declared scope kinds and whether each is required.
    kinds: Vec<(String, bool)>,
    registry: Registry,
    strict_events: bool,
    timeout: Duration,
    stats: Stats,
}

/// A store shared by services through Redis (or memory), seen from one scope.
///
/// Made by [`SharedStore::builder`]. Cloning is cheap, and [`scope`](Self::scope) and
/// [`with_actor`](Self::with_actor) return new handles on the same storage. Every call is
/// bounded by the store's timeout and runs in a `shared_store` tracing span naming the
/// operation.
#[derive(Clone)]
pub struct SharedStore {
    inner: Arc<Inner>,
    /// `<prefix>:<service>[:<kind>:<id>...]`.
    base: Arc<str>,
    scopes: Arc<[EventScope]>,
    /// The first required kind this handle lacks.
    missing: Option<Arc<str>>,
    actor: Option<Arc<str>>,
}

impl SharedStore {
    /// A builder on the backend of `manager` (its Redis connection, or its in-memory state),
    /// bounded by the manager's timeout.
    pub fn builder(manager: Arc<crate::CacheManager>) -> SharedStoreBuilder {
        let timeout = manager.timeout();
        let backend = Arc::clone(manager.backend());
        let name = backend.name();
        let adapter = backend
            .shared_adapter()
            .ok_or_else(|| format!("the {name} cache backend cannot hold a shared store; use builder_with_adapter"));
        SharedStoreBuilder::new(adapter, timeout)
    }

    /// A builder on any [`SharedAdapter`], with a timeout of 1 s per call.
    pub fn builder_with_adapter(adapter: Arc<dyn SharedAdapter>) -> SharedStoreBuilder {
        SharedStoreBuilder::new(Ok(adapter), Duration::from_secs(1))
    }

    fn root(inner: Inner) -> Self {
        let base: Arc<str> = format!("{}:{}", inner.prefix, inner.service).into();
        let missing = first_missing(&inner.kinds, &[]);
        SharedStore { inner: Arc::new(inner), base, scopes: Arc::from([]), missing, actor: None }
    }

    /// This store narrowed to the scope `id` of kind `kind`, nested inside the current scopes.
    ///
    /// Once the builder declared any kind, an undeclared one is
    /// [`UnknownScope`](SharedStoreError::UnknownScope); with none declared, any kind is
    /// accepted. A kind may appear once in a chain.
    pub fn scope(&self, kind: &str, id: &str) -> SharedResult<SharedStore> {
        keys::check_kind(kind).map_err(|message| SharedStoreError::input("scope kind", message))?;
        check_name("scope id", id)?;
        if !self.inner.kinds.is_empty() && !self.inner.kinds.iter().any(|(declared, _)| declared == kind) {
            return Err(SharedStoreError::UnknownScope { kind: kind.to_owned() });
        }
        if self.scopes.iter().any(|scope| scope.key == kind) {
            return Err(SharedStoreError::input("scope kind", format!("`{kind}` is already in this scope chain")));
        }
        let mut scopes = self.scopes.to_vec();
        scopes.push(EventScope::new(kind, id));
        let missing = first_missing(&self.inner.kinds, &scopes);
        Ok(SharedStore {
            inner: Arc::clone(&self.inner),
            base: format!("{}:{kind}:{}", self.base, escape_id(id)).into(),
            scopes: scopes.into(),
            missing,
            actor: self.actor.clone(),
        })
    }

    /// This store with `actor` (a user, a service) recorded on the events it publishes.
    pub fn with_actor(&self, actor: impl Into<String>) -> SharedStore {
        SharedStore { actor: Some(actor.into().into()), ..self.clone() }
    }

    /// Key-value operations.
    pub fn kv(&self) -> Kv<'_> {
        Kv::new(self)
    }

    /// Atomic counters.
    pub fn counter(&self) -> Counter<'_> {
        Counter::new(self)
    }

    /// Locks held by one owner at a time.
    pub fn claim(&self) -> Claims<'_> {
        Claims::new(self)
    }

    /// Reads and writes of many keys in one round trip.
    pub fn batch(&self) -> Batch<'_> {
        Batch::new(self)
    }

    /// Typed pub/sub.
    pub fn events(&self) -> Events<'_> {
        Events::new(self)
    }

    /// Durable streams and consumer groups.
    pub fn streams(&self) -> Streams<'_> {
        Streams::new(self)
    }

    /// Development tools: a key scan.
    pub fn dev(&self) -> Dev<'_> {
        Dev::new(self)
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The scope chain, outermost first.
    pub fn scopes(&self) -> &[EventScope] {
        &self.scopes
    }

    /// The actor set with [`with_actor`](Self::with_actor).
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// The full key a call in `namespace` uses for `name` (not validated).
    pub fn key(&self, namespace: Namespace, name: &str) -> String {
        join(&self.base, namespace, name)
    }

    /// The counters so far, shared by every scope of this store.
    pub fn stats(&self) -> SharedStats {
        self.inner.stats.snapshot()
    }

    /// The storage.
    pub fn adapter(&self) -> &Arc<dyn SharedAdapter> {
        &self.inner.adapter
    }

    /// Refuses calls on a handle that lacks a required scope.
    fn ready(&self) -> SharedResult<()> {
        match &self.missing {
            Some(kind) => Err(SharedStoreError::MissingScope { kind: kind.to_string() }),
            None => Ok(()),
        }
    }

    /// Checks that the store may run a call, then builds the key of `name` in `namespace`.
    fn key_for(&self, what: &'static str, namespace: Namespace, name: &str) -> SharedResult<String> {
        self.ready()?;
        check_name(what, name)?;
        Ok(join(&self.base, namespace, name))
    }

    fn innermost(&self) -> Option<&EventScope> {
        self.scopes.last()
    }

    /// Runs one adapter call under the timeout (plus `extra`, for blocking reads), in a span,
    /// counting it.
    async fn call_within<T>(
        &self,
        operation: &'static str,
        extra: Duration,
        call: BoxFuture<'_, CacheResult<T>>,
    ) -> SharedResult<T> {
        let span = tracing::debug_span!("shared_store", operation, service = %self.inner.service);
        let limit = self.inner.timeout.saturating_add(extra);
        let result = match tokio::time::timeout(limit, call).instrument(span).await {
            Ok(result) => result,
            Err(_) => Err(CacheError::Timeout(limit)),
        };
        self.inner.stats.count(result.is_ok());
        result.map_err(|error| {
            tracing::debug!(operation, %error, "shared store call failed");
            SharedStoreError::from_cache(operation, error)
        })
    }

    async fn call<T>(&self, operation: &'static str, call: BoxFuture<'_, CacheResult<T>>) -> SharedResult<T> {
        self.call_within(operation, Duration::ZERO, call).await
    }
}

/// The first required kind of `kinds` that `scopes` lacks.
fn first_missing(kinds: &[(String, bool)], scopes: &[EventScope]) -> Option<Arc<str>> {
    kinds
        .iter()
        .find(|(kind, required)| *required && !scopes.iter().any(|scope| &scope.key == kind))
        .map(|(kind, _)| Arc::from(kind.as_str()))
}

/// The most entries one read, claim or scan step asks for.
const MAX_COUNT: usize = 10_000;

/// Refuses a count of 0 or over [`MAX_COUNT`].
fn check_count(count: usize) -> SharedResult<()> {
    if count == 0 || count > MAX_COUNT {
        return Err(SharedStoreError::input("count", format!("must be between 1 and {MAX_COUNT}")));
    }
    Ok(())
}

/// The longest TTL a call takes: 100 years. Longer ones are refused before anything is written
/// (Redis would refuse them mid-batch); `None` is the TTL of a value that never expires.
pub const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Refuses a zero TTL, which Redis would reject and which would mean "already expired", and one
/// past [`MAX_TTL`].
fn check_ttl(ttl: Duration) -> SharedResult<()> {
    if ttl.is_zero() {
        return Err(SharedStoreError::input("ttl", "must be longer than zero"));
    }
    if ttl > MAX_TTL {
        return Err(SharedStoreError::input(
            "ttl",
            "must be at most 100 years; leave it out for a value that never expires",
        ));
    }
    Ok(())
}

impl fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedStore")
            .field("adapter", &self.inner.adapter.name())
            .field("base", &self.base)
            .field("actor", &self.actor)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

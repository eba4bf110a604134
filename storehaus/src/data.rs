//! The data store: a scoped key-value store on the database, for settings, preferences, carts,
//! feature flags, tokens with a time to live and small counters, kept next to the models without
//! a table of their own.
//!
//! Entries live in one table, `storehaus_data`, created by [`StoreHaus::data_store`] through the
//! normal migrations. Each belongs to a scope: an [`Owner`] (or the global owner) and a dotted
//! namespace (or none). Scopes never see each other.
//!
//! ```
//! use std::time::Duration;
//! use storehaus::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), StoreError> {
//! let storehaus = StoreHaus::connect("sqlite::memory:").await?;
//! let data = storehaus.data_store().await?;
//!
//! // Application-wide settings.
//! data.set("config.app.name", "shop", None).await?;
//! assert_eq!(data.get::<String>("config.app.name").await?.as_deref(), Some("shop"));
//! assert_eq!(data.nested().await?, json!({"config": {"app": {"name": "shop"}}}));
//!
//! // A user's cart, apart from everyone else's.
//! let cart = data.for_owner(Owner::new("user", 42)).in_namespace("cart");
//! cart.list_push("items", "sku-1").await?;
//! cart.increment("count", 1).await?;
//! assert_eq!(cart.list::<String>("items").await?, ["sku-1"]);
//! assert!(data.get::<i64>("count").await?.is_none());
//!
//! // A token that expires.
//! data.in_namespace("tokens").set("reset", "abc", Some(Duration::from_secs(900))).await?;
//! # storehaus.close().await;
//! # Ok(()) }
//! ```

mod cache;
mod entry;
mod lists;
mod nested;
mod reads;
mod transfer;
mod validate;
mod writes;

use crate::app::StoreHaus;
use crate::backend::DbPool;
use crate::backend::data::{DataTable, Scope};
use crate::cache::CacheParams;
use crate::error::{Result, StoreError};
use crate::owner::Owner;
use crate::signals::SignalManager;
use cache::DataCache;
pub(crate) use entry::DataEntry;
use std::fmt;
use std::sync::Arc;

/// The longest key, and the longest namespace, in bytes.
pub const MAX_KEY_LEN: usize = 255;

/// The largest value, in bytes of its JSON text; a larger one is refused with
/// [`StoreError::Validation`] and nothing is written.
pub const MAX_VALUE_BYTES: usize = 16 << 20;

/// How long an entry has left, as [`DataStore::ttl`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The entry never expires.
    Never,
    /// The entry expires after this long (measured by the database's clock).
    In(std::time::Duration),
}

/// What [`DataStore::import`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ImportReport {
    /// Entries written.
    pub written: u64,
    /// Entries left alone because a live entry was there (`overwrite = false`).
    pub skipped: u64,
}

/// A scope of the data store: an owner and a namespace. Cheap to clone; every scope made from
/// one store shares its pool, signals and cache.
///
/// Made by [`StoreHaus::data_store`] or [`DataStore::new`] for the global owner and no
/// namespace; [`for_owner`](DataStore::for_owner) and [`in_namespace`](DataStore::in_namespace)
/// make other scopes.
///
/// Keys are dotted paths (`"config.app.name"`): non-empty, at most [`MAX_KEY_LEN`] bytes, no NUL
/// byte, no empty segment (`".a"`, `"a."`, `"a..b"`); namespaces follow the same rules, `""`
/// meaning none. Values are anything that serializes to JSON, at most [`MAX_VALUE_BYTES`], with
/// no NUL character in a string. A key, namespace, owner or value that breaks these rules is
/// refused with [`StoreError::Validation`] (its `field` is `"key"`, `"namespace"`, `"owner"` or
/// `"value"`) and nothing is written.
///
/// An entry whose time to live has run out is invisible to every read at once, before any
/// [`cleanup_expired`](DataStore::cleanup_expired) removes it.
#[derive(Clone)]
pub struct DataStore {
    shared: Arc<Shared>,
    owner: Owner,
    namespace: String,
    scope: Arc<Scope>,
}

/// What every scope of a store shares.
struct Shared {
    pool: DbPool,
    table: Arc<dyn DataTable>,
    signals: Option<Arc<SignalManager>>,
    cache: Option<DataCache>,
}

impl StoreHaus {
    /// The data store of this database, in the global scope with no namespace: creates its
    /// table, `storehaus_data`, if it is missing (see [`DataStore::new`]).
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// let storehaus = StoreHaus::connect("sqlite::memory:").await?;
    /// let settings = storehaus.data_store().await?.in_namespace("settings");
    /// settings.set("theme", "dark", None).await?;
    /// assert_eq!(settings.get_or("theme", "light".to_owned()).await?, "dark");
    /// # Ok(()) }
    /// ```
    pub async fn data_store(&self) -> Result<DataStore> {
        DataStore::new(self.pool().clone()).await
    }
}

impl DataStore {
    /// The data store on `pool`, in the global scope with no namespace, without signals or cache.
    /// Creates the table `storehaus_data` and its indexes when missing, through the same
    /// migrations as [`StoreHaus::auto_migrate`]; calling it again (from any number of
    /// processes at once) changes nothing.
    pub async fn new(pool: impl Into<DbPool>) -> Result<DataStore> {
        let pool = pool.into();
        pool.migrate(<DataEntry as crate::model::Model>::TABLE, &crate::schema::MigrateOptions::default()).await?;
        let table = pool.data_table(false);
        let shared = Arc::new(Shared { pool, table, signals: None, cache: None });
        let owner = Owner::global();
        let scope = Arc::new(scope_of(&owner, ""));
        Ok(DataStore { shared, owner, namespace: String::new(), scope })
    }

    /// This store with writes that emit change events (create, update, delete) on the table
    /// `storehaus_data`, delivered by `signals` like those of a
    /// [`GenericStore`](crate::GenericStore).
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// let storehaus = StoreHaus::connect("sqlite::memory:").await?;
    /// let signals = storehaus.signal_manager(SignalConfig::default()).await?;
    /// let data = storehaus.data_store().await?.with_signals(signals);
    /// data.set("flag", true, None).await?; // emits a `create` event on `storehaus_data`
    /// # storehaus.close().await;
    /// # Ok(()) }
    /// ```
    pub fn with_signals(&self, signals: Arc<SignalManager>) -> DataStore {
        let shared = &self.shared;
        self.with_shared(Shared {
            pool: shared.pool.clone(),
            table: shared.pool.data_table(true),
            signals: Some(signals),
            cache: shared.cache.clone(),
        })
    }

    /// This store with a read-through cache of single-key reads ([`get`](DataStore::get),
    /// [`get_or`](DataStore::get_or), [`has`](DataStore::has)). Every write invalidates what it
    /// wrote once committed, and a cached entry is never served once it has expired.
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// let storehaus = StoreHaus::connect("sqlite::memory:").await?;
    /// let cache = Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap());
    /// let data = storehaus.data_store().await?.with_cache(CacheParams::new(cache, 60, "app"));
    /// data.set("greeting", "hello", None).await?;
    /// assert_eq!(data.get::<String>("greeting").await?.as_deref(), Some("hello"));
    /// # Ok(()) }
    /// ```
    pub fn with_cache(&self, cache: CacheParams) -> DataStore {
        let shared = &self.shared;
        self.with_shared(Shared {
            pool: shared.pool.clone(),
            table: shared.table.clone(),
            signals: shared.signals.clone(),
            cache: Some(DataCache::new(cache)),
        })
    }

    fn with_shared(&self, shared: Shared) -> DataStore {
        DataStore { shared: Arc::new(shared), ..self.clone() }
    }

    /// The scope of `owner`, in this store's namespace.
    ///
    /// ```
    /// # use storehaus::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let data = StoreHaus::connect("sqlite::memory:").await?.data_store().await?;
    /// let alice = data.for_owner(Owner::new("user", 1));
    /// alice.set("locale", "fr", None).await?;
    /// assert!(!data.has("locale").await?); // the global scope does not see it
    /// # Ok(()) }
    /// ```
    pub fn for_owner(&self, owner: Owner) -> DataStore {
        let scope = Arc::new(scope_of(&owner, &self.namespace));
        DataStore { owner, scope, ..self.clone() }
    }

    /// The scope of namespace `namespace` (a dotted path such as `"billing.invoices"`, `""` for
    /// none), for this store's owner. An invalid namespace is reported as
    /// [`StoreError::Validation`] by every call on the scope.
    pub fn in_namespace(&self, namespace: &str) -> DataStore {
        let scope = Arc::new(scope_of(&self.owner, namespace));
        DataStore { namespace: namespace.to_owned(), scope, ..self.clone() }
    }

    /// The scope's owner.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// The scope's namespace; `""` when none.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The table's operations.
    fn table(&self) -> &dyn DataTable {
        &*self.shared.table
    }

    /// The scope, once its owner and namespace are known to be valid.
    fn checked_scope(&self) -> Result<&Scope> {
        self.owner.validate()?;
        validate::check_namespace(&self.namespace)?;
        Ok(&self.scope)
    }

    /// The scope and a checked key.
    fn at(&self, key: &str) -> Result<&Scope> {
        let scope = self.checked_scope()?;
        validate::check_path("key", key)?;
        Ok(scope)
    }
}

/// The stored form of a scope.
fn scope_of(owner: &Owner, namespace: &str) -> Scope {
    Scope { owner_kind: owner.kind().to_owned(), owner_id: owner.id().to_owned(), namespace: namespace.to_owned() }
}

/// A stored value as `T`; `key` names the entry in the error.
fn decode<T: serde::de::DeserializeOwned>(key: &str, value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| StoreError::Decode { column: "value".into(), message: format!("the value of `{key}`: {e}") })
}

impl fmt::Debug for DataStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataStore")
            .field("owner", &self.owner)
            .field("namespace", &self.namespace)
            .field("backend", &self.shared.pool.backend_name())
            .field("signals", &self.shared.signals.is_some())
            .field("cache", &self.shared.cache.is_some())
            .finish()
    }
}

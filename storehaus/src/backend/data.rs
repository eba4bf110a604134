//! The operations of the data store on its table (`storehaus_data`), written once over
//! [`Backend`]; each database's statement texts live in its own module (`postgres/data.rs`,
//! `sqlite/data.rs`).

use super::Backend;
use super::executor::Db;
use crate::data::{Expiry, ImportReport};
use crate::error::StoreError;
use crate::signals::BoxFuture;
use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use std::fmt;
use std::time::Duration;

type Fut<'a, R> = BoxFuture<'a, Result<R, StoreError>>;

/// Owner kind, owner id and namespace of a data-store scope, as stored (`''` for none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Scope {
    pub owner_kind: String,
    pub owner_id: String,
    pub namespace: String,
}

/// A live entry as a single-key read finds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Stored {
    pub value: Json,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An entry with its scope, as export writes it and import reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FullEntry {
    pub scope: Scope,
    pub key: String,
    pub value: Json,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The operations of the data store. Every call runs on the pool; multi-statement writes run in
/// a transaction of their own.
pub(crate) trait DataTable: Send + Sync + fmt::Debug {
    fn set<'a>(&'a self, scope: &'a Scope, key: &'a str, value: &'a Json, ttl: Option<Duration>) -> Fut<'a, ()>;
    /// Sets every entry (keys distinct) in one transaction; returns how many.
    fn set_many<'a>(&'a self, scope: &'a Scope, entries: &'a [(String, Json)], ttl: Option<Duration>) -> Fut<'a, u64>;
    fn get<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, Option<Stored>>;
    fn has<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, bool>;
    /// The live entries among `keys`.
    fn get_many<'a>(&'a self, scope: &'a Scope, keys: &'a [String]) -> Fut<'a, Vec<(String, Json)>>;
    fn delete<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, bool>;
    /// Deletes the live entries among `keys`; returns how many went.
    fn delete_many<'a>(&'a self, scope: &'a Scope, keys: &'a [String]) -> Fut<'a, u64>;
    /// Deletes every entry of the scope, expired ones included; returns how many live ones went.
    fn clear<'a>(&'a self, scope: &'a Scope) -> Fut<'a, u64>;
    /// The live entries of the scope whose key starts with `prefix` (all without), in byte
    /// order of their keys; values are `null` unless `values`.
    fn entries<'a>(&'a self, scope: &'a Scope, prefix: Option<&'a str>, values: bool) -> Fut<'a, Vec<(String, Json)>>;
    fn touch<'a>(&'a self, scope: &'a Scope, key: &'a str, ttl: Option<Duration>) -> Fut<'a, bool>;
    fn ttl<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, Option<Expiry>>;
    fn increment<'a>(&'a self, scope: &'a Scope, key: &'a str, by: i64) -> Fut<'a, i64>;
    fn list_push<'a>(&'a self, scope: &'a Scope, key: &'a str, item: &'a Json) -> Fut<'a, u64>;
    fn list_remove<'a>(&'a self, scope: &'a Scope, key: &'a str, item: &'a Json) -> Fut<'a, u64>;
    fn list_clear<'a>(&'a self, scope: &'a Scope, key: &'a str) -> Fut<'a, bool>;
    /// Up to `limit` live entries (of `scope`, or of every scope) after `after` in key order.
    fn export_page<'a>(
        &'a self,
        scope: Option<&'a Scope>,
        after: Option<&'a (Scope, String)>,
        limit: usize,
    ) -> Fut<'a, Vec<FullEntry>>;
    /// Writes `entries` in one transaction; with `overwrite` false, live entries stay.
    fn import<'a>(&'a self, entries: &'a [FullEntry], overwrite: bool) -> Fut<'a, ImportReport>;
    /// Deletes up to `limit` expired entries; returns how many went.
    fn cleanup_batch<'a>(&'a self, limit: usize) -> Fut<'a, u64>;
}

/// The data store's table on backend `B`.
pub(crate) struct BackendData<B: Backend> {
    #[allow(dead_code)]
    db: Db<B>,
    #[allow(dead_code)]
    emit: bool,
}

impl<B: Backend> BackendData<B> {
    pub(crate) fn new(db: Db<B>, emit: bool) -> Self {
        BackendData { db, emit }
    }

    fn unsupported<R>(&self, operation: &'static str) -> Fut<'_, R> {
        Box::pin(async move { Err(StoreError::Unsupported { backend: B::NAME, operation: operation.into() }) })
    }
}

impl<B: Backend> fmt::Debug for BackendData<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataTable").field("backend", &B::NAME).field("emit", &self.emit).finish_non_exhaustive()
    }
}

impl<B: Backend> DataTable for BackendData<B> {
    fn set<'a>(&'a self, _: &'a Scope, _: &'a str, _: &'a Json, _: Option<Duration>) -> Fut<'a, ()> {
        self.unsupported("data store set")
    }
    fn set_many<'a>(&'a self, _: &'a Scope, _: &'a [(String, Json)], _: Option<Duration>) -> Fut<'a, u64> {
        self.unsupported("data store set_many")
    }
    fn get<'a>(&'a self, _: &'a Scope, _: &'a str) -> Fut<'a, Option<Stored>> {
        self.unsupported("data store get")
    }
    fn has<'a>(&'a self, _: &'a Scope, _: &'a str) -> Fut<'a, bool> {
        self.unsupported("data store has")
    }
    fn get_many<'a>(&'a self, _: &'a Scope, _: &'a [String]) -> Fut<'a, Vec<(String, Json)>> {
        self.unsupported("data store get_many")
    }
    fn delete<'a>(&'a self, _: &'a Scope, _: &'a str) -> Fut<'a, bool> {
        self.unsupported("data store delete")
    }
    fn delete_many<'a>(&'a self, _: &'a Scope, _: &'a [String]) -> Fut<'a, u64> {
        self.unsupported("data store delete_many")
    }
    fn clear<'a>(&'a self, _: &'a Scope) -> Fut<'a, u64> {
        self.unsupported("data store clear")
    }
    fn entries<'a>(&'a self, _: &'a Scope, _: Option<&'a str>, _: bool) -> Fut<'a, Vec<(String, Json)>> {
        self.unsupported("data store entries")
    }
    fn touch<'a>(&'a self, _: &'a Scope, _: &'a str, _: Option<Duration>) -> Fut<'a, bool> {
        self.unsupported("data store touch")
    }
    fn ttl<'a>(&'a self, _: &'a Scope, _: &'a str) -> Fut<'a, Option<Expiry>> {
        self.unsupported("data store ttl")
    }
    fn increment<'a>(&'a self, _: &'a Scope, _: &'a str, _: i64) -> Fut<'a, i64> {
        self.unsupported("data store increment")
    }
    fn list_push<'a>(&'a self, _: &'a Scope, _: &'a str, _: &'a Json) -> Fut<'a, u64> {
        self.unsupported("data store list_push")
    }
    fn list_remove<'a>(&'a self, _: &'a Scope, _: &'a str, _: &'a Json) -> Fut<'a, u64> {
        self.unsupported("data store list_remove")
    }
    fn list_clear<'a>(&'a self, _: &'a Scope, _: &'a str) -> Fut<'a, bool> {
        self.unsupported("data store list_clear")
    }
    fn export_page<'a>(
        &'a self,
        _: Option<&'a Scope>,
        _: Option<&'a (Scope, String)>,
        _: usize,
    ) -> Fut<'a, Vec<FullEntry>> {
        self.unsupported("data store export")
    }
    fn import<'a>(&'a self, _: &'a [FullEntry], _: bool) -> Fut<'a, ImportReport> {
        self.unsupported("data store import")
    }
    fn cleanup_batch<'a>(&'a self, _: usize) -> Fut<'a, u64> {
        self.unsupported("data store cleanup")
    }
}

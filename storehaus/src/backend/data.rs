//! The operations of the data store on its table (`storehaus_data`), written once over
//! [`Backend`]; each database's statement texts live in its own module (`postgres/data.rs`,
//! `sqlite/data.rs`).

mod ops;
mod texts;

pub(crate) use ops::BackendData;
pub(crate) use texts::{DataDialect, DataEvent, DataTexts, expires_at, ttl_micros};

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
    fn set_many<'a>(&'a self, scope: &'a Scope, entries: Vec<(String, Json)>, ttl: Option<Duration>) -> Fut<'a, u64>;
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
    /// Deletes the expired entries of every scope, `batch` per statement; returns how many went.
    fn cleanup_expired<'a>(&'a self, batch: usize) -> Fut<'a, u64>;
}

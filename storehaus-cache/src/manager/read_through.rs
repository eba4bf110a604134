//! The read-through protocol: rows by primary key, query results, and invalidation.
//!
//! Rows: a reader reads the entry together with the row's epoch and the table's epoch, loads on
//! a miss, and fills only if both epochs still hold what it read (one atomic check-and-set).
//! A writer, after its commit, bumps the row's epoch and deletes the entry (one atomic step),
//! so a reader that loaded the old row can no longer store it. Queries: results are keyed by
//! the table's generation, which every write bumps, so old results are never read again.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::CacheManager;
use super::envelope::{decode_query, decode_row, encode_query, encode_row};
use crate::backend::EpochKey;
use crate::digest::QueryDigest;
use crate::error::CacheResult;
use crate::flight::{Outcome, Role, wait};
use crate::keys::{RowKey, TableKeys};
use crate::stats::Counters;
use crate::util::jitter;

/// How long a row's epoch outlives the entry filled under it. An epoch that expires costs a
/// miss, never a stale read, since it comes back with a fresh random value.
const EPOCH_GRACE: Duration = Duration::from_secs(600);
/// Rows per invalidation round trip.
const INVALIDATION_CHUNK: usize = 500;

/// The epochs a row was read under. A fill made with it succeeds only while neither the row
/// nor its table has been invalidated since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FillToken {
    pub(crate) row: i64,
    pub(crate) table: i64,
}

/// The answer of [`CacheManager::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    /// The cached row.
    Found(T),
    /// The cache remembers that there is no such row.
    Absent,
    /// Not cached: load it, then [`fill`](CacheManager::fill) with this token.
    Miss(FillToken),
    /// The cache cannot be used now (unreachable, or an invalidation is pending): load without
    /// filling.
    Bypass,
}

impl CacheManager {
    /// Reads a cached row. Fails open: a backend failure is [`Lookup::Bypass`].
    pub async fn lookup<T: DeserializeOwned>(&self, key: &RowKey) -> Lookup<T> {
        self.lookup_counting(key, true).await
    }

    /// [`lookup`](Self::lookup); a second look by the same caller counts only a hit, since its
    /// miss was counted the first time.
    async fn lookup_counting<T: DeserializeOwned>(&self, key: &RowKey, count_miss: bool) -> Lookup<T> {
        let count = |hit: bool| {
            if hit || count_miss {
                self.count_lookup(hit);
            }
        };
        if !self.table_ready(key.table_epoch()).await {
            count(false);
            return Lookup::Bypass;
        }
        let epochs = [EpochKey::expiring(key.epoch(), EPOCH_GRACE), EpochKey::persistent(key.table_epoch())];
        let read = match self.call(self.backend.read_with_epochs(Some(key.entry()), &epochs)).await {
            Ok(read) if read.epochs.len() == 2 => read,
            _ => {
                count(false);
                return Lookup::Bypass;
            }
        };
        let token = FillToken { row: read.epochs[0], table: read.epochs[1] };
        // An entry of other epochs, or one that no longer decodes (the model changed), is a miss.
        let found =
            read.value.as_deref().and_then(decode_row).filter(|entry| entry.token == token).and_then(
                |entry| match entry.payload {
                    None => Some(Lookup::Absent),
                    Some(payload) => serde_json::from_slice(payload).ok().map(Lookup::Found),
                },
            );
        count(found.is_some());
        found.unwrap_or(Lookup::Miss(token))
    }

    /// Stores a loaded row (`None`: there is no such row, remembered for `negative_ttl_seconds`
    /// at most) if the row and its table are still at the epochs of `token` and its entry is no
    /// larger than `max_entry_bytes`. Returns whether it was stored; `false` is normal after a
    /// concurrent write.
    pub async fn fill<T: Serialize + ?Sized>(
        &self,
        key: &RowKey,
        token: FillToken,
        value: Option<&T>,
        ttl: Duration,
    ) -> bool {
        match value.map(serde_json::to_vec).transpose() {
            Ok(payload) => self.fill_encoded(key, token, payload.as_deref(), ttl).await,
            Err(error) => {
                tracing::debug!(%error, "cache fill skipped: the value does not serialize");
                false
            }
        }
    }

    /// The row of `key`: from the cache, else from `load`, which then fills the cache.
    ///
    /// Concurrent calls for one key in this process run `load` once; the others wait for its
    /// result (an error included, hence `E: Clone`; wrap a non-`Clone` error in an `Arc`).
    /// Entries live `ttl` ± the configured jitter; an absence lives `negative_ttl_seconds`; a
    /// row whose entry exceeds `max_entry_bytes` is returned but not kept. Fails open: whatever
    /// happens to the cache, the result is `load`'s.
    pub async fn get_or_load<T, E, F, Fut>(&self, key: &RowKey, ttl: Duration, load: F) -> Result<Option<T>, E>
    where
        T: Serialize + DeserializeOwned,
        E: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let token = match self.lookup::<T>(key).await {
            Lookup::Found(value) => return Ok(Some(value)),
            Lookup::Absent => return Ok(None),
            Lookup::Miss(token) => Some(token),
            Lookup::Bypass => None,
        };
        let flight = format!(
            "{}\0{}\0{}\0{}",
            key.entry(),
            token.map_or_else(|| "-".to_owned(), |t| format!("{}.{}", t.row, t.table)),
            self.local.of(key.entry()),
            self.local.of(key.table_epoch()),
        );
        let role = self.flights.join::<E>(flight);
        let leader = match role {
            Role::Leader(leader) => leader,
            Role::Waiter(receiver) => {
                Counters::add(&self.counters.single_flight_joins, 1);
                match wait(receiver).await {
                    Some(Outcome::Found(payload)) => {
                        if let Ok(value) = serde_json::from_slice(&payload) {
                            return Ok(Some(value));
                        }
                    }
                    Some(Outcome::Absent) => return Ok(None),
                    Some(Outcome::Failed(error)) => return Err(error),
                    Some(Outcome::Unshared) | None => {}
                }
                return self.load_row(key, token, ttl, load).await.0;
            }
            Role::Alone => return self.load_row(key, token, ttl, load).await.0,
        };
        // A caller whose lookup was answered late can lead after an earlier load already finished
        // and filled the entry; looking once more keeps a cold key at one database load.
        let mut token = token;
        if token.is_some() {
            match self.lookup_counting::<T>(key, false).await {
                Lookup::Found(value) => {
                    leader.finish(match serde_json::to_vec(&value) {
                        Ok(payload) => Outcome::Found(payload.into()),
                        Err(_) => Outcome::Unshared,
                    });
                    return Ok(Some(value));
                }
                Lookup::Absent => {
                    leader.finish(Outcome::Absent);
                    return Ok(None);
                }
                Lookup::Miss(fresh) => token = Some(fresh),
                Lookup::Bypass => token = None,
            }
        }
        let (loaded, payload) = self.load_row(key, token, ttl, load).await;
        leader.finish(match (&loaded, payload) {
            (Err(error), _) => Outcome::Failed(error.clone()),
            (Ok(_), Some(Some(payload))) => Outcome::Found(payload.into()),
            (Ok(_), Some(None)) => Outcome::Absent,
            (Ok(_), None) => Outcome::Unshared,
        });
        loaded
    }

    /// Loads a row and fills it when there is a token; also returns the encoded row (`None`
    /// when it does not encode or the load failed).
    async fn load_row<T, E, F, Fut>(
        &self,
        key: &RowKey,
        token: Option<FillToken>,
        ttl: Duration,
        load: F,
    ) -> (Result<Option<T>, E>, Option<Option<Vec<u8>>>)
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let loaded = load().await;
        let payload = match &loaded {
            Ok(value) => value.as_ref().map(serde_json::to_vec).transpose().ok(),
            Err(_) => None,
        };
        if let (Some(token), Some(payload)) = (token, &payload) {
            self.fill_encoded(key, token, payload.as_deref(), ttl).await;
        }
        (loaded, payload)
    }

    async fn fill_encoded(&self, key: &RowKey, token: FillToken, payload: Option<&[u8]>, ttl: Duration) -> bool {
        let ttl = match payload {
            Some(_) => ttl,
            None if self.negative_ttl.is_zero() => return false,
            None => ttl.min(self.negative_ttl),
        };
        let ttl = jitter(ttl, self.jitter_percent);
        if !self.table_ready(key.table_epoch()).await {
            return false;
        }
        let entry = encode_row(token, payload);
        if !self.fits(key.entry(), entry.len()) {
            return false;
        }
        let epochs = [
            (EpochKey::expiring(key.epoch(), ttl + EPOCH_GRACE), token.row),
            (EpochKey::persistent(key.table_epoch()), token.table),
        ];
        match self.call(self.backend.set_if_epochs(key.entry(), &entry, ttl, &epochs)).await {
            Ok(true) => {
                Counters::add(&self.counters.fills, 1);
                true
            }
            Ok(false) => {
                Counters::add(&self.counters.stale_fills_refused, 1);
                false
            }
            Err(_) => false,
        }
    }

    /// The result of `query` on `table`: from the cache, else from `load`, which then fills it.
    ///
    /// `query` must identify the result completely (statement and bound values): a text, or its
    /// [`QueryDigest`] (see [`QueryDigest::of_debug`]). Results are keyed by the digest and the
    /// table's generation, so a write's invalidation retires them all at once. A result whose
    /// entry exceeds `max_entry_bytes` is returned but not kept. Same single flight and
    /// fail-open behaviour as [`get_or_load`](Self::get_or_load).
    pub async fn get_or_load_query<T, E, F, Fut>(
        &self,
        table: &TableKeys,
        query: impl Into<QueryDigest>,
        ttl: Duration,
        load: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let query = query.into();
        let cache_key = self.query_cache_key(table, &query).await;
        if let Some(cache_key) = &cache_key
            && let Ok(Some(raw)) = self.call(self.backend.get(cache_key)).await
            && let Some(value) = decode_query(&raw, &query).and_then(|payload| serde_json::from_slice(payload).ok())
        {
            self.count_lookup(true);
            return Ok(value);
        }
        self.count_lookup(false);
        let generation = table.generation_key();
        let flight = format!(
            "{}\0{}\0{}\0{}\0{}",
            table.as_str(),
            cache_key.as_deref().unwrap_or("-"),
            self.local.of(&generation),
            self.local.of(&table.epoch_key()),
            query.to_hex(),
        );
        match self.flights.join::<E>(flight) {
            Role::Leader(leader) => {
                let loaded = load().await;
                let payload = loaded.as_ref().ok().and_then(|value| serde_json::to_vec(value).ok());
                if let (Some(cache_key), Some(payload)) = (&cache_key, &payload) {
                    self.fill_query(table, cache_key, &query, payload, ttl).await;
                }
                leader.finish(match (&loaded, payload) {
                    (Err(error), _) => Outcome::Failed(error.clone()),
                    (Ok(_), Some(payload)) => Outcome::Found(payload.into()),
                    (Ok(_), None) => Outcome::Unshared,
                });
                loaded
            }
            Role::Waiter(receiver) => {
                Counters::add(&self.counters.single_flight_joins, 1);
                match wait(receiver).await {
                    Some(Outcome::Found(payload)) => match serde_json::from_slice(&payload) {
                        Ok(value) => Ok(value),
                        Err(_) => load().await,
                    },
                    Some(Outcome::Failed(error)) => Err(error),
                    _ => load().await,
                }
            }
            Role::Alone => load().await,
        }
    }

    async fn query_cache_key(&self, table: &TableKeys, query: &QueryDigest) -> Option<String> {
        if !self.table_ready(&table.epoch_key()).await {
            return None;
        }
        let read = self.call(self.backend.read_with_epochs(None, &[table.generation()])).await.ok()?;
        Some(table.query_key(*read.epochs.first()?, query))
    }

    async fn fill_query(&self, table: &TableKeys, cache_key: &str, query: &QueryDigest, payload: &[u8], ttl: Duration) {
        if !self.table_ready(&table.epoch_key()).await {
            return;
        }
        let entry = encode_query(query, payload);
        if !self.fits(cache_key, entry.len()) {
            return;
        }
        if self.call(self.backend.set(cache_key, &entry, Some(jitter(ttl, self.jitter_percent)))).await.is_ok() {
            Counters::add(&self.counters.fills, 1);
        }
    }

    /// Invalidates rows after a committed write (create, update, delete, restore): bumps each
    /// row's epoch, deletes its entry and bumps the table's generation. Fails open: when the
    /// backend cannot be reached, the table bypasses the cache in this process until a retry
    /// succeeds.
    pub async fn invalidate_rows<I: AsRef<str>>(&self, table: &TableKeys, ids: &[I]) {
        if ids.is_empty() {
            return;
        }
        let generation = table.generation_key();
        let rows: Vec<RowKey> = ids.iter().map(|id| table.row(id.as_ref())).collect();
        for row in &rows {
            self.local.bump(row.entry());
        }
        self.local.bump(&generation);
        for chunk in rows.chunks(INVALIDATION_CHUNK) {
            let mut epochs: Vec<String> = chunk.iter().map(|row| row.epoch().to_owned()).collect();
            epochs.push(generation.clone());
            let entries: Vec<String> = chunk.iter().map(|row| row.entry().to_owned()).collect();
            if self.call(self.backend.bump_epochs(&epochs, &entries)).await.is_err() {
                self.defer(table);
                return;
            }
            Counters::add(&self.counters.invalidations, chunk.len() as u64);
        }
    }

    /// Invalidates every cached row and query of `table`, for writes whose rows are not known
    /// one by one. Fails open like [`invalidate_rows`](Self::invalidate_rows).
    pub async fn invalidate_table(&self, table: &TableKeys) {
        let epochs = [table.epoch_key(), table.generation_key()];
        for key in &epochs {
            self.local.bump(key);
        }
        match self.call(self.backend.bump_epochs(&epochs, &[])).await {
            Ok(()) => Counters::add(&self.counters.invalidations, 1),
            Err(_) => self.defer(table),
        }
    }

    /// Invalidates `table` like [`invalidate_table`](Self::invalidate_table) by removing its two
    /// keys that never expire (table epoch and query generation), for a key prefix that is not
    /// used again, such as one test or one run of a program. Readers that come later start from
    /// fresh epochs, so nothing cached before is served.
    pub async fn forget_table(&self, table: &TableKeys) -> CacheResult<()> {
        let keys = [table.epoch_key(), table.generation_key()];
        for key in &keys {
            self.local.bump(key);
        }
        self.call(self.backend.delete(&keys)).await.map(drop)
    }

    fn defer(&self, table: &TableKeys) {
        self.pending.add(&table.epoch_key(), &table.generation_key());
        Counters::add(&self.counters.invalidations_deferred, 1);
        tracing::warn!(
            table = table.as_str(),
            "cache invalidation failed; the table bypasses the cache until a retry succeeds"
        );
    }

    /// Whether entries of the table whose epoch key is `table_epoch` may be used, retrying
    /// pending invalidations first.
    async fn table_ready(&self, table_epoch: &str) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        if let Some((_retrying, tables)) = self.pending.begin_retry() {
            let keys: Vec<String> =
                tables.iter().flat_map(|(epoch, generation, _)| [epoch.clone(), generation.clone()]).collect();
            if self.call(self.backend.bump_epochs(&keys, &[])).await.is_ok() {
                self.pending.done(&tables);
                Counters::add(&self.counters.invalidations, tables.len() as u64);
            }
        }
        !self.pending.contains(table_epoch)
    }
}

//! Reads: what the table holds plus what is still buffered, without counting a hand-over twice.
//!
//! A read takes the buffers' states, then the rows, then the states again. Only a take changes
//! a buffer's sequence number, so when none changed, each pending amount either was in the row
//! read (its `sync_seq` reached the amount's number) or was not, and the total is exact.

use super::Counters;
use super::keys::CounterId;
use super::outage::is_outage;
use super::table::Stored;
use super::write::cache_error;
use crate::cache::{BufferState, CacheManager};
use crate::error::{Result, StoreError};
use crate::owner::Owner;
use std::collections::{BTreeMap, BTreeSet};

/// Reads a counter may be retried because a sync took from it meanwhile.
const READ_ATTEMPTS: usize = 16;

fn overflow() -> StoreError {
    StoreError::validation("by", "the counter's total does not fit a 64-bit integer")
}

/// The total of one counter: the row, the pending amount if the row has not seen it, the delta.
fn total(row: Stored, before: &BufferState, after: &BufferState) -> Result<i64> {
    let settled = match before.pending {
        Some(pending) if row.sync_seq < pending.seq => {
            if pending.absolute {
                pending.value
            } else {
                row.count.checked_add(pending.value).ok_or_else(overflow)?
            }
        }
        _ => row.count,
    };
    settled.checked_add(after.delta).ok_or_else(overflow)
}

impl Counters {
    /// The total of the counter `key` of `owner`: what the database holds plus what is
    /// buffered; 0 for a counter never counted.
    ///
    /// While the cache is unreachable, only the database's part (increments buffered before the
    /// outage are missing until it is back); never more than the exact total.
    pub async fn get(&self, owner: &Owner, key: &str) -> Result<i64> {
        let totals = self.get_many(owner, &[key]).await?;
        Ok(totals.into_values().next().unwrap_or(0))
    }

    /// The totals of `keys` of `owner`, each key present (0 when never counted).
    pub async fn get_many(&self, owner: &Owner, keys: &[&str]) -> Result<BTreeMap<String, i64>> {
        let ids = keys.iter().map(|key| CounterId::new(owner, key)).collect::<Result<BTreeSet<_>>>()?;
        let ids: Vec<CounterId> = ids.into_iter().collect();
        let totals = self.totals(owner, &ids).await?;
        Ok(ids.into_iter().map(|id| id.key).zip(totals).collect())
    }

    /// Every counter of `owner`: those in the database and those only buffered so far.
    pub async fn all(&self, owner: &Owner) -> Result<BTreeMap<String, i64>> {
        owner.validate()?;
        let inner = &self.inner;
        let mut keys: BTreeSet<String> = inner.table.keys_of(owner.kind(), owner.id()).await?.into_iter().collect();
        if let Some(cache) = self.reachable_cache().await {
            let mut scan = inner.keys.scan(Some((owner.kind(), owner.id())));
            while let Some(found) = scan.next(cache, 500).await? {
                keys.extend(found.into_iter().map(|(_, id)| id.key));
            }
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.get_many(owner, &keys).await
    }

    /// The cache, unless there is none or it is failing.
    async fn reachable_cache(&self) -> Option<&CacheManager> {
        let cache = self.inner.cache.as_deref()?;
        if self.inner.outage.is_down() || self.recover(cache).await.is_err() {
            return None;
        }
        Some(cache)
    }

    /// The totals of `ids`, all of one owner, in order.
    async fn totals(&self, owner: &Owner, ids: &[CounterId]) -> Result<Vec<i64>> {
        let inner = &self.inner;
        let names: Vec<String> = ids.iter().map(|id| id.key.clone()).collect();
        let Some(cache) = self.reachable_cache().await else {
            return self.stored_totals(owner, &names).await;
        };
        let buffers: Vec<String> = ids.iter().map(|id| inner.keys.buffer(id)).collect();
        match self.exact(cache, owner.kind(), owner.id(), &names, &buffers).await {
            Err(StoreError::Cache(message)) if inner.outage.is_down() => {
                tracing::debug!(%message, "counters read without the cache");
                self.stored_totals(owner, &names).await
            }
            other => other,
        }
    }

    /// What the database holds for `names` of `owner`, without the cache.
    async fn stored_totals(&self, owner: &Owner, names: &[String]) -> Result<Vec<i64>> {
        let rows = self.inner.table.read(owner.kind(), owner.id(), names).await?;
        Ok(names.iter().map(|name| rows.get(name).map_or(0, |row| row.count)).collect())
    }

    /// The states of the buffers at `keys`; a failure that looks like an outage marks the cache
    /// down.
    async fn read_buffers(&self, cache: &CacheManager, keys: &[String]) -> Result<Vec<BufferState>> {
        cache.buffer_read(keys).await.map_err(|error| {
            if is_outage(&error) {
                self.inner.outage.mark_down();
            }
            cache_error(error)
        })
    }

    /// The totals of `names` of the owner `kind`/`id`, whose buffers are `buffers`.
    async fn exact(
        &self,
        cache: &CacheManager,
        kind: &str,
        id: &str,
        names: &[String],
        buffers: &[String],
    ) -> Result<Vec<i64>> {
        for _ in 0..READ_ATTEMPTS {
            let before = self.read_buffers(cache, buffers).await?;
            let rows = self.inner.table.read(kind, id, names).await?;
            let after = self.read_buffers(cache, buffers).await?;
            if before.iter().zip(&after).any(|(before, after)| before.seq != after.seq) {
                continue;
            }
            let mut totals = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let row = rows.get(name).copied().unwrap_or_default();
                totals.push(total(row, &before[i], &after[i])?);
                // Nothing pending throughout: the row holds every hand-over so far, so it is the
                // base that later increments add to without reading the database.
                if before[i].pending.is_none() && after[i].pending.is_none() && after[i].base != Some(row.count) {
                    let _ = cache.buffer_set_base(&buffers[i], after[i].seq, row.count).await;
                }
            }
            return Ok(totals);
        }
        Err(StoreError::Cache("the counters kept being handed over while they were read".to_owned()))
    }

    /// The total after an add whose answer had no base to add to: read exactly, or else from
    /// the row and the add's own view of the buffer. Never an error other than an overflow: the
    /// add took place, and an error would invite the caller to repeat it.
    pub(super) async fn total_after_add(
        &self,
        cache: &CacheManager,
        id: &CounterId,
        state: BufferState,
    ) -> Result<i64> {
        let names = [id.key.clone()];
        let buffers = [self.inner.keys.buffer(id)];
        let error = match self.exact(cache, &id.owner_kind, &id.owner_id, &names, &buffers).await {
            Ok(totals) => return Ok(totals[0]),
            Err(error @ StoreError::Validation { .. }) => return Err(error),
            Err(error) => error,
        };
        let row = match self.inner.table.read(&id.owner_kind, &id.owner_id, &names).await {
            Ok(rows) => rows.get(&id.key).copied().unwrap_or_default(),
            Err(read_error) => {
                tracing::warn!(%error, %read_error, "counter total unknown after an increment; reporting the buffered part");
                Stored::default()
            }
        };
        total(row, &state, &state)
    }
}

//! The counters' statements on `storehaus_counters`, through the model store, so they run the
//! same on both backends and emit change events like any other write.

use super::keys::CounterId;
use super::row::CounterRow;
use crate::backend::DbPool;
use crate::cache::BufferPending;
use crate::error::{Result, StoreError};
use crate::query::{QueryBuilder, QueryFilter, UpdateSet, Upsert};
use crate::signals::SignalManager;
use crate::store::GenericStore;
use crate::transaction::Transaction;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// A pending amount to apply to a counter's row.
#[derive(Debug, Clone)]
pub(crate) struct HandOver {
    pub id: CounterId,
    pub pending: BufferPending,
}

/// What applying a hand-over did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applied {
    /// Whether the row changed (false: this hand-over had already been applied).
    pub written: bool,
    /// The row's count after it.
    pub count: i64,
}

/// A row's count and the last hand-over applied to it; the default is a counter without a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Stored {
    pub count: i64,
    pub sync_seq: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct CounterTable {
    store: GenericStore<CounterRow>,
}

fn at(id: &CounterId) -> QueryBuilder {
    QueryBuilder::new()
        .filter(QueryFilter::eq("owner_kind", id.owner_kind.as_str()))
        .filter(QueryFilter::eq("owner_id", id.owner_id.as_str()))
        .filter(QueryFilter::eq("key", id.key.as_str()))
}

fn of_owner(kind: &str, id: &str) -> QueryBuilder {
    QueryBuilder::new().filter(QueryFilter::eq("owner_kind", kind)).filter(QueryFilter::eq("owner_id", id))
}

fn row(id: &CounterId, count: i64, sync_seq: i64) -> CounterRow {
    CounterRow {
        owner_kind: id.owner_kind.clone(),
        owner_id: id.owner_id.clone(),
        key: id.key.clone(),
        count,
        sync_seq,
    }
}

impl CounterTable {
    /// Creates the table if it is missing.
    pub(crate) async fn open(pool: DbPool, signals: Option<Arc<SignalManager>>) -> Result<CounterTable> {
        pool.migrate(<CounterRow as crate::model::Model>::TABLE, &crate::schema::MigrateOptions::default()).await?;
        Ok(CounterTable { store: GenericStore::new(pool, signals, None) })
    }

    pub(crate) fn pool(&self) -> &DbPool {
        self.store.pool()
    }

    /// Applies every hand-over in one transaction: each only if the row has not seen its
    /// sequence number yet.
    pub(crate) async fn apply(&self, batch: &[HandOver]) -> Result<Vec<Applied>> {
        let tx = Transaction::begin(self.store.pool()).await?;
        let store = self.store.with_transaction(&tx);
        let mut applied = Vec::with_capacity(batch.len());
        for hand_over in batch {
            applied.push(apply_one(&store, hand_over).await?);
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// `count = count + by` on the row (created when missing); returns the new count.
    pub(crate) async fn add(&self, id: &CounterId, by: i64) -> Result<i64> {
        let how = Upsert::on_key().insert_only(["sync_seq"]).increment("count", json!(by));
        Ok(self.store.upsert_with(row(id, by, 0), None, how).await?.data().count)
    }

    /// `count = value` on the row (created when missing).
    pub(crate) async fn set(&self, id: &CounterId, value: i64) -> Result<()> {
        let how = Upsert::on_key().insert_only(["sync_seq"]);
        self.store.upsert_with(row(id, value, 0), None, how).await.map(drop)
    }

    /// The rows of `keys` of one owner that exist.
    pub(crate) async fn read(&self, kind: &str, id: &str, keys: &[String]) -> Result<HashMap<String, Stored>> {
        let query = of_owner(kind, id).filter(QueryFilter::in_values("key", keys.iter().map(String::as_str)));
        let rows = self.store.find(query).await?;
        Ok(rows
            .into_iter()
            .map(|record| {
                let data = record.data();
                (data.key.clone(), Stored { count: data.count, sync_seq: data.sync_seq })
            })
            .collect())
    }

    /// The keys of every row of one owner.
    pub(crate) async fn keys_of(&self, kind: &str, id: &str) -> Result<Vec<String>> {
        let rows = self.store.find(of_owner(kind, id)).await?;
        Ok(rows.into_iter().map(|record| record.data().key.clone()).collect())
    }
}

async fn apply_one(store: &GenericStore<CounterRow>, hand_over: &HandOver) -> Result<Applied> {
    let BufferPending { seq, value, absolute } = hand_over.pending;
    let id = &hand_over.id;
    let change =
        if absolute { UpdateSet::new().set("count", value) } else { UpdateSet::new().increment("count", value) };
    let change = change.set("sync_seq", seq);
    // Update the row if it has not seen `seq`; create it if missing. A row created meanwhile by
    // another transaction makes the insert a no-op, so the update is tried once more.
    for attempt in 0..2 {
        let newer = at(id).filter(QueryFilter::lt("sync_seq", seq));
        if let Some(record) = store.update_where(newer, change.clone()).await?.first() {
            return Ok(Applied { written: true, count: record.data().count });
        }
        if attempt == 0 && store.create_or_ignore(row(id, value, seq), None).await?.is_some() {
            return Ok(Applied { written: true, count: value });
        }
    }
    let key = (id.owner_kind.clone(), id.owner_id.clone(), id.key.clone());
    let record = store
        .get_by_id(&key)
        .await?
        .ok_or_else(|| StoreError::Cache("a counter row vanished while its hand-over was applied".to_owned()))?;
    Ok(Applied { written: false, count: record.data().count })
}

//! [`PgLogicalSource`]: change signals read from a logical replication slot
//! ([`SignalTransport::LogicalDecoding`](crate::signals::SignalTransport::LogicalDecoding)).
//!
//! The slot (plugin `test_decoding`) hands out every committed transaction of the database in
//! commit order, whoever wrote it. Rows StoreHaus appends to the event log come out as the
//! events it recorded, with the log's ids; changes of other tables, made by raw SQL or other
//! services, come out as raw events:
//!
//! | Raw event | Value |
//! |---|---|
//! | `event_type` | `INSERT` → `Create`, `UPDATE` → `Update`, `DELETE` → `Delete` |
//! | `table_name` | the table, qualified with its schema (`schema.table`) unless it is in the connection's current schema |
//! | `record_id` | the primary key's text; a composite key as a JSON array (`["acme", "42"]`) |
//! | `payload` | the new row (for a delete, the old key) as a JSON object: numbers, booleans and `json` as JSON, everything else as text; large values an update left unchanged are absent |
//! | `id` | minus the change's WAL position (LSN), so never equal to a log id, and unique |
//! | `timestamp` | the commit time |
//!
//! A raw change of a row that the same transaction also recorded in the log (same table and
//! record id) is dropped, so a StoreHaus write arrives once; changes of tables named
//! `storehaus_*` are never raw events, nor are `TRUNCATE`s.
//!
//! The slot is persistent: a process that restarts with the same slot name continues where it
//! stopped, and the server keeps the WAL the slot has not confirmed. Each listening process
//! needs a slot of its own: processes that read one slot would split its changes between them.

mod array;
mod changes;
mod decode;
mod keys;
mod lsn;
mod slot;

use super::PgEventSource;
use super::source::PgDoorbell;
use crate::backend::Backend;
use crate::backend::postgres::Postgres;
use crate::error::StoreError;
use crate::signals::durable::ConsumerLog;
use crate::signals::{Batch, BoxFuture, Doorbell, EventSource, Position, SourceError};
use changes::Context;
use keys::KeyCache;
use lsn::Lsn;
use slot::{Slot, SlotError};
use sqlx::postgres::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// How often the doorbell rings without a notification: raw writes send none.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A source for a signal manager reading slot `slot_name`, created if missing, on the database
/// of `pool`; the event log is created too. A server without `wal_level = logical` gives
/// [`StoreError::Unsupported`] and nothing is created.
///
/// PostgreSQL checks the slot name (`a-z`, `0-9`, `_`, at most 63 characters); it only ever
/// reaches the server as a bound value.
pub(crate) async fn logical_source(pool: &PgPool, slot_name: &str) -> Result<Arc<dyn EventSource>, StoreError> {
    let wal_level = slot::wal_level(pool).await.map_err(Postgres::error)?;
    if wal_level != "logical" {
        return Err(StoreError::Unsupported {
            backend: Postgres::NAME,
            operation: format!(
                "change signals by logical decoding need `wal_level = logical`, and the server has \
                 `wal_level = {wal_level}`; set it in postgresql.conf and restart the server, or use \
                 `transport = \"log\"`"
            )
            .into(),
        });
    }
    super::ensure_event_log(pool).await?;
    let current_schema: Option<String> =
        sqlx::query_scalar("SELECT current_schema()::text").fetch_one(pool).await.map_err(Postgres::error)?;
    let slot = Slot::new(slot_name);
    slot.ensure(pool).await.map_err(|e| match e {
        SlotError::Database(e) => Postgres::error(e),
        foreign @ SlotError::Foreign { .. } => StoreError::config("signal.slot_name", foreign.to_string()),
        other => StoreError::Signal(other.to_string()),
    })?;
    Ok(Arc::new(PgLogicalSource {
        slot,
        current_schema,
        keys: KeyCache::default(),
        log: PgEventSource::new(pool.clone()),
    }))
}

/// The changes of one database, read from its replication slot.
#[derive(Debug)]
pub(crate) struct PgLogicalSource {
    slot: Slot,
    current_schema: Option<String>,
    keys: KeyCache,
    /// The event log, which pruning and publishing use as the log transport does.
    log: PgEventSource,
}

impl PgLogicalSource {
    fn pool(&self) -> &PgPool {
        &self.log.db.pool
    }

    /// Up to `limit` events after `after`, in whole transactions (one larger transaction is
    /// returned whole).
    async fn read_batch(&self, after: Position, limit: usize) -> Result<Batch, SourceError> {
        let after = Lsn::of(after);
        let (confirmed, flushed) = self.slot.positions(self.pool()).await?;
        // The reader has taken everything before `after`: confirming it lets a restarted process
        // resume there and the server recycle the WAL.
        if after > confirmed {
            self.slot.advance(self.pool(), after).await?;
        }
        let mut max_rows = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let (transactions, truncated) = loop {
            let rows = self.slot.peek(self.pool(), flushed, max_rows).await?;
            let truncated = rows.len() >= max_rows as usize;
            let transactions = changes::transactions(rows)?;
            // Rows about no transaction (logical messages) can fill a batch: ask for more until
            // one commits, or the position would never move.
            if !truncated || !transactions.is_empty() || max_rows == i32::MAX {
                break (transactions, truncated);
            }
            max_rows = max_rows.saturating_mul(2);
        };
        let keys = self.keys.keys_of(self.pool(), changes::raw_tables(&transactions)).await?;
        let cx = Context { current_schema: self.current_schema.as_deref(), keys: &keys };
        let mut events = Vec::new();
        let mut next = after;
        let mut cut = truncated;
        for tx in &transactions {
            let tx_events = changes::events(tx, &cx)?;
            if !events.is_empty() && events.len() + tx_events.len() > limit {
                cut = true;
                break;
            }
            events.extend(tx_events);
            next = next.max(tx.end);
        }
        // Decoding went up to `flushed`: every transaction that commits before it has been seen,
        // unless the rows or the events reached their limit first.
        if !cut {
            next = next.max(flushed);
        }
        Ok(Batch { events, next: next.position() })
    }
}

impl EventSource for PgLogicalSource {
    /// The slot's confirmed position, the slot created if it is missing.
    fn tail(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        Box::pin(async move { Ok(self.slot.ensure(self.pool()).await?.position()) })
    }

    /// The end of the server's WAL.
    fn last_committed(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        Box::pin(async move { Ok(slot::current(self.pool()).await?.position()) })
    }

    fn read(&self, after: Position, limit: usize) -> BoxFuture<'_, Result<Batch, SourceError>> {
        Box::pin(self.read_batch(after, limit))
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<Box<dyn Doorbell>, SourceError>> {
        Box::pin(PgDoorbell::listen(self.pool(), Arc::default(), Some(POLL_INTERVAL)))
    }

    fn prune(&self, age: Duration) -> BoxFuture<'_, Result<u64, SourceError>> {
        self.log.prune(age)
    }

    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), SourceError>> {
        self.log.publish(channel, payload)
    }

    /// Durable consumers read the event log, whichever transport wakes the callbacks.
    fn consumers(&self) -> Option<Arc<dyn ConsumerLog>> {
        self.log.consumers()
    }
}

//! Durable consumers on SQLite: a durable copy of the in-process event log, and the consumers'
//! positions, leases and dead letters, in tables of the database file.
//!
//! The copy exists once a durable consumer was registered: from then on every write appends its
//! events to `storehaus_events` in its own transaction (a write looks for the table until it has
//! seen it, so writes of other processes on the same file are copied too). SQLite lets one
//! writer at a time commit, so ids are committed in order and every id read is final.
//!
//! Processes share a consumer's partitions through leases that are renewed every second and run
//! out after [`LEASE_MS`]: a process that dies leaves its partitions to the others after that.

mod consumers;
mod membership;
mod retention;

use super::Sqlite;
use crate::backend::executor::{Db, Executor};
use crate::backend::{Backend, DurableLog};
use crate::error::StoreError;
use crate::signals::durable::ConsumerLog;
use crate::signals::{Batch, BoxFuture, Doorbell, EventSource, MemorySource, Position, SourceError};
use consumers::SqliteConsumerLog;
use sqlx::SqlitePool;
use std::sync::Arc;
use std::time::Duration;

/// How long a partition lease or a membership lasts without renewal, in milliseconds.
pub(crate) const LEASE_MS: i64 = 10_000;

/// Milliseconds since the Unix epoch, by SQLite's clock.
macro_rules! now_ms {
    () => {
        "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
    };
}
pub(crate) use now_ms;

/// The durable log and the consumers' tables.
const STATEMENTS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS \"storehaus_events\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \
     \"event_type\" TEXT NOT NULL, \"table_name\" TEXT NOT NULL, \"record_id\" TEXT NOT NULL, \
     \"tags\" TEXT NOT NULL, \"payload\" TEXT NOT NULL, \"created_at\" INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS \"storehaus_events_created_at_idx\" ON \"storehaus_events\" (\"created_at\")",
    "CREATE TABLE IF NOT EXISTS \"storehaus_consumers\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \
     \"name\" TEXT NOT NULL UNIQUE, \"partitions\" INTEGER NOT NULL, \"max_lag_ms\" INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS \"storehaus_consumer_positions\" (\"consumer_id\" INTEGER NOT NULL \
     REFERENCES \"storehaus_consumers\" ON DELETE CASCADE, \"partition\" INTEGER NOT NULL, \
     \"position\" INTEGER NOT NULL, \"missed_after\" INTEGER, \"missed_through\" INTEGER, \"holder\" TEXT, \
     \"held_until\" INTEGER, PRIMARY KEY (\"consumer_id\", \"partition\"))",
    "CREATE TABLE IF NOT EXISTS \"storehaus_consumer_members\" (\"consumer_id\" INTEGER NOT NULL \
     REFERENCES \"storehaus_consumers\" ON DELETE CASCADE, \"member\" TEXT NOT NULL, \
     \"seen_until\" INTEGER NOT NULL, PRIMARY KEY (\"consumer_id\", \"member\"))",
    "CREATE TABLE IF NOT EXISTS \"storehaus_dead_events\" (\"consumer_id\" INTEGER NOT NULL \
     REFERENCES \"storehaus_consumers\" ON DELETE CASCADE, \"event_id\" INTEGER NOT NULL, \
     \"partition\" INTEGER NOT NULL, \"event\" TEXT NOT NULL, \"error\" TEXT NOT NULL, \
     \"attempts\" INTEGER NOT NULL, \"failed_at\" INTEGER NOT NULL, \
     \"replay_requested\" INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (\"consumer_id\", \"event_id\"))",
    "CREATE TABLE IF NOT EXISTS \"storehaus_handled_events\" (\"consumer\" TEXT NOT NULL, \
     \"event_id\" INTEGER NOT NULL, \"handled_at\" INTEGER NOT NULL, PRIMARY KEY (\"consumer\", \"event_id\"))",
];

/// Whether the database has the durable log, and with it (created in the same transaction)
/// the consumers' tables.
const EXISTS: &str = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'storehaus_events'";

/// What the executor writes to the durable log.
pub(crate) const DURABLE_LOG: DurableLog = DurableLog {
    exists: EXISTS,
    append: concat!(
        "INSERT INTO \"storehaus_events\" (\"event_type\", \"table_name\", \"record_id\", \"tags\", \"payload\", ",
        "\"created_at\") SELECT value ->> '$.event_type', value ->> '$.table_name', value ->> '$.record_id', ",
        "value -> '$.tags', value -> '$.payload', ",
        now_ms!(),
        " FROM json_each($1) ORDER BY key"
    ),
    mark_handled: concat!(
        "INSERT INTO \"storehaus_handled_events\" (\"consumer\", \"event_id\", \"handled_at\") VALUES ($1, $2, ",
        now_ms!(),
        ") ON CONFLICT DO NOTHING RETURNING 1"
    ),
};

/// Creates the durable log and the consumers' tables if they are missing.
pub(crate) async fn ensure(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(Sqlite::error)?;
    for sql in STATEMENTS {
        sqlx::query(*sql).execute(&mut *tx).await.map_err(Sqlite::error)?;
    }
    tx.commit().await.map_err(Sqlite::error)
}

/// The in-process log of a SQLite pool, with the durable consumers of its database.
#[derive(Debug)]
pub(crate) struct SqliteEventSource {
    memory: Arc<MemorySource>,
    db: Db<Sqlite>,
}

impl SqliteEventSource {
    pub(crate) fn new(db: Db<Sqlite>, memory: Arc<MemorySource>) -> Self {
        SqliteEventSource { memory, db }
    }
}

impl EventSource for SqliteEventSource {
    fn tail(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        self.memory.tail()
    }

    fn last_committed(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        self.memory.last_committed()
    }

    fn read(&self, after: Position, limit: usize) -> BoxFuture<'_, Result<Batch, SourceError>> {
        self.memory.read(after, limit)
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<Box<dyn Doorbell>, SourceError>> {
        self.memory.subscribe()
    }

    /// Prunes the in-process log, and the durable log where consumers allow.
    fn prune(&self, age: Duration) -> BoxFuture<'_, Result<u64, SourceError>> {
        Box::pin(async move {
            let in_memory = self.memory.prune(age).await?;
            Ok(in_memory + retention::prune(&self.db.pool, age).await?)
        })
    }

    /// Through the pool, so the durable log gets the message too.
    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move { Ok(Executor::Pool(&self.db).publish(channel, payload).await?) })
    }

    fn consumers(&self) -> Option<Arc<dyn ConsumerLog>> {
        Some(Arc::new(SqliteConsumerLog::new(self.db.pool.clone())))
    }
}

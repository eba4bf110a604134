//! Durable consumers on PostgreSQL: their registration, positions, dead letters and handled
//! events in tables beside the event log, and session advisory locks for who holds which
//! partition.
//!
//! A process holds a partition with `pg_try_advisory_lock` on a connection of its own, and moves
//! the partition's position only on that connection: when the process dies, the server drops the
//! connection and with it the lock, at once, and another process takes the partition from the
//! position last saved. A process that stalls keeps its connection, and so its partitions, so
//! two processes never handle one partition at the same time.

mod membership;
mod retention;

pub(crate) use membership::PgMembership;
pub(crate) use retention::prune;

use super::source::PgEventSource;
use crate::backend::sql::consumers::{DEAD_LETTERS, FORGET_HANDLED, REMOVE};
use crate::signals::durable::{ConsumerLog, ConsumerSpec, DeadLetter, Membership};
use crate::signals::{BoxFuture, DatabaseEvent, SourceError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

/// The first key of every consumer lock: `SHEC` as an `int4`. The second is
/// `consumer id · 1024 + partition`, or `+ 1023` for the lock every member holds.
pub(crate) const LOCK_KEY: i32 = 1_397_245_251;

/// The second lock key of a consumer's members.
pub(crate) fn member_key(consumer_id: i32) -> i32 {
    consumer_id.saturating_mul(1024).saturating_add(1023)
}

/// The second lock key of a consumer's partition.
pub(crate) fn partition_key(consumer_id: i32, partition: u32) -> i32 {
    consumer_id.saturating_mul(1024).saturating_add(partition as i32)
}

/// The tables; created with the event log.
pub(super) const STATEMENTS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS \"storehaus_consumers\" (\"id\" SERIAL PRIMARY KEY, \"name\" TEXT NOT NULL UNIQUE, \
     \"partitions\" INT NOT NULL, \"max_lag_seconds\" DOUBLE PRECISION NOT NULL, \
     \"created_at\" TIMESTAMPTZ NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS \"storehaus_consumer_positions\" (\
     \"consumer_id\" INT NOT NULL REFERENCES \"storehaus_consumers\" ON DELETE CASCADE, \"partition\" INT NOT NULL, \
     \"position\" BIGINT NOT NULL, \"missed_after\" BIGINT, \"missed_through\" BIGINT, \
     \"updated_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (\"consumer_id\", \"partition\"))",
    "CREATE TABLE IF NOT EXISTS \"storehaus_dead_events\" (\
     \"consumer_id\" INT NOT NULL REFERENCES \"storehaus_consumers\" ON DELETE CASCADE, \"event_id\" BIGINT NOT NULL, \
     \"partition\" INT NOT NULL, \"event\" JSONB NOT NULL, \"error\" TEXT NOT NULL, \"attempts\" INT NOT NULL, \
     \"failed_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), \"replay_requested\" BOOLEAN NOT NULL DEFAULT false, \
     PRIMARY KEY (\"consumer_id\", \"event_id\"))",
    "CREATE TABLE IF NOT EXISTS \"storehaus_handled_events\" (\"consumer\" TEXT NOT NULL, \"event_id\" BIGINT NOT NULL, \
     \"handled_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (\"consumer\", \"event_id\"))",
];

/// Registers a consumer, keeping the partition count of an earlier registration.
const REGISTER: &str = "INSERT INTO \"storehaus_consumers\" (\"name\", \"partitions\", \"max_lag_seconds\") \
     VALUES ($1, $2, $3) ON CONFLICT (\"name\") DO UPDATE SET \"max_lag_seconds\" = EXCLUDED.\"max_lag_seconds\" \
     RETURNING \"id\", \"partitions\"";

/// The positions of a newly registered consumer's partitions: the horizon, or 0 from the start.
const START_POSITIONS: &str = concat!(
    "INSERT INTO \"storehaus_consumer_positions\" (\"consumer_id\", \"partition\", \"position\") ",
    "SELECT $1, p, CASE WHEN $3 THEN 0 ELSE \"",
    event_log!(),
    "_horizon\"() END FROM generate_series(0, $2 - 1) p ON CONFLICT DO NOTHING"
);

const REQUEST_REPLAY: &str = "UPDATE \"storehaus_dead_events\" d SET \"replay_requested\" = true \
     FROM \"storehaus_consumers\" c WHERE c.\"id\" = d.\"consumer_id\" AND c.\"name\" = $1 \
     AND ($2::BIGINT IS NULL OR d.\"event_id\" = $2)";

const DISCARD: &str = "DELETE FROM \"storehaus_dead_events\" d USING \"storehaus_consumers\" c \
     WHERE c.\"id\" = d.\"consumer_id\" AND c.\"name\" = $1 AND d.\"event_id\" = $2";

/// Records that `consumer` handled an event, in the caller's transaction: `$1` consumer, `$2`
/// event id; affects no row when it was recorded before.
pub(crate) const MARK_HANDLED: &str = "INSERT INTO \"storehaus_handled_events\" (\"consumer\", \"event_id\") \
     VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1";

/// A dead letter read with `DEAD_LETTERS` or `REPLAYS`.
pub(crate) fn dead_letter_from_row(row: &PgRow) -> Result<DeadLetter, SourceError> {
    let event: DatabaseEvent = serde_json::from_value(row.try_get(2)?)?;
    let partition: i32 = row.try_get(1)?;
    let attempts: i32 = row.try_get(4)?;
    let letter =
        DeadLetter::new(row.try_get(0)?, u32::try_from(partition)?, event, row.try_get(3)?, u32::try_from(attempts)?);
    Ok(letter.stored(row.try_get::<DateTime<Utc>, _>(5)?, row.try_get(6)?))
}

/// The durable consumers of one database.
#[derive(Debug, Clone)]
pub(crate) struct PgConsumerLog {
    source: PgEventSource,
}

impl PgConsumerLog {
    pub(crate) fn new(source: PgEventSource) -> Self {
        PgConsumerLog { source }
    }
}

impl ConsumerLog for PgConsumerLog {
    fn register<'a>(&'a self, spec: &'a ConsumerSpec) -> BoxFuture<'a, Result<u32, SourceError>> {
        Box::pin(async move {
            let mut tx = self.source.db.pool.begin().await?;
            let (id, partitions): (i32, i32) = sqlx::query_as(REGISTER)
                .bind(&spec.name)
                .bind(i32::try_from(spec.partitions)?)
                .bind(spec.max_lag.as_secs_f64())
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(START_POSITIONS).bind(id).bind(partitions).bind(spec.from_beginning).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(u32::try_from(partitions)?)
        })
    }

    fn join<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<Box<dyn Membership>, SourceError>> {
        Box::pin(async move {
            let membership: Box<dyn Membership> = Box::new(PgMembership::join(&self.source.db.pool, consumer).await?);
            Ok(membership)
        })
    }

    fn read_partition(
        &self,
        after: i64,
        partition: u32,
        partitions: u32,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<DatabaseEvent>, SourceError>> {
        Box::pin(async move { Ok(self.source.read_final(after, limit, (partition, partitions)).await?.0) })
    }

    fn dead_letters<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<Vec<DeadLetter>, SourceError>> {
        Box::pin(async move {
            let rows = sqlx::query(DEAD_LETTERS).bind(consumer).fetch_all(&self.source.db.pool).await?;
            rows.iter().map(dead_letter_from_row).collect()
        })
    }

    fn request_replay<'a>(
        &'a self,
        consumer: &'a str,
        event_id: Option<i64>,
    ) -> BoxFuture<'a, Result<u64, SourceError>> {
        Box::pin(async move {
            let done = sqlx::query(REQUEST_REPLAY).bind(consumer).bind(event_id).execute(&self.source.db.pool).await?;
            Ok(done.rows_affected())
        })
    }

    fn discard<'a>(&'a self, consumer: &'a str, event_id: i64) -> BoxFuture<'a, Result<bool, SourceError>> {
        Box::pin(async move {
            let done = sqlx::query(DISCARD).bind(consumer).bind(event_id).execute(&self.source.db.pool).await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn remove<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<bool, SourceError>> {
        Box::pin(async move {
            let mut tx = self.source.db.pool.begin().await?;
            let done = sqlx::query(REMOVE).bind(consumer).execute(&mut *tx).await?;
            sqlx::query(FORGET_HANDLED).bind(consumer).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }
}

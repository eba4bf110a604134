//! [`SqliteConsumerLog`]: registering consumers, reading a partition, and dead letters.

use super::membership::SqliteMembership;
use crate::backend::sql::consumers::{DEAD_LETTERS, FORGET_HANDLED, REMOVE};
use crate::schema::fnv1a;
use crate::signals::durable::{ConsumerLog, ConsumerSpec, DeadLetter, Membership};
use crate::signals::{BoxFuture, DatabaseEvent, EventType, SourceError};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

const REGISTER: &str = "INSERT INTO \"storehaus_consumers\" (\"name\", \"partitions\", \"max_lag_ms\") \
     VALUES ($1, $2, $3) ON CONFLICT (\"name\") DO UPDATE SET \"max_lag_ms\" = excluded.\"max_lag_ms\" \
     RETURNING \"id\", \"partitions\"";

/// A new partition's position: the end of the log, or 0 from the start.
const START_POSITION: &str = "INSERT INTO \"storehaus_consumer_positions\" (\"consumer_id\", \"partition\", \"position\") \
     VALUES ($1, $2, CASE WHEN $3 THEN 0 ELSE (SELECT COALESCE(max(\"id\"), 0) FROM \"storehaus_events\") END) \
     ON CONFLICT DO NOTHING";

/// Events after `$1`, in id order.
const READ: &str = "SELECT \"id\", \"event_type\", \"table_name\", \"record_id\", \"tags\", \"payload\", \"created_at\" \
     FROM \"storehaus_events\" WHERE \"id\" > $1 ORDER BY \"id\" LIMIT $2";

const REQUEST_REPLAY: &str = "UPDATE \"storehaus_dead_events\" SET \"replay_requested\" = 1 \
     WHERE \"consumer_id\" = (SELECT \"id\" FROM \"storehaus_consumers\" WHERE \"name\" = $1) \
     AND ($2 IS NULL OR \"event_id\" = $2)";

const DISCARD: &str = "DELETE FROM \"storehaus_dead_events\" \
     WHERE \"consumer_id\" = (SELECT \"id\" FROM \"storehaus_consumers\" WHERE \"name\" = $1) AND \"event_id\" = $2";

/// The partition of an event among `partitions`: a hash of its table and key, so one row's
/// events always meet in one partition.
pub(super) fn partition_of(event: &DatabaseEvent, partitions: u32) -> u32 {
    let key = format!("{}\u{1f}{}", event.table_name, event.record_id);
    (fnv1a(key.as_bytes()) % u64::from(partitions.max(1))) as u32
}

fn event_from_row(row: &SqliteRow) -> Result<DatabaseEvent, SourceError> {
    let event_type: String = row.try_get(1)?;
    let tags: String = row.try_get(4)?;
    let payload: String = row.try_get(5)?;
    let created_at: i64 = row.try_get(6)?;
    Ok(DatabaseEvent {
        id: row.try_get(0)?,
        event_type: EventType::from_name(&event_type).ok_or_else(|| format!("unknown event type {event_type:?}"))?,
        table_name: row.try_get(2)?,
        record_id: row.try_get(3)?,
        tags: serde_json::from_str(&tags)?,
        payload: serde_json::from_str(&payload)?,
        timestamp: DateTime::<Utc>::from_timestamp_millis(created_at).unwrap_or_default(),
    })
}

/// A dead letter read with `DEAD_LETTERS` or `REPLAYS`.
pub(super) fn dead_letter_from_row(row: &SqliteRow) -> Result<DeadLetter, SourceError> {
    let event: String = row.try_get(2)?;
    let partition: i64 = row.try_get(1)?;
    let attempts: i64 = row.try_get(4)?;
    let failed_at: i64 = row.try_get(5)?;
    let letter = DeadLetter::new(
        row.try_get(0)?,
        u32::try_from(partition)?,
        serde_json::from_str(&event)?,
        row.try_get(3)?,
        u32::try_from(attempts)?,
    );
    Ok(letter.stored(DateTime::<Utc>::from_timestamp_millis(failed_at).unwrap_or_default(), row.try_get(6)?))
}

/// The durable consumers of one SQLite database.
#[derive(Debug, Clone)]
pub(crate) struct SqliteConsumerLog {
    pool: SqlitePool,
}

impl SqliteConsumerLog {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        SqliteConsumerLog { pool }
    }

    /// Whether the consumers' tables exist; before the first registration they do not, and
    /// there is nothing to list or change.
    async fn registered(&self) -> Result<bool, SourceError> {
        Ok(sqlx::query(super::EXISTS).fetch_optional(&self.pool).await?.is_some())
    }
}

impl ConsumerLog for SqliteConsumerLog {
    fn register<'a>(&'a self, spec: &'a ConsumerSpec) -> BoxFuture<'a, Result<u32, SourceError>> {
        Box::pin(async move {
            super::ensure(&self.pool).await?;
            let max_lag = i64::try_from(spec.max_lag.as_millis()).unwrap_or(i64::MAX);
            let mut tx = self.pool.begin().await?;
            let (id, partitions): (i64, i64) = sqlx::query_as(REGISTER)
                .bind(&spec.name)
                .bind(i64::from(spec.partitions))
                .bind(max_lag)
                .fetch_one(&mut *tx)
                .await?;
            for partition in 0..partitions {
                sqlx::query(START_POSITION)
                    .bind(id)
                    .bind(partition)
                    .bind(spec.from_beginning)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(u32::try_from(partitions)?)
        })
    }

    fn join<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<Box<dyn Membership>, SourceError>> {
        Box::pin(async move {
            let membership: Box<dyn Membership> = Box::new(SqliteMembership::join(self.pool.clone(), consumer).await?);
            Ok(membership)
        })
    }

    /// Reads on past events of other partitions until some of `partition` turn up or the log
    /// ends (the partition is chosen here, not in SQL).
    fn read_partition(
        &self,
        after: i64,
        partition: u32,
        partitions: u32,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<DatabaseEvent>, SourceError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
            let mut after = after;
            loop {
                let rows = sqlx::query(READ).bind(after).bind(limit).fetch_all(&self.pool).await?;
                let end = (rows.len() as i64) < limit;
                let mut events = Vec::new();
                for row in &rows {
                    let event = event_from_row(row)?;
                    after = event.id;
                    if partition_of(&event, partitions) == partition {
                        events.push(event);
                    }
                }
                if !events.is_empty() || end {
                    return Ok(events);
                }
            }
        })
    }

    fn dead_letters<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<Vec<DeadLetter>, SourceError>> {
        Box::pin(async move {
            if !self.registered().await? {
                return Ok(Vec::new());
            }
            let rows = sqlx::query(DEAD_LETTERS).bind(consumer).fetch_all(&self.pool).await?;
            rows.iter().map(dead_letter_from_row).collect()
        })
    }

    fn request_replay<'a>(
        &'a self,
        consumer: &'a str,
        event_id: Option<i64>,
    ) -> BoxFuture<'a, Result<u64, SourceError>> {
        Box::pin(async move {
            if !self.registered().await? {
                return Ok(0);
            }
            let done = sqlx::query(REQUEST_REPLAY).bind(consumer).bind(event_id).execute(&self.pool).await?;
            Ok(done.rows_affected())
        })
    }

    fn discard<'a>(&'a self, consumer: &'a str, event_id: i64) -> BoxFuture<'a, Result<bool, SourceError>> {
        Box::pin(async move {
            if !self.registered().await? {
                return Ok(false);
            }
            let done = sqlx::query(DISCARD).bind(consumer).bind(event_id).execute(&self.pool).await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn remove<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<bool, SourceError>> {
        Box::pin(async move {
            if !self.registered().await? {
                return Ok(false);
            }
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query(REMOVE).bind(consumer).execute(&mut *tx).await?;
            sqlx::query(FORGET_HANDLED).bind(consumer).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }
}

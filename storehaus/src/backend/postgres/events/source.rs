//! [`PgEventSource`]: the event log and its doorbell, read by a signal manager's listener.

use super::CHANNEL;
use crate::backend::executor::{Db, Executor};
use crate::backend::postgres::Postgres;
use crate::signals::{Batch, BoxFuture, DatabaseEvent, Doorbell, EventSource, EventType, Position, SourceError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgListener, PgPool};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How soon to look again when events wait behind a transaction that is still running.
const HELD_BACK_RETRY: Duration = Duration::from_millis(25);

/// Reads committed events from the log. The horizon is the oldest transaction still running:
/// events of transactions at or past it are not final yet (one may still commit with a smaller
/// event id), so they are left for a later read instead of being skipped.
const READ: &str = concat!(
    "WITH \"horizon\" AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS \"xmin\") ",
    "SELECT e.\"id\", e.\"xid\", e.\"event_type\", e.\"table_name\", e.\"record_id\", e.\"tags\", ",
    "e.\"payload\", e.\"created_at\", e.\"xid\" >= h.\"xmin\" AS \"pending\" ",
    "FROM \"",
    event_log!(),
    "\" e, \"horizon\" h WHERE (e.\"xid\", e.\"id\") > ($1, $2) ORDER BY e.\"xid\", e.\"id\" LIMIT $3"
);

/// The horizon and the last event id.
const TAIL: &str = concat!(
    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, COALESCE((SELECT max(\"id\") FROM \"",
    event_log!(),
    "\"), 0)"
);

/// The last event in read order that the statement's snapshot sees committed.
const LAST_COMMITTED: &str =
    concat!("SELECT \"xid\", \"id\" FROM \"", event_log!(), "\" ORDER BY \"xid\" DESC, \"id\" DESC LIMIT 1");

/// Removes events older than `$1` seconds.
const PRUNE: &str =
    concat!("DELETE FROM \"", event_log!(), "\" WHERE \"created_at\" < now() - make_interval(secs => $1)");

/// The event log of one PostgreSQL database.
#[derive(Debug, Clone)]
pub(crate) struct PgEventSource {
    db: Db<Postgres>,
    /// Set when a read saw events waiting behind a running transaction: the doorbell then rings
    /// again shortly, since that transaction's end may not ring on its own (a rollback does not).
    held_back: Arc<AtomicBool>,
}

impl PgEventSource {
    pub(crate) fn new(pool: PgPool) -> Self {
        PgEventSource { db: Db::new(pool), held_back: Arc::new(AtomicBool::new(false)) }
    }
}

fn event_from_row(row: &sqlx::postgres::PgRow) -> Result<DatabaseEvent, SourceError> {
    let event_type: String = row.try_get(2)?;
    Ok(DatabaseEvent {
        id: row.try_get(0)?,
        event_type: EventType::from_name(&event_type).ok_or_else(|| format!("unknown event type {event_type:?}"))?,
        table_name: row.try_get(3)?,
        record_id: row.try_get(4)?,
        tags: row.try_get(5)?,
        payload: row.try_get(6)?,
        timestamp: row.try_get::<DateTime<Utc>, _>(7)?,
    })
}

impl EventSource for PgEventSource {
    fn tail(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        Box::pin(async move {
            let (xmin, _): (i64, i64) = sqlx::query_as(TAIL).fetch_one(&self.db.pool).await?;
            // Everything of transactions older than the horizon is in the past.
            Ok(Position(xmin - 1, i64::MAX))
        })
    }

    /// Past the tail, which stops before the oldest transaction still running anywhere on the
    /// server: the last event in read order that this statement's snapshot sees committed.
    fn last_committed(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        Box::pin(async move {
            let last: Option<(i64, i64)> = sqlx::query_as(LAST_COMMITTED).fetch_optional(&self.db.pool).await?;
            Ok(last.map_or(Position::default(), |(xid, id)| Position(xid, id)))
        })
    }

    fn read(&self, after: Position, limit: usize) -> BoxFuture<'_, Result<Batch, SourceError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = sqlx::query(READ).bind(after.0).bind(after.1).bind(limit).fetch_all(&self.db.pool).await?;
            let mut events = Vec::with_capacity(rows.len());
            let mut next = after;
            let mut held_back = false;
            for row in &rows {
                if row.try_get::<bool, _>(8)? {
                    held_back = true;
                    break;
                }
                next = Position(row.try_get(1)?, row.try_get(0)?);
                events.push(event_from_row(row)?);
            }
            self.held_back.store(held_back, Ordering::Relaxed);
            Ok(Batch { events, next })
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<Box<dyn Doorbell>, SourceError>> {
        Box::pin(async move {
            let mut listener = PgListener::connect_with(&self.db.pool).await?;
            listener.listen(CHANNEL).await?;
            let doorbell: Box<dyn Doorbell> = Box::new(PgDoorbell { listener, held_back: Arc::clone(&self.held_back) });
            Ok(doorbell)
        })
    }

    fn prune(&self, age: Duration) -> BoxFuture<'_, Result<u64, SourceError>> {
        Box::pin(async move {
            let done = sqlx::query(PRUNE).bind(age.as_secs_f64()).execute(&self.db.pool).await?;
            Ok(done.rows_affected())
        })
    }

    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move { Ok(Executor::Pool(&self.db).publish(channel, payload).await?) })
    }
}

/// A `LISTEN` connection of its own.
struct PgDoorbell {
    listener: PgListener,
    held_back: Arc<AtomicBool>,
}

impl Doorbell for PgDoorbell {
    fn ring(&mut self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            let notified = self.listener.try_recv();
            let result = if self.held_back.load(Ordering::Relaxed) {
                match tokio::time::timeout(HELD_BACK_RETRY, notified).await {
                    Ok(result) => result,
                    Err(_) => return Ok(()),
                }
            } else {
                notified.await
            };
            match result? {
                Some(_) => Ok(()),
                None => Err("the notification connection was lost".into()),
            }
        })
    }

    fn heartbeat(&mut self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&mut self.listener).await?;
            Ok(())
        })
    }
}

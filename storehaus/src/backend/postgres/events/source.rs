//! [`PgEventSource`]: the event log and its doorbell, read by a signal manager's listener.

use super::CHANNEL;
use super::consumers::PgConsumerLog;
use crate::backend::executor::{Db, Executor};
use crate::backend::postgres::Postgres;
use crate::signals::durable::ConsumerLog;
use crate::signals::{Batch, BoxFuture, DatabaseEvent, Doorbell, EventSource, EventType, Position, SourceError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgListener, PgPool};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How soon to look again when events wait behind a transaction that is still writing events.
const HELD_BACK_RETRY: Duration = Duration::from_millis(25);

/// The horizon: every event id at or below it is final (see `log.rs`). Runs as a statement of
/// its own, so the read that follows takes its snapshot after the horizon was known.
const HORIZON: &str = concat!("SELECT \"", event_log!(), "_horizon\"()");

/// Reads events after `$1` of partition `$4` of `$3` (all of them when `$3` is 1), at most
/// `$2`, in id order, each with whether it lies past the horizon: such events may still be
/// joined by smaller ids of a transaction that is writing events, so they are left for a later
/// read instead of being skipped. One round trip: see `log.rs`.
const READ: &str = concat!("SELECT * FROM \"", event_log!(), "_read\"($1, $2, $3, $4)");

/// Events after `$1`, at most `$2`, in id order, without a horizon: the reader takes those that
/// follow the position without a gap (see [`PgEventSource::read_unbroken`]).
const READ_UNBROKEN: &str = concat!(
    "SELECT ",
    event_columns!(),
    ", false FROM \"",
    event_log!(),
    "\" WHERE \"id\" > $1 ORDER BY \"id\" LIMIT $2"
);

/// [`READ`] in two statements, for sessions whose default isolation is not READ COMMITTED: the
/// horizon (`$3`) comes from a statement of its own, run first.
const READ_AFTER_HORIZON: &str = read_events!("$1", "$2", "$3", "$4", "$5");

/// The last event the statement's snapshot sees committed.
const LAST_COMMITTED: &str = concat!("SELECT COALESCE(max(\"id\"), 0) FROM \"", event_log!(), "\"");

/// The event log of one PostgreSQL database.
#[derive(Debug, Clone)]
pub(crate) struct PgEventSource {
    pub(super) db: Db<Postgres>,
    /// Set when a read saw events waiting behind a running transaction: the doorbell then rings
    /// again shortly, since that transaction's end may not ring on its own (a rollback does not).
    held_back: Arc<AtomicBool>,
    /// Whether reads take one round trip; cleared for good once the database refuses it (a
    /// session default isolation other than READ COMMITTED).
    one_round_trip: Arc<AtomicBool>,
}

/// The error code `storehaus_events_read` refuses a snapshot with.
const NOT_READ_COMMITTED: &str = "0A000";

pub(super) fn event_from_row(row: &sqlx::postgres::PgRow) -> Result<DatabaseEvent, SourceError> {
    let event_type: String = row.try_get(1)?;
    Ok(DatabaseEvent {
        id: row.try_get(0)?,
        event_type: EventType::from_name(&event_type).ok_or_else(|| format!("unknown event type {event_type:?}"))?,
        table_name: row.try_get(2)?,
        record_id: row.try_get(3)?,
        tags: row.try_get(4)?,
        payload: row.try_get(5)?,
        timestamp: row.try_get::<DateTime<Utc>, _>(6)?,
    })
}

/// A position of the log: the last event id read. (The first half is 0; earlier versions kept a
/// transaction id there, and a position saved by one resumes by its event id.)
fn position(id: i64) -> Position {
    Position(0, id)
}

impl PgEventSource {
    pub(crate) fn new(pool: PgPool) -> Self {
        PgEventSource {
            db: Db::new(pool),
            held_back: Arc::new(AtomicBool::new(false)),
            one_round_trip: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The horizon: events at or below it are final.
    async fn horizon(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(HORIZON).fetch_one(&self.db.pool).await
    }

    /// Up to `limit` final events after id `after` in `partition` of `partitions`, and whether
    /// events past the horizon are already visible (a transaction writing events is still
    /// running below them).
    pub(crate) async fn read_final(
        &self,
        after: i64,
        limit: usize,
        (partition, partitions): (u32, u32),
    ) -> Result<(Vec<DatabaseEvent>, bool), SourceError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        if partitions == 1
            && let Some(events) = self.read_unbroken(after, limit).await?
        {
            return Ok((events, false));
        }
        let (partitions, partition) = (i64::from(partitions), i64::from(partition));
        let mut rows = None;
        if self.one_round_trip.load(Ordering::Relaxed) {
            let read = sqlx::query(READ).bind(after).bind(limit).bind(partitions).bind(partition);
            match read.fetch_all(&self.db.pool).await {
                Ok(read) => rows = Some(read),
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(NOT_READ_COMMITTED) => {
                    self.one_round_trip.store(false, Ordering::Relaxed);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let rows = match rows {
            Some(rows) => rows,
            None => {
                let horizon = self.horizon().await?;
                sqlx::query(READ_AFTER_HORIZON)
                    .bind(after)
                    .bind(limit)
                    .bind(horizon)
                    .bind(partitions)
                    .bind(partition)
                    .fetch_all(&self.db.pool)
                    .await?
            }
        };
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<bool, _>(7)? {
                return Ok((events, true));
            }
            events.push(event_from_row(row)?);
        }
        Ok((events, false))
    }

    /// The common case in one plain statement, no horizon needed: the events whose ids follow
    /// `after` without a gap are final, since every id up to the last of them is visible, so
    /// committed. `None` when the first visible event does not follow `after` (an id in between
    /// belongs to a transaction still running, or to one rolled back): the horizon decides then.
    /// Events past a later gap are left for the next read.
    async fn read_unbroken(&self, after: i64, limit: i64) -> Result<Option<Vec<DatabaseEvent>>, SourceError> {
        let rows = sqlx::query(READ_UNBROKEN).bind(after).bind(limit).fetch_all(&self.db.pool).await?;
        let mut events = Vec::with_capacity(rows.len());
        let mut next = after.checked_add(1);
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            if Some(id) != next {
                break;
            }
            events.push(event_from_row(row)?);
            next = id.checked_add(1);
        }
        Ok((rows.is_empty() || !events.is_empty()).then_some(events))
    }
}

impl EventSource for PgEventSource {
    /// The horizon: everything at or below it is in the past.
    fn tail(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        Box::pin(async move { Ok(position(self.horizon().await?)) })
    }

    /// Past the tail, which stops below the events of transactions still writing events: the
    /// last event that this statement's snapshot sees committed.
    fn last_committed(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        Box::pin(async move {
            let last: i64 = sqlx::query_scalar(LAST_COMMITTED).fetch_one(&self.db.pool).await?;
            Ok(position(last))
        })
    }

    fn read(&self, after: Position, limit: usize) -> BoxFuture<'_, Result<Batch, SourceError>> {
        Box::pin(async move {
            let (events, held_back) = self.read_final(after.1, limit, (0, 1)).await?;
            self.held_back.store(held_back, Ordering::Relaxed);
            let next = events.last().map_or(after, |event| position(event.id));
            Ok(Batch { events, next })
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<Box<dyn Doorbell>, SourceError>> {
        Box::pin(PgDoorbell::listen(&self.db.pool, Arc::clone(&self.held_back), None))
    }

    /// Deletes events older than `age` that no durable consumer still waits for (see
    /// `consumers::prune`).
    fn prune(&self, age: Duration) -> BoxFuture<'_, Result<u64, SourceError>> {
        Box::pin(async move { Ok(super::consumers::prune(&self.db.pool, age).await?) })
    }

    fn consumers(&self) -> Option<Arc<dyn ConsumerLog>> {
        Some(Arc::new(PgConsumerLog::new(self.clone())))
    }

    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move { Ok(Executor::Pool(&self.db).publish(channel, payload).await?) })
    }
}

/// A `LISTEN` connection of its own, ringing on the event log's notification.
pub(super) struct PgDoorbell {
    listener: PgListener,
    held_back: Arc<AtomicBool>,
    /// Rings after this long without a notification too (for writes that send none).
    poll: Option<Duration>,
}

impl PgDoorbell {
    /// Listens on a connection of `pool`; rings soon again while `held_back` is set, and every
    /// `poll` if given.
    pub(super) async fn listen(
        pool: &PgPool,
        held_back: Arc<AtomicBool>,
        poll: Option<Duration>,
    ) -> Result<Box<dyn Doorbell>, SourceError> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Box::new(PgDoorbell { listener, held_back, poll }))
    }
}

impl Doorbell for PgDoorbell {
    fn ring(&mut self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            let notified = self.listener.try_recv();
            let wait = if self.held_back.load(Ordering::Relaxed) { Some(HELD_BACK_RETRY) } else { self.poll };
            let result = match wait {
                Some(wait) => match tokio::time::timeout(wait, notified).await {
                    Ok(result) => result,
                    Err(_) => return Ok(()),
                },
                None => notified.await,
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

//! Retention of the durable log that respects durable consumers, as on PostgreSQL: an event
//! older than the retention goes once every consumer passed it or it is older than the maximum
//! lag of each consumer that did not; a partition left behind records the range it missed.

use super::{EXISTS, now_ms};
use crate::backend::Backend;
use crate::backend::sqlite::Sqlite;
use crate::error::StoreError;
use sqlx::SqlitePool;
use std::time::Duration;

/// `$1`: the retention in ms.
const GIVE_UP_ON_LAGGING: &str = concat!(
    "UPDATE \"storehaus_consumer_positions\" AS p SET \"missed_after\" = COALESCE(p.\"missed_after\", p.\"position\"), ",
    "\"missed_through\" = cut.\"id\", \"position\" = cut.\"id\" FROM (SELECT c.\"id\" AS \"consumer_id\", ",
    "(SELECT max(e.\"id\") FROM \"storehaus_events\" e WHERE e.\"created_at\" < ",
    now_ms!(),
    " - max($1, c.\"max_lag_ms\")) AS \"id\" FROM \"storehaus_consumers\" c) AS cut ",
    "WHERE cut.\"consumer_id\" = p.\"consumer_id\" AND cut.\"id\" > p.\"position\""
);

const DELETE_EVENTS: &str = concat!(
    "DELETE FROM \"storehaus_events\" WHERE \"created_at\" < ",
    now_ms!(),
    " - $1 AND \"id\" <= COALESCE((SELECT min(\"position\") FROM \"storehaus_consumer_positions\"), 9223372036854775807)"
);

const DELETE_HANDLED: &str = concat!(
    "DELETE FROM \"storehaus_handled_events\" AS h WHERE h.\"handled_at\" < ",
    now_ms!(),
    " - $1 AND h.\"event_id\" <= COALESCE((SELECT min(p.\"position\") FROM \"storehaus_consumer_positions\" p ",
    "JOIN \"storehaus_consumers\" c ON c.\"id\" = p.\"consumer_id\" WHERE c.\"name\" = h.\"consumer\"), ",
    "9223372036854775807) AND NOT EXISTS (SELECT 1 FROM \"storehaus_dead_events\" d JOIN \"storehaus_consumers\" c ",
    "ON c.\"id\" = d.\"consumer_id\" WHERE c.\"name\" = h.\"consumer\" AND d.\"event_id\" = h.\"event_id\")"
);

/// Prunes the durable log, when there is one; returns how many events went.
pub(crate) async fn prune(pool: &SqlitePool, age: Duration) -> Result<u64, StoreError> {
    if sqlx::query(EXISTS).fetch_optional(pool).await.map_err(Sqlite::error)?.is_none() {
        return Ok(0);
    }
    let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    let mut tx = pool.begin().await.map_err(Sqlite::error)?;
    let lagging = sqlx::query(GIVE_UP_ON_LAGGING).bind(age).execute(&mut *tx).await.map_err(Sqlite::error)?;
    if lagging.rows_affected() > 0 {
        tracing::error!(
            partitions = lagging.rows_affected(),
            "durable consumers fell behind their maximum lag; the events they missed are pruned"
        );
    }
    let deleted = sqlx::query(DELETE_EVENTS).bind(age).execute(&mut *tx).await.map_err(Sqlite::error)?;
    sqlx::query(DELETE_HANDLED).bind(age).execute(&mut *tx).await.map_err(Sqlite::error)?;
    tx.commit().await.map_err(Sqlite::error)?;
    Ok(deleted.rows_affected())
}

//! Retention that respects durable consumers.
//!
//! An event older than the retention is deleted once every durable consumer has passed it, or
//! once it is older than the maximum lag of each consumer that has not. A consumer partition left
//! behind that way is moved past what was deleted, and the range it missed is kept on its row
//! until the consumer reports it.

use crate::backend::Backend;
use crate::backend::postgres::Postgres;
use crate::error::StoreError;
use sqlx::PgPool;
use std::time::Duration;

/// Moves every partition that lags past its consumer's maximum lag to the last event about to
/// go, remembering the range it missed. `$1`: the retention in seconds.
const GIVE_UP_ON_LAGGING: &str = concat!(
    "UPDATE \"storehaus_consumer_positions\" p SET ",
    "\"missed_after\" = COALESCE(p.\"missed_after\", p.\"position\"), \"missed_through\" = cut.\"id\", ",
    "\"position\" = cut.\"id\", \"updated_at\" = now() ",
    "FROM \"storehaus_consumers\" c, LATERAL (SELECT max(e.\"id\") AS \"id\" FROM \"",
    event_log!(),
    "\" e WHERE e.\"created_at\" < now() - make_interval(secs => GREATEST($1, c.\"max_lag_seconds\"))) cut ",
    "WHERE c.\"id\" = p.\"consumer_id\" AND cut.\"id\" > p.\"position\""
);

/// Deletes what retention and every consumer allow. `$1`: the retention in seconds.
const DELETE_EVENTS: &str = concat!(
    "DELETE FROM \"",
    event_log!(),
    "\" WHERE \"created_at\" < now() - make_interval(secs => $1) AND \"id\" <= ",
    "COALESCE((SELECT min(\"position\") FROM \"storehaus_consumer_positions\"), 9223372036854775807)"
);

/// Forgets handled-event records that can no longer be delivered again: older than the
/// retention, passed by every partition of their consumer, and not waiting as a dead letter.
const DELETE_HANDLED: &str = "DELETE FROM \"storehaus_handled_events\" h \
     WHERE h.\"handled_at\" < now() - make_interval(secs => $1) \
     AND h.\"event_id\" <= COALESCE((SELECT min(p.\"position\") FROM \"storehaus_consumer_positions\" p \
       JOIN \"storehaus_consumers\" c ON c.\"id\" = p.\"consumer_id\" WHERE c.\"name\" = h.\"consumer\"), \
       9223372036854775807) \
     AND NOT EXISTS (SELECT 1 FROM \"storehaus_dead_events\" d JOIN \"storehaus_consumers\" c \
       ON c.\"id\" = d.\"consumer_id\" WHERE c.\"name\" = h.\"consumer\" AND d.\"event_id\" = h.\"event_id\")";

/// Prunes the log as above, in one transaction; returns how many events were deleted.
pub(crate) async fn prune(pool: &PgPool, age: Duration) -> Result<u64, StoreError> {
    let seconds = age.as_secs_f64();
    let mut tx = pool.begin().await.map_err(Postgres::error)?;
    let lagging = sqlx::query(GIVE_UP_ON_LAGGING).bind(seconds).execute(&mut *tx).await.map_err(Postgres::error)?;
    if lagging.rows_affected() > 0 {
        tracing::error!(
            partitions = lagging.rows_affected(),
            "durable consumers fell behind their maximum lag; the events they missed are pruned"
        );
    }
    let deleted = sqlx::query(DELETE_EVENTS).bind(seconds).execute(&mut *tx).await.map_err(Postgres::error)?;
    sqlx::query(DELETE_HANDLED).bind(seconds).execute(&mut *tx).await.map_err(Postgres::error)?;
    tx.commit().await.map_err(Postgres::error)?;
    Ok(deleted.rows_affected())
}

//! Creating the event-log table and its doorbell trigger.

use crate::backend::Backend;
use crate::backend::postgres::Postgres;
use crate::error::StoreError;
use sqlx::{Connection, PgPool};

/// The doorbell's channel, the same literal as [`super::CHANNEL`].
macro_rules! channel {
    () => {
        "storehaus_events"
    };
}

/// The log, its indexes and its doorbell. `xid` is the writing transaction's id: readers only take
/// events of transactions older than every transaction still running, so an event that commits
/// late is never skipped.
const STATEMENTS: &[&str] = &[
    concat!(
        "CREATE TABLE IF NOT EXISTS \"",
        event_log!(),
        "\" (\"id\" BIGSERIAL PRIMARY KEY, ",
        "\"xid\" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint), ",
        "\"event_type\" TEXT NOT NULL, \"table_name\" TEXT NOT NULL, \"record_id\" TEXT NOT NULL, ",
        "\"tags\" TEXT[] NOT NULL DEFAULT '{}', \"payload\" JSONB NOT NULL, ",
        "\"created_at\" TIMESTAMPTZ NOT NULL DEFAULT now())"
    ),
    concat!("CREATE INDEX IF NOT EXISTS \"", event_log!(), "_xid_id_idx\" ON \"", event_log!(), "\" (\"xid\", \"id\")"),
    concat!(
        "CREATE INDEX IF NOT EXISTS \"",
        event_log!(),
        "_created_at_idx\" ON \"",
        event_log!(),
        "\" (\"created_at\")"
    ),
    concat!(
        "CREATE OR REPLACE FUNCTION \"",
        event_log!(),
        "_ring\"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('",
        channel!(),
        "', ''); RETURN NULL; END $$"
    ),
    concat!("DROP TRIGGER IF EXISTS \"", event_log!(), "_ring\" ON \"", event_log!(), "\""),
    concat!(
        "CREATE TRIGGER \"",
        event_log!(),
        "_ring\" AFTER INSERT ON \"",
        event_log!(),
        "\" FOR EACH STATEMENT EXECUTE FUNCTION \"",
        event_log!(),
        "_ring\"()"
    ),
];

/// Creates the event log if it is missing, serialized across processes like migrations.
pub(crate) async fn ensure_event_log(pool: &PgPool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await.map_err(Postgres::error)?;
    let exists: bool = sqlx::query_scalar(concat!("SELECT to_regclass('\"", event_log!(), "\"') IS NOT NULL"))
        .fetch_one(&mut *conn)
        .await
        .map_err(Postgres::error)?;
    if exists {
        return Ok(());
    }
    let mut tx = conn.begin().await.map_err(Postgres::error)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('storehaus:event-log'))")
        .execute(&mut *tx)
        .await
        .map_err(Postgres::error)?;
    for sql in STATEMENTS {
        sqlx::query(*sql).execute(&mut *tx).await.map_err(Postgres::error)?;
    }
    tx.commit().await.map_err(Postgres::error)?;
    Ok(())
}

/// Appends an application event to the log: `$1` the channel, `$2` the payload.
pub(crate) const PUBLISH: &str = concat!(
    "INSERT INTO \"",
    event_log!(),
    "\" (\"event_type\", \"table_name\", \"record_id\", \"payload\") VALUES ('channel', $1, '', $2) RETURNING \"id\""
);

#[cfg(test)]
mod tests;

//! Creating the event log: its table, its doorbell, and how its writers announce themselves.
//!
//! # Reading in order without waiting for strangers
//!
//! Event ids come from a sequence, so they are handed out in one order and committed in another:
//! a reader that has passed id 7 must not miss id 6 when its transaction commits later. A reader
//! therefore only takes ids up to a **horizon** below which nothing can still appear. Every
//! statement that appends events first *announces* its transaction (once per transaction): a
//! `BEFORE INSERT … FOR EACH STATEMENT` trigger reads the sequence's last value `f` and takes a
//! shared transaction-level advisory lock whose key carries `f`. The transaction's own ids, drawn
//! after the trigger, are all above `f`, and the lock stays visible in `pg_locks` until the
//! transaction has ended (after its commit became visible).
//!
//! [`HORIZON`] reads the sequence's last value `r` first, then the announcements: the horizon is
//! `r`, lowered to the smallest `f` still announced. An id at or below it belongs either to an
//! announced transaction (impossible: its ids are above its `f`) or to one that has ended, whose
//! commit the next statement's snapshot sees; a writer not yet announced draws its ids after the
//! announcement, so above `r`. Only transactions that write events can hold the horizon back; any
//! other open transaction on the server, however old, cannot.

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

/// The first key of the announcement locks: `SHEV` as an `int4`, so `pg_locks` shows them under
/// this `classid`. The second key is the low 32 bits of the announced floor.
macro_rules! announce_key {
    () => {
        "1397245270"
    };
}

/// The sequence's last value, 0 before the first id.
macro_rules! last_id {
    () => {
        concat!("COALESCE(pg_sequence_last_value(pg_get_serial_sequence('\"", event_log!(), "\"', 'id')::regclass), 0)")
    };
}

/// The log, its index for retention, its doorbell and the announcement trigger; run again on a
/// log an earlier version created, they bring it up to date (the `(xid, id)` index of the earlier
/// read order is no longer used).
pub(super) const STATEMENTS: &[&str] = &[
    concat!(
        "CREATE TABLE IF NOT EXISTS \"",
        event_log!(),
        "\" (\"id\" BIGSERIAL PRIMARY KEY, ",
        "\"xid\" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint), ",
        "\"event_type\" TEXT NOT NULL, \"table_name\" TEXT NOT NULL, \"record_id\" TEXT NOT NULL, ",
        "\"tags\" TEXT[] NOT NULL DEFAULT '{}', \"payload\" JSONB NOT NULL, ",
        "\"created_at\" TIMESTAMPTZ NOT NULL DEFAULT now())"
    ),
    concat!("DROP INDEX IF EXISTS \"", event_log!(), "_xid_id_idx\""),
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
    // Once per transaction (a transaction-local setting remembers it; a rolled-back savepoint
    // forgets it together with the lock, and the next statement announces again).
    concat!(
        "CREATE OR REPLACE FUNCTION \"",
        event_log!(),
        "_announce\"() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE floor BIGINT; BEGIN ",
        "IF COALESCE(current_setting('storehaus.events_floor', true), '') = '' THEN ",
        "floor := ",
        last_id!(),
        "; PERFORM pg_advisory_xact_lock_shared(",
        announce_key!(),
        ", ((floor + 2147483648) % 4294967296 - 2147483648)::int4); ",
        "PERFORM set_config('storehaus.events_floor', floor::text, true); ",
        "END IF; RETURN NULL; END $$"
    ),
    concat!("DROP TRIGGER IF EXISTS \"", event_log!(), "_announce\" ON \"", event_log!(), "\""),
    concat!(
        "CREATE TRIGGER \"",
        event_log!(),
        "_announce\" BEFORE INSERT ON \"",
        event_log!(),
        "\" FOR EACH STATEMENT EXECUTE FUNCTION \"",
        event_log!(),
        "_announce\"()"
    ),
    // The horizon: the last id first, then the announcements, in this order (statements of a
    // function run one after the other). A floor is rebuilt from its low 32 bits as the value
    // nearest the last id.
    concat!(
        "CREATE OR REPLACE FUNCTION \"",
        event_log!(),
        "_horizon\"() RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$ DECLARE last BIGINT; floor BIGINT; BEGIN ",
        "last := ",
        last_id!(),
        "; SELECT min(last + (l.objid::bigint - (last & 4294967295) + 6442450944) % 4294967296 - 2147483648) ",
        "INTO floor FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = ",
        announce_key!(),
        " AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()); ",
        "RETURN LEAST(last, floor); END $$"
    ),
    // One round trip for the horizon and the read: a volatile function's statements each take
    // a fresh snapshot, in this order, under READ COMMITTED. Under another default isolation
    // the snapshot would be the transaction's, taken first; the function refuses, and readers
    // ask for the horizon in a statement of its own instead.
    concat!(
        "CREATE OR REPLACE FUNCTION \"",
        event_log!(),
        "_read\"(\"after\" BIGINT, \"max_rows\" BIGINT, \"parts\" BIGINT, \"part\" BIGINT) ",
        "RETURNS TABLE (\"id\" BIGINT, \"event_type\" TEXT, \"table_name\" TEXT, \"record_id\" TEXT, ",
        "\"tags\" TEXT[], \"payload\" JSONB, \"created_at\" TIMESTAMPTZ, \"pending\" BOOLEAN) ",
        "LANGUAGE plpgsql VOLATILE AS $$ #variable_conflict use_column\nDECLARE horizon BIGINT; BEGIN ",
        "IF current_setting('transaction_isolation') <> 'read committed' THEN ",
        "RAISE EXCEPTION 'the event log is read under READ COMMITTED' USING ERRCODE = '0A000'; END IF; ",
        "horizon := \"",
        event_log!(),
        "_horizon\"(); RETURN QUERY ",
        read_events!("\"after\"", "\"max_rows\"", "horizon", "\"parts\"", "\"part\""),
        "; END $$"
    ),
];

/// Whether the log is present and up to date: the last objects [`STATEMENTS`] and the
/// consumers' statements create exist.
const UP_TO_DATE: &str = concat!(
    "SELECT to_regprocedure('\"",
    event_log!(),
    "_read\"(bigint, bigint, bigint, bigint)') IS NOT NULL AND to_regclass('\"storehaus_handled_events\"') IS NOT NULL"
);

/// Creates the event log and the tables of durable consumers if they are missing, or brings an earlier version's up to date, serialized
/// across processes like migrations.
pub(crate) async fn ensure_event_log(pool: &PgPool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await.map_err(Postgres::error)?;
    let ready: bool = sqlx::query_scalar(UP_TO_DATE).fetch_one(&mut *conn).await.map_err(Postgres::error)?;
    if ready {
        return Ok(());
    }
    let mut tx = conn.begin().await.map_err(Postgres::error)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('storehaus:event-log'))")
        .execute(&mut *tx)
        .await
        .map_err(Postgres::error)?;
    for sql in STATEMENTS.iter().chain(super::consumers::STATEMENTS) {
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

//! What each backend gives the data store: its statement texts, how it binds the clock and a
//! time to live, and how its writes record change events.

use crate::backend::Backend;
use crate::backend::sql::SqlText;
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The statement texts of the data store on one backend. Writes that only report how many rows
/// they changed end in `RETURNING {returning}`: the record columns when events are recorded,
/// else [`DataTexts::min_returning`].
#[derive(Debug)]
pub(crate) struct DataTexts {
    pub set: &'static str,
    pub set_many: &'static str,
    pub get: &'static str,
    pub has: &'static str,
    pub get_many: &'static str,
    pub delete: &'static str,
    pub delete_many: &'static str,
    pub clear: &'static str,
    pub entries: &'static str,
    pub entries_prefix: &'static str,
    pub keys: &'static str,
    pub keys_prefix: &'static str,
    pub touch: &'static str,
    pub ttl: &'static str,
    pub increment: &'static str,
    pub list_push: &'static str,
    pub list_lock: &'static str,
    pub list_write: &'static str,
    pub list_clear: &'static str,
    pub export_scope: &'static str,
    pub export_scope_after: &'static str,
    pub export_all: &'static str,
    pub export_all_after: &'static str,
    pub import_overwrite: &'static str,
    pub import_keep: &'static str,
    pub cleanup: &'static str,
    /// What writes return when no events are recorded.
    pub min_returning: &'static str,
}

/// The events a data-store write records, per returned row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataEvent {
    /// `create` for a row the write inserted, `update` for one it replaced.
    Upsert,
    Update,
    Delete,
}

/// A backend of the data store.
pub(crate) trait DataDialect: Backend {
    const DATA: DataTexts;
    /// Whether the database takes one writer at a time (SQLite): the cleanup then pauses between
    /// batches, so writers waiting for the lock get it instead of losing every race to the next
    /// batch.
    const ONE_WRITER: bool;

    /// A time as the statement text of an import takes it inside JSON (SQLite: as stored).
    fn time_text(at: DateTime<Utc>) -> String;

    /// Binds the statement's clock, where the backend binds it (SQLite's `?1`).
    fn bind_clock(args: &mut Self::Arguments, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Binds a time to live as the statement takes it (`None`: never expires).
    fn bind_ttl(args: &mut Self::Arguments, now: DateTime<Utc>, ttl: Option<Duration>) -> Result<(), StoreError>;

    /// `write` (returning the record columns) made to record one event of `kind` per returned
    /// row in the same statement, where the database records events itself.
    fn with_data_events(write: &str, kind: DataEvent) -> SqlText;
}

/// When an entry written at `now` with `ttl` expires; `Validation` for a TTL beyond what
/// the databases store.
pub(crate) fn expires_at(now: DateTime<Utc>, ttl: Duration) -> Result<DateTime<Utc>, StoreError> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .filter(|at| chrono::Datelike::year(at) <= 9999)
        .ok_or_else(|| StoreError::validation("ttl", format!("a time to live of {ttl:?} ends after the year 9999")))
}

/// A time to live in microseconds (PostgreSQL adds it to its own clock).
pub(crate) fn ttl_micros(ttl: Duration) -> Result<i64, StoreError> {
    i64::try_from(ttl.as_micros())
        .map_err(|_| StoreError::validation("ttl", format!("a time to live of {ttl:?} is too long")))
}

//! Change signals on PostgreSQL: an event-log table written in the same transaction as the data,
//! and `NOTIFY` as a doorbell that tells listeners to read it.
//!
//! The log is the truth; the doorbell carries no data (one channel, empty payload, so PostgreSQL
//! folds it to one notification per transaction and its 8 000-byte limit never applies).

/// The event-log table's name, as a literal for the fixed statements of this module.
macro_rules! event_log {
    () => {
        "storehaus_events"
    };
}

/// Which partition of a durable consumer an event belongs to, before `% partitions`: a hash
/// of its table and key, so one row's events always meet in one partition. PostgreSQL keeps
/// `hashtextextended` stable across versions (hash partitioning depends on it).
macro_rules! partition_of {
    () => {
        "(hashtextextended(\"table_name\" || chr(31) || \"record_id\", 0) & 9223372036854775807)"
    };
}

/// The columns of an event as readers take them, in the order `source::event_from_row` reads
/// them.
macro_rules! event_columns {
    () => {
        "\"id\", \"event_type\", \"table_name\", \"record_id\", \"tags\", \"payload\", \"created_at\""
    };
}

/// Reads events after `after` in partition `part` of `parts` (all of them when `parts` is 1),
/// at most `limit`, in id order, each with whether it lies past `horizon`. The arguments are SQL
/// expressions: a statement's parameters, or the variables of the read function (`log.rs`).
macro_rules! read_events {
    ($after:literal, $limit:literal, $horizon:literal, $parts:literal, $part:literal) => {
        concat!(
            "SELECT ",
            event_columns!(),
            ", \"id\" > ",
            $horizon,
            " AS \"pending\" FROM \"",
            event_log!(),
            "\" WHERE \"id\" > ",
            $after,
            " AND (",
            $parts,
            " = 1 OR ",
            partition_of!(),
            " % ",
            $parts,
            " = ",
            $part,
            ") ORDER BY \"id\" LIMIT ",
            $limit
        )
    };
}

mod consumers;
mod emit;
mod log;
mod logical;
mod source;

pub(crate) use consumers::MARK_HANDLED;
pub(crate) use emit::{with_event_type, with_events};
pub(crate) use log::{PUBLISH, ensure_event_log};
pub(crate) use logical::logical_source;
pub(crate) use source::PgEventSource;

/// The event-log table.
pub(crate) const EVENT_LOG: &str = event_log!();

/// The notification channel listeners subscribe to.
pub(crate) const CHANNEL: &str = "storehaus_events";

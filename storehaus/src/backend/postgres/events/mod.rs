//! Change signals on PostgreSQL: an event-log table written in the same transaction as the data,
//! and `NOTIFY` as a doorbell that tells listeners to read it.
//!
//! The log is the truth; the doorbell carries no data (one channel, empty payload, so PostgreSQL
//! folds it to one notification per transaction and its 8 000-byte limit never applies).

mod emit;
mod log;
mod source;

pub(crate) use emit::{EventKind, events_if, with_events};
pub(crate) use log::{ensure_event_log, publish};
pub(crate) use source::PgEventSource;

/// The event-log table.
pub(crate) const EVENT_LOG: &str = "storehaus_events";

/// The notification channel listeners subscribe to.
pub(crate) const CHANNEL: &str = "storehaus_events";

//! [`EventSource`]: where a [`SignalManager`](crate::SignalManager) reads committed events from.
//!
//! The database backend implements it (PostgreSQL: an event-log table written in the same
//! transaction as the data, announced with `NOTIFY`); the manager's listener drives it.

use crate::DatabaseEvent;
use crate::durable::ConsumerLog;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed, sendable future, so the trait can be used as `dyn EventSource`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An error of the event source (connection lost, query failed, …); the listener reconnects.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// A position in the event log: every event before it has been read.
///
/// Opaque to the manager; only the source that made it interprets it (PostgreSQL uses the
/// writing transaction's id and the event id, since ids alone are not assigned in commit order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Position(pub i64, pub i64);

/// A batch of committed events and the position after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Committed events after the requested position, oldest first.
    pub events: Vec<DatabaseEvent>,
    /// Where the next read continues.
    pub next: Position,
}

/// The log of committed events and its doorbell.
pub trait EventSource: Send + Sync + 'static {
    /// The current end of the log: a listener that starts here receives only later events.
    fn tail(&self) -> BoxFuture<'_, Result<Position, SourceError>>;

    /// The position of the last event committed so far: a reader that has reached it has read
    /// every event committed before the call. A shutting-down manager reads up to here.
    ///
    /// Where events become readable in position order, as in [`MemorySource`](crate::MemorySource),
    /// this is the [`tail`](Self::tail), the default. A log whose `tail` lies before events
    /// already committed (PostgreSQL's stops below the events of a transaction still writing events) says
    /// where its last committed event is.
    fn last_committed(&self) -> BoxFuture<'_, Result<Position, SourceError>> {
        self.tail()
    }

    /// Up to `limit` committed events after `after`, in commit order for each writer. Events of
    /// transactions still in progress are never skipped: they appear in a later read.
    fn read(&self, after: Position, limit: usize) -> BoxFuture<'_, Result<Batch, SourceError>>;

    /// Opens the doorbell: a connection that rings when new events may have been committed.
    fn subscribe(&self) -> BoxFuture<'_, Result<Box<dyn Doorbell>, SourceError>>;

    /// Deletes events older than `age`; returns how many.
    fn prune(&self, age: Duration) -> BoxFuture<'_, Result<u64, SourceError>>;

    /// Writes an application event to the log (outside any transaction).
    fn publish<'a>(&'a self, channel: &'a str, payload: serde_json::Value) -> BoxFuture<'a, Result<(), SourceError>>;

    /// Where durable consumers are kept, for a log that keeps them (PostgreSQL's); `None`, the
    /// default, for one that does not.
    fn consumers(&self) -> Option<Arc<dyn ConsumerLog>> {
        None
    }
}

/// A subscription that rings when new events may exist.
pub trait Doorbell: Send {
    /// Waits for the next ring. `Ok(())` means "read the log"; an error means the connection is
    /// gone (the listener reconnects and catches up from the log).
    fn ring(&mut self) -> BoxFuture<'_, Result<(), SourceError>>;

    /// Checks that the connection still answers; an error or a hang past half the heartbeat
    /// interval makes the listener reconnect.
    fn heartbeat(&mut self) -> BoxFuture<'_, Result<(), SourceError>>;
}

//! Durable consumers: named readers of the event log whose position is kept in the database.
//!
//! A [`SignalManager`](crate::SignalManager)'s callbacks see the events committed while the
//! process runs; a failed callback is counted and the event moves on. A durable consumer is for
//! work that must happen once per event whatever crashes in between (the order e-mail, the
//! search index, the webhook): its position advances only after its callback succeeded, a failing
//! callback is retried and finally set aside as a [`DeadLetter`], and a consumer that is down
//! finds its events waiting when it comes back (retention keeps them, within its maximum lag).
//!
//! Events are spread over the consumer's partitions by their row (table and key), so one row's
//! events always meet in one partition, in log order. Each partition is held by one process at a
//! time; processes running the same consumer share the partitions between them.
//!
//! The backend implements [`ConsumerLog`] (PostgreSQL: tables beside the event log, and advisory
//! locks that a process holds as long as its connection lives); the runner is in this crate.

mod builder;
mod dead;
mod retry;
mod runner;

pub(crate) use builder::Inner;
pub use builder::{Consumer, ConsumerBuilder, ConsumerStats};
pub use dead::{DeadLetter, DeadLetters};

use crate::{BoxFuture, DatabaseEvent, SourceError};
use std::time::Duration;

/// Upper bound of a consumer's partitions.
pub const MAX_PARTITIONS: u32 = 256;

/// Upper bound of a consumer name's length, in bytes.
pub const MAX_CONSUMER_NAME: usize = 200;

/// How a consumer is registered in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerSpec {
    /// The consumer's name, the same in every process that runs it.
    pub name: String,
    /// How many partitions its events are spread over. Fixed when the consumer is first
    /// registered; a later registration with another count keeps the first.
    pub partitions: u32,
    /// How far retention may leave it behind before pruning events it has not reached.
    pub max_lag: Duration,
    /// Whether a new consumer starts at the oldest event retained instead of the current end.
    pub from_beginning: bool,
}

/// A partition this process now holds, where its consumer stands in it, and what retention
/// removed before the consumer got there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// The partition.
    pub partition: u32,
    /// The id of the last event handled (or set aside) in it.
    pub position: i64,
    /// Events the consumer lost to retention, not yet reported.
    pub missed: Option<Missed>,
}

impl Claim {
    /// A claim of `partition` at `position`.
    pub fn new(partition: u32, position: i64, missed: Option<Missed>) -> Self {
        Claim { partition, position, missed }
    }
}

/// Events that retention deleted before a consumer reached them: ids after `after` up to and
/// including `through`, in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed {
    /// The partition's position when the events were pruned.
    pub after: i64,
    /// The last event id pruned.
    pub through: i64,
}

/// Where a backend keeps durable consumers: their registration, positions, dead letters, and
/// who holds which partition.
pub trait ConsumerLog: Send + Sync + 'static {
    /// Registers a consumer, or finds it registered; returns its partition count.
    fn register<'a>(&'a self, spec: &'a ConsumerSpec) -> BoxFuture<'a, Result<u32, SourceError>>;

    /// Joins the processes running `consumer`: a membership that can hold its partitions.
    fn join<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<Box<dyn Membership>, SourceError>>;

    /// Up to `limit` events after `after` that belong to `partition` of `partitions`, in id
    /// order; only final ones (none can still appear below the last one returned).
    fn read_partition(
        &self,
        after: i64,
        partition: u32,
        partitions: u32,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<DatabaseEvent>, SourceError>>;

    /// The dead letters of `consumer`, oldest event first.
    fn dead_letters<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<Vec<DeadLetter>, SourceError>>;

    /// Asks for one dead letter (`Some(event_id)`) or all of them to be delivered again; returns
    /// how many were marked.
    fn request_replay<'a>(
        &'a self,
        consumer: &'a str,
        event_id: Option<i64>,
    ) -> BoxFuture<'a, Result<u64, SourceError>>;

    /// Deletes a dead letter; `false` when there was none.
    fn discard<'a>(&'a self, consumer: &'a str, event_id: i64) -> BoxFuture<'a, Result<bool, SourceError>>;

    /// Forgets a consumer: its positions and dead letters. Retention no longer waits for it.
    fn remove<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<bool, SourceError>>;
}

/// One process's part in running a consumer. Operations on a partition succeed only while the
/// membership holds it, so a process that lost its hold cannot move a position another one owns.
pub trait Membership: Send {
    /// How many processes run the consumer now, this one included.
    fn members(&mut self) -> BoxFuture<'_, Result<u32, SourceError>>;

    /// Takes `partition` if no other process holds it.
    fn claim(&mut self, partition: u32) -> BoxFuture<'_, Result<Option<Claim>, SourceError>>;

    /// Lets go of `partition`.
    fn release(&mut self, partition: u32) -> BoxFuture<'_, Result<(), SourceError>>;

    /// Records that every event of `partition` up to `position` was handled.
    fn advance(&mut self, partition: u32, position: i64) -> BoxFuture<'_, Result<(), SourceError>>;

    /// Sets an event aside as a dead letter and moves the partition past it, in one step.
    fn dead_letter<'a>(&'a mut self, partition: u32, letter: &'a DeadLetter) -> BoxFuture<'a, Result<(), SourceError>>;

    /// The dead letters of `partition` asked to be delivered again.
    fn replays(&mut self, partition: u32) -> BoxFuture<'_, Result<Vec<DeadLetter>, SourceError>>;

    /// Records the outcome of a replay: `None` deletes the dead letter, an error keeps it with
    /// the new error and attempt count.
    fn settle_replay<'a>(
        &'a mut self,
        event_id: i64,
        failure: Option<(&'a str, u32)>,
    ) -> BoxFuture<'a, Result<(), SourceError>>;

    /// Forgets the missed range of `partition` once it was reported.
    fn clear_missed(&mut self, partition: u32) -> BoxFuture<'_, Result<(), SourceError>>;

    /// Leaves: lets go of every partition still held and stops counting as a member, so other
    /// processes take over at once.
    fn leave(&mut self) -> BoxFuture<'_, Result<(), SourceError>>;
}

//! Dead letters: events a durable consumer's callback kept failing on, set aside with the error.

use super::ConsumerLog;
use crate::{DatabaseEvent, SignalError};
use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Arc;

/// An event a consumer's callback failed on `attempts` times in a row, the last time with
/// `error`. The consumer moved on; the event waits here until it is replayed or discarded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The consumer whose callback failed.
    pub consumer: String,
    /// The partition the event belongs to.
    pub partition: u32,
    /// The event, kept whole: a replay works after retention pruned the log.
    pub event: DatabaseEvent,
    /// The last error.
    pub error: String,
    /// Attempts made, replays included.
    pub attempts: u32,
    /// When the last attempt failed.
    pub failed_at: DateTime<Utc>,
    /// Whether a replay was asked for and has not run yet.
    pub replay_requested: bool,
}

impl DeadLetter {
    /// A dead letter of `event`.
    pub fn new(consumer: String, partition: u32, event: DatabaseEvent, error: String, attempts: u32) -> Self {
        DeadLetter { consumer, partition, event, error, attempts, failed_at: Utc::now(), replay_requested: false }
    }

    /// The same letter, as it was read back from storage.
    pub fn stored(mut self, failed_at: DateTime<Utc>, replay_requested: bool) -> Self {
        self.failed_at = failed_at;
        self.replay_requested = replay_requested;
        self
    }
}

/// The dead letters of one consumer: list, replay, discard.
///
/// A replay is carried out by the process that holds the event's partition (any process running
/// the consumer): the callback runs again with the consumer's retries, and on success the letter
/// is deleted; if it fails again, the letter stays with the new error.
#[derive(Clone)]
pub struct DeadLetters {
    pub(crate) log: Arc<dyn ConsumerLog>,
    pub(crate) consumer: String,
}

impl DeadLetters {
    /// Every dead letter of the consumer, oldest event first.
    pub async fn list(&self) -> Result<Vec<DeadLetter>, SignalError> {
        self.log.dead_letters(&self.consumer).await.map_err(SignalError::Source)
    }

    /// Asks for the dead letter of `event_id` to be delivered again; `false` when there is none.
    pub async fn replay(&self, event_id: i64) -> Result<bool, SignalError> {
        Ok(self.log.request_replay(&self.consumer, Some(event_id)).await.map_err(SignalError::Source)? > 0)
    }

    /// Asks for every dead letter to be delivered again; returns how many.
    pub async fn replay_all(&self) -> Result<u64, SignalError> {
        self.log.request_replay(&self.consumer, None).await.map_err(SignalError::Source)
    }

    /// Deletes the dead letter of `event_id` without delivering it; `false` when there is none.
    pub async fn discard(&self, event_id: i64) -> Result<bool, SignalError> {
        self.log.discard(&self.consumer, event_id).await.map_err(SignalError::Source)
    }
}

impl fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetters").field("consumer", &self.consumer).finish_non_exhaustive()
    }
}

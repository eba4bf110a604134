//! [`SignalError`]: what can go wrong in the signal layer.

use crate::{ConfigError, EventType, SourceError};
use std::time::Duration;

/// An error of the signal layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// A setting of [`SignalConfig`](crate::SignalConfig) is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// [`max_callbacks`](crate::SignalConfig::max_callbacks) callbacks are registered already.
    #[error("cannot register another callback: {limit} are registered, the limit")]
    TooManyCallbacks {
        /// The configured limit.
        limit: usize,
    },

    /// The event source (the database's event log) failed.
    #[error("event source failed: {0}")]
    Source(#[source] SourceError),

    /// A channel message could not be converted to or from JSON.
    #[error("channel `{channel}`: payload does not match its type: {source}")]
    Payload {
        /// The channel name.
        channel: String,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },

    /// A row event was read as a channel message ([`DatabaseEvent::envelope`](crate::DatabaseEvent::envelope)):
    /// the two never stand in for each other, whatever the row holds.
    #[error("a `{}` event of table `{table}` is not a channel message", event_type.as_str())]
    NotAChannelMessage {
        /// The table of the row.
        table: String,
        /// What happened to the row.
        event_type: EventType,
    },

    /// The manager was shut down; it takes no new callbacks.
    #[error("the signal manager has been shut down")]
    ShutDown,

    /// A durable consumer's name or settings are out of range.
    #[error("durable consumer `{consumer}`: {reason}")]
    InvalidConsumer {
        /// The consumer's name (its first 64 characters).
        consumer: String,
        /// What is wrong.
        reason: String,
    },

    /// The event source keeps no durable consumers (a [`MemorySource`](crate::MemorySource) on its
    /// own, for one; the databases' sources do).
    #[error("this event source keeps no durable consumers")]
    NoConsumerLog,

    /// The listener cannot reach its event source (its circuit breaker is open) and the strategy
    /// is [`FailFast`](storehaus_resilience::Strategy::FailFast); see
    /// [`SignalManager::check_available`](crate::SignalManager::check_available).
    #[error("the signal layer is unavailable: {reason}")]
    Unavailable {
        /// What is unavailable, and why.
        reason: String,
    },

    /// The budget of [`subscribe_limit`](crate::SignalConfig::subscribe_limit) that this
    /// registration draws on is spent in this process; try again after `retry_after`.
    #[error("too many subscriptions registered; retry after {} ms", .retry_after.as_millis())]
    RateLimited {
        /// When the budget admits the next registration.
        retry_after: Duration,
    },

    /// The manager was started outside a Tokio runtime, which runs its listener.
    #[error("a signal manager must be started inside a Tokio runtime")]
    NoRuntime,
}

//! [`SharedStoreError`]: what a shared store call can fail with.

use crate::error::CacheError;

/// What went wrong in a [`SharedStore`](super::SharedStore) call.
///
/// Each variant has a stable [`code`](Self::code), the seed's `STORE_*` codes, for logs and
/// for clients in other languages. A call that fails with anything but
/// [`ConnectionFailed`](Self::ConnectionFailed) changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SharedStoreError {
    /// The storage could not be reached, or did not answer within the timeout. The call may or
    /// may not have taken effect.
    #[error("shared store {operation}: connection failed: {message}")]
    ConnectionFailed {
        /// The operation, such as `"kv.get"`.
        operation: &'static str,
        /// What the storage said.
        message: String,
    },
    /// The storage refused the operation (a key holding another type, a counter overflow).
    #[error("shared store {operation} failed: {message}")]
    OperationFailed {
        /// The operation, such as `"counter.increment"`.
        operation: &'static str,
        /// What the storage said.
        message: String,
    },
    /// A scope kind that the builder did not declare.
    #[error("unknown scope kind `{kind}`: declare it with `scope_kind` on the builder")]
    UnknownScope {
        /// The kind asked for.
        kind: String,
    },
    /// A call on a store that lacks a scope the builder declared as required.
    #[error("scope `{kind}` is required: call `scope(\"{kind}\", id)` first")]
    MissingScope {
        /// The required kind.
        kind: String,
    },
    /// A channel that the event registry does not hold, on a store built with `strict_events`.
    #[error("unknown event channel `{channel}`: register it with `event` on the builder")]
    UnknownEvent {
        /// The channel asked for.
        channel: String,
    },
    /// A value or message that does not have the expected shape: a payload that does not match
    /// the registered event, or a stored value that does not decode into the type asked for.
    #[error("invalid payload for `{target}`: {message}")]
    InvalidPayload {
        /// The channel, key or stream concerned.
        target: String,
        /// Why it does not decode.
        message: String,
    },
    /// An argument the store cannot use: an empty key, a NUL byte, a zero TTL, too many keys.
    #[error("invalid {what}: {message}")]
    InvalidInput {
        /// What was wrong, such as `"key"` or `"ttl"`.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// The builder's settings are incomplete or invalid.
    #[error("invalid shared store configuration: {0}")]
    Config(String),
}

impl SharedStoreError {
    /// The stable code of this error: `STORE_CONNECTION_FAILED`, `STORE_OPERATION_FAILED`,
    /// `STORE_UNKNOWN_SCOPE`, `STORE_MISSING_SCOPE`, `STORE_UNKNOWN_EVENT`,
    /// `STORE_INVALID_PAYLOAD`, `STORE_INVALID_INPUT` or `STORE_INVALID_CONFIG`.
    pub fn code(&self) -> &'static str {
        match self {
            SharedStoreError::ConnectionFailed { .. } => "STORE_CONNECTION_FAILED",
            SharedStoreError::OperationFailed { .. } => "STORE_OPERATION_FAILED",
            SharedStoreError::UnknownScope { .. } => "STORE_UNKNOWN_SCOPE",
            SharedStoreError::MissingScope { .. } => "STORE_MISSING_SCOPE",
            SharedStoreError::UnknownEvent { .. } => "STORE_UNKNOWN_EVENT",
            SharedStoreError::InvalidPayload { .. } => "STORE_INVALID_PAYLOAD",
            SharedStoreError::InvalidInput { .. } => "STORE_INVALID_INPUT",
            SharedStoreError::Config(_) => "STORE_INVALID_CONFIG",
        }
    }

    /// Whether trying again later may succeed: the storage was unreachable or slow.
    pub fn is_transient(&self) -> bool {
        matches!(self, SharedStoreError::ConnectionFailed { .. })
    }

    /// The error of `operation` failing in the storage.
    pub(crate) fn from_cache(operation: &'static str, error: CacheError) -> Self {
        match error {
            CacheError::Unavailable(message) => SharedStoreError::ConnectionFailed { operation, message },
            error @ CacheError::Timeout(_) => {
                SharedStoreError::ConnectionFailed { operation, message: error.to_string() }
            }
            CacheError::Serialization(message) => {
                SharedStoreError::InvalidPayload { target: operation.to_owned(), message }
            }
            error => SharedStoreError::OperationFailed { operation, message: error.to_string() },
        }
    }

    pub(crate) fn input(what: &'static str, message: impl Into<String>) -> Self {
        SharedStoreError::InvalidInput { what, message: message.into() }
    }

    pub(crate) fn payload(target: &str, error: impl std::fmt::Display) -> Self {
        SharedStoreError::InvalidPayload { target: target.to_owned(), message: error.to_string() }
    }
}

/// The result of a shared store call.
pub type SharedResult<T> = Result<T, SharedStoreError>;

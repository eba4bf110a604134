//! Change signals for StoreHaus.
//!
//! Every store write records what changed as a [`DatabaseEvent`] in an event log, in the same
//! transaction as the data. A [`SignalManager`] in each process reads that log (woken by a
//! doorbell such as PostgreSQL `NOTIFY`) and runs the callbacks whose [`Subscription`] matches,
//! so callbacks in every connected process see each committed change, and never a rolled-back
//! one. Applications publish their own typed events on a [`Channel`] through the same log.
//!
//! | Piece | What it is |
//! |---|---|
//! | [`SignalManager`] | starts the listener; `add_callback`, `channel`, `get_stats`, `shutdown` |
//! | [`Subscription`] | which tables, event types, principals and tenants a callback receives |
//! | [`Channel`], [`Envelope`], [`EventScope`] | typed application events with scope and actor |
//! | [`SignalManager::consumer`], [`Consumer`], [`DeadLetters`] | durable consumers: a position in the database, retries, dead letters ([`durable`]) |
//! | [`EventSource`], [`Doorbell`] | what a database backend implements |
//! | [`MemorySource`] | an in-process event log, with fault injection for tests |
//! | [`SignalConfig`], [`SignalTransport`] | the `[signal]` section of `storehaus.toml` |
//! | [`SignalManager::listener_breaker`], [`SignalManager::check_available`] | the listener's circuit breaker and the fail-fast strategy ([`SignalConfig::breaker`], [`SignalConfig::strategy`]) |
//!
//! The crate does not depend on `storehaus` or `storehaus-cache`, so it can be used and tested
//! on its own. [`Envelope`] comes from `storehaus-envelope`, which the shared store
//! (`storehaus::cache::shared`) uses for its events too. The user guide is `docs/signals.md`.
//!
//! | Cargo feature | Enables |
//! |---|---|
//! | *(none)* | all of the above; the PostgreSQL event source lives in `storehaus` (`backend/`) |

mod callback;
mod channel;
mod config;
pub mod durable;
mod error;
mod event;
mod manager;
mod memory;
mod source;

pub use callback::{CallbackError, CallbackHandle, CallbackId, CallbackResult, Subscription};
pub use channel::{Channel, Envelope, EventScope};
pub use config::{ConfigError, SignalConfig, SignalTransport};
pub use durable::{Consumer, ConsumerBuilder, ConsumerStats, DeadLetter, DeadLetters};
pub use error::SignalError;
pub use event::{DatabaseEvent, EventType};
pub use manager::{SignalManager, SignalStats};
pub use memory::MemorySource;
pub use source::{Batch, BoxFuture, Doorbell, EventSource, Position, SourceError};

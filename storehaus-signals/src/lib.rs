//! Change signals for StoreHaus.
//!
//! Every store write announces what changed as an event that callbacks in every connected
//! process receive, after the transaction commits. The signal manager, events and listener
//! arrive with the signal layer; this crate currently provides its settings, [`SignalConfig`],
//! which is the `[signal]` section of `storehaus.toml`.
//!
//! The crate does not depend on `storehaus` or `storehaus-cache`, so it can be used and tested
//! on its own.

mod config;
mod manager;

pub use config::{ConfigError, SignalConfig};
pub use manager::SignalManager;

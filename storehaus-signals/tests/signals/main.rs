//! The signal manager against the in-memory event source.

mod channels;
mod delivery;
mod durable;
mod failures;
mod listener;
mod resilience;
mod shutdown;
mod support;

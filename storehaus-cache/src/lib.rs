//! Caching for StoreHaus.
//!
//! A read-through cache in front of PostgreSQL: stores look records up here first and every
//! committed write invalidates what it changed. The Redis and in-memory backends arrive with the
//! cache layer; this crate currently provides its settings, [`CacheConfig`], which is the
//! `[cache]` section of `storehaus.toml`.
//!
//! The crate does not depend on `storehaus` or `storehaus-signals`, so it can be used and tested
//! on its own.

mod config;
mod params;

pub use config::{CacheConfig, ConfigError};
pub use params::CacheParams;

//! Explicit primitives on the cache backend: counters, claims, counter buffers and scans. Unlike the read-through
//! calls they return [`CacheError`](crate::CacheError), since a caller cannot fall back on them.

mod buffers;
mod claims;
mod counters;

pub use claims::Claim;

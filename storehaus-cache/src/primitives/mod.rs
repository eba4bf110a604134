//! Explicit primitives on the cache backend: counters and claims. Unlike the read-through
//! calls they return [`CacheError`](crate::CacheError), since a caller cannot fall back on them.

mod claims;
mod counters;

pub use claims::Claim;

//! Retries, circuit breakers and rate limits against the real servers, with a fault proxy in
//! front of PostgreSQL or Redis. Each test prints the figure it measured
//! (`cargo test --test resilience -- --nocapture`); docs/resilience.md quotes them.

mod backoff;
mod cache_breaker;
mod rate_limits;
mod retries;
mod transactions;

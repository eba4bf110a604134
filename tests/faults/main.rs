//! What StoreHaus does when the network or the servers misbehave: a fault proxy between
//! StoreHaus and PostgreSQL or Redis (blackhole, reset, latency), killed backends, cancelled
//! futures and shutdown. Each test states a promise of docs/reliability.md and prints the figure
//! it measured (`cargo test --test faults -- --nocapture`).

mod cancellation;
mod listener;
mod postgres;
mod proxy;
mod redis;
mod shutdown;

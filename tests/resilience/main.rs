//! Retries, circuit breakers and rate limits against the real servers, with a fault proxy in
//! front of PostgreSQL or Redis. Each test prints the figure it measured
//! (`cargo test --test resilience -- --nocapture`); docs/resilience.md quotes them.

mod backoff;
mod cache_breaker;
mod rate_limits;
mod retries;
mod transactions;

use storehaus::prelude::*;
use storehaus_suite::pg;

/// Rows written by the tests of writes, told apart by their label.
#[model]
#[table(name = "retry_entries", auto_increment)]
pub struct Entry {
    #[primary_key]
    pub id: i64,
    pub label: String,
}

/// How many entries carry `label`: 0 or 1 tells whether a write was applied, and only once.
pub(crate) async fn entries_labelled(admin: &StoreHaus, label: &str) -> i64 {
    sqlx::query_scalar(r#"SELECT count(*) FROM "retry_entries" WHERE "label" = $1"#)
        .bind(label)
        .fetch_one(pg(admin))
        .await
        .unwrap()
}

//! The data store (`storehaus::data::DataStore`) on PostgreSQL and on SQLite: every method,
//! expiry, cleanup, concurrency, scope isolation, backups, hostile input, signals and the cache.
//!
//! Every test that writes checks the table itself (`storehaus_data`) with raw SQL, not only what
//! the store returned; a refusal must leave the row count as it was.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use storehaus::data::{DataStore, Expiry, ImportReport, MAX_KEY_LEN, MAX_VALUE_BYTES};
use storehaus::prelude::*;
use storehaus_suite::{TestBackend, on_both_backends, raw};

mod backup;
mod bulk;
mod cache;
mod cleanup;
mod concurrency;
mod crud;
mod expiry;
mod hostile;
mod isolation;
mod lists;
mod numbers;
mod retrieval;
mod signals;

/// The table every scope shares.
const TABLE: &str = "storehaus_data";

/// A data store on a fresh database of `db`, global scope, with the [`StoreHaus`] it came from.
async fn data<B: TestBackend>(db: &B) -> (StoreHaus, DataStore) {
    let storehaus = db.storehaus().await;
    let data = storehaus.data_store().await.unwrap();
    (storehaus, data)
}

/// Rows in `storehaus_data`, expired ones included.
async fn rows(storehaus: &StoreHaus) -> i64 {
    raw::int(storehaus, &format!("SELECT COUNT(*) FROM \"{TABLE}\"")).await
}

fn user(id: i64) -> Owner {
    Owner::new("user", id)
}

/// Owned key list, for comparing with `keys()`.
fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| (*k).to_owned()).collect()
}

/// A flat map of `(key, value)`, for comparing with `all()`.
fn map(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
    entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

/// Panics unless `result` is a `StoreError::Validation`.
#[track_caller]
fn assert_validation<T: std::fmt::Debug>(result: Result<T, StoreError>) -> StoreError {
    match result {
        Err(error @ StoreError::Validation { .. }) => error,
        other => panic!("expected StoreError::Validation, got {other:?}"),
    }
}

/// Waits past an expiry of `seconds`: both clocks (the database's, the test's) move on by more.
async fn outlive(seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds + 0.6)).await;
}

#[test]
fn data_store_is_clone_send_sync_debug() {
    fn assert_traits<S: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    assert_traits::<DataStore>();
}

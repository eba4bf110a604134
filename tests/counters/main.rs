//! Counters (`storehaus::counters`) in their two environments: buffered in Redis and synced to
//! PostgreSQL, and buffered in the memory cache and synced to SQLite.
//!
//! Every test that counts checks the table itself (`storehaus_counters`) with raw SQL, not only
//! what the counters returned: after a sync the row holds the exact count, before it no row was
//! written. Redis runs use the server at `REDIS_URL` (default `redis://127.0.0.1:6379`) under a
//! prefix of their own; without it they print `*** SKIPPED`, or fail when `CI` or
//! `STOREHAUS_REQUIRE_SERVICES` is set. Tests of Redis failures start a `redis-server` of their own.

use std::collections::BTreeMap;
use std::time::Duration;
use storehaus::counters::{Counters, SyncOptions, SyncReport};
use storehaus::prelude::*;
use storehaus_suite::raw;

mod basics;
mod direct;
mod env;
mod exactness;
mod faults;
mod hostile;
mod records;
mod redis_down;
mod set_reset;
mod signals;
mod sync;

pub use env::Env;

/// The table of every counter.
const TABLE: &str = "storehaus_counters";

/// Declares tests that run in both environments.
///
/// Each `async fn name(env) { … }` becomes a module `name` with the tests `redis_postgres` and
/// `memory_sqlite`; inside the body `env` is an [`Env`] on a fresh database.
macro_rules! on_both_envs {
    ($($(#[$meta:meta])* async fn $name:ident($env:ident) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn test<B: storehaus_suite::TestBackend>(db: B) {
                let Some($env) = $crate::Env::open(&db, module_path!()).await else { return };
                $body
                $env.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis_postgres() {
                storehaus_suite::run_on::<storehaus::testing::TestDatabase, _>(test).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory_sqlite() {
                storehaus_suite::run_on::<storehaus::testing::TestSqlite, _>(test).await;
            }
        }
    )*};
}
pub(crate) use on_both_envs;

fn user(id: i64) -> Owner {
    Owner::new("user", id)
}

/// Doubles the single quotes of `text`, for a literal in raw SQL.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The stored count of a counter; `None` when it has no row.
async fn stored(storehaus: &StoreHaus, owner: &Owner, key: &str) -> Option<i64> {
    let sql = format!(
        "SELECT \"count\" FROM \"{TABLE}\" WHERE \"owner_kind\" = {} AND \"owner_id\" = {} AND \"key\" = {}",
        quoted(owner.kind()),
        quoted(owner.id()),
        quoted(key)
    );
    let counts: Vec<(i64,)> = raw::rows(storehaus, &sql).await;
    assert!(counts.len() <= 1, "two rows for one counter: {counts:?}");
    counts.first().map(|(count,)| *count)
}

/// Rows in `storehaus_counters`.
async fn rows(storehaus: &StoreHaus) -> i64 {
    raw::int(storehaus, &format!("SELECT COUNT(*) FROM \"{TABLE}\"")).await
}

/// Every row as `(kind, id, key, count)`, in key order.
async fn all_rows(storehaus: &StoreHaus) -> Vec<(String, String, String, i64)> {
    let sql = format!(
        "SELECT \"owner_kind\", \"owner_id\", \"key\", \"count\" FROM \"{TABLE}\" \
         ORDER BY \"owner_kind\", \"owner_id\", \"key\""
    );
    raw::rows(storehaus, &sql).await
}

/// A sync of everything, which must succeed.
async fn sync(counters: &Counters) -> SyncReport {
    counters.sync(SyncOptions::default()).await.expect("the sync succeeds")
}

/// A map of `(key, total)`, for comparing with `get_many` and `all`.
fn totals(entries: &[(&str, i64)]) -> BTreeMap<String, i64> {
    entries.iter().map(|(key, total)| ((*key).to_owned(), *total)).collect()
}

/// Panics unless `result` is a `StoreError::Validation` about `field`.
#[track_caller]
fn assert_validation<T: std::fmt::Debug>(result: Result<T, StoreError>, field: &str) {
    match result {
        Err(StoreError::Validation { field: Some(found), .. }) if found == field => {}
        other => panic!("expected StoreError::Validation for `{field}`, got {other:?}"),
    }
}

/// A small, seeded pseudo-random sequence (xorshift), so a failing run can be repeated.
struct Dice(u64);

impl Dice {
    /// Seeded from the clock; the seed is printed.
    fn from_clock(what: &str) -> Dice {
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        eprintln!("{what}: seed {seed}");
        Dice(seed | 1)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn counters_are_clone_send_sync() {
    fn assert_traits<C: Clone + Send + Sync + 'static>() {}
    assert_traits::<Counters>();
}

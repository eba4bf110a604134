//! Row-level access as a property, checked against an oracle computed from the raw table.
//!
//! Each case seeds a table (raw SQL: random tenants, principals, tags, soft deletes), then makes
//! 1 to 8 calls, each through a random scope: principals (`auth`, `auth_any`), a tenant, both,
//! either under `unrestricted`, `unrestricted` alone, or too little scope (refused); on the pool,
//! in a transaction committed or rolled back, and with or without a read-through cache. The
//! whole table is read with raw SQL around every call; from the rows before it the oracle
//! derives what the call must answer and what the table must hold after it. An answer showing a
//! row the scope may not see (or telling it apart from a missing key) is a leak; a change to such
//! a row is a foreign change; both, and every other difference, fail the case.
//!
//! Tables: `invoices` (3 principals, 2 UUID tenants; 5 000 cases on SQLite, 500 on PostgreSQL),
//! `notes` (2 text tenants, soft delete; 2 000 and 300) and `projects` (principals, soft delete,
//! versions, no tenant; 1 000 and 200). One database per backend and table, emptied between
//! cases; a fixed seed, no persisted failures.

mod call;
mod cases;
mod check;
mod expect;
mod ops;
mod run;
mod scope;
mod subjects;
mod table;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use proptest::test_runner::{Config, RngSeed, TestRunner};
use storehaus::prelude::*;
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus_suite::TestBackend;

use self::cases::case;
use self::run::{Env, Stats, run_case};
use self::subjects::Subject;
use super::{Invoice, Note, Project};

const SEED: u64 = 0x0AC1_5EED;

/// A longer or other run than CI's: `STOREHAUS_ORACLE_CASES` (cases per test) and
/// `STOREHAUS_ORACLE_SEED`.
fn setting(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|e| panic!("{name}={v:?}: {e}")))
}

fn property<B: TestBackend, S: Subject>(cases: u32) {
    let cases = setting("STOREHAUS_ORACLE_CASES").map_or(cases, |n| n as u32);
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let Some(db) = runtime.block_on(B::open()) else { return };
    let env = runtime.block_on(async {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<S>(false).await.unwrap();
        let base = GenericStore::<S>::new(storehaus.pool().clone(), None, None);
        let postgres = B::NAME == "postgres";
        let cache = Arc::new(CacheManager::memory(&CacheConfig::default()).unwrap());
        Env { storehaus, base, cache, postgres, texts: Mutex::default(), stats: Stats::default() }
    });
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(setting("STOREHAUS_ORACLE_SEED").unwrap_or(SEED)),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let result = TestRunner::new(config)
        .run(&case(S::AUTH, S::SOFT, S::TENANTED), |case| runtime.block_on(run_case(&env, &case)));
    let stat = |counter: &AtomicU64| counter.load(Relaxed);
    let s = &env.stats;
    println!(
        "access oracle, {} on {}: {} cases, {} calls ({} refused, {} not found), {} rows compared, \
         {} cache hits, {} leaks, {} foreign changes, {} other differences, {:.1} s",
        S::TABLE.name,
        B::NAME,
        stat(&s.cases),
        stat(&s.calls),
        stat(&s.refused),
        stat(&s.not_found),
        stat(&s.rows_compared),
        env.cache.stats().hits,
        stat(&s.leaks),
        stat(&s.foreign),
        stat(&s.wrong),
        started.elapsed().as_secs_f64(),
    );
    let (leaks, foreign) = (stat(&s.leaks), stat(&s.foreign));
    // The pool closes on the runtime; the database is dropped outside it.
    runtime.block_on(async move { env.storehaus.close().await });
    drop(runtime);
    drop(db);
    if let Err(error) = result {
        panic!("{error}");
    }
    assert_eq!((leaks, foreign), (0, 0), "leaks and foreign changes");
}

/// Principals and a UUID tenant: 5 000 cases on SQLite, 500 on PostgreSQL.
mod invoices {
    use super::*;

    #[test]
    fn sqlite() {
        property::<TestSqlite, Invoice>(5_000);
    }

    #[test]
    fn postgres() {
        property::<TestDatabase, Invoice>(500);
    }
}

/// Principals, soft delete and versions, no tenant: 1 000 cases on SQLite, 200 on PostgreSQL.
mod projects {
    use super::*;

    #[test]
    fn sqlite() {
        property::<TestSqlite, Project>(1_000);
    }

    #[test]
    fn postgres() {
        property::<TestDatabase, Project>(200);
    }
}

/// A text tenant and soft delete: 2 000 cases on SQLite, 300 on PostgreSQL.
mod notes {
    use super::*;

    #[test]
    fn sqlite() {
        property::<TestSqlite, Note>(2_000);
    }

    #[test]
    fn postgres() {
        property::<TestDatabase, Note>(300);
    }
}

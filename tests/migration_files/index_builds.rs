//! PostgreSQL: concurrent index builds of after-commit sections wait for every transaction with
//! an older snapshot. A wait that times out is retried within the lock budget; the build must
//! then still finish, although the timed-out attempt left an invalid index of that name.

use super::*;
use std::time::{Duration, Instant};
use storehaus::migrations;
use storehaus::testing::TestDatabase;
use storehaus_suite::pg;

/// A table with rows, then an index built after the commit, written to be run again.
const FILES: [(&str, &str); 2] = [
    (
        "1_items.sql",
        "CREATE TABLE \"mf_items\" (\"id\" BIGINT PRIMARY KEY, \"code\" TEXT NOT NULL);\n\
         INSERT INTO \"mf_items\" SELECT n, 'code ' || n FROM generate_series(1, 50000) AS n;\n",
    ),
    (
        "2_index.sql",
        "-- storehaus:up\nSELECT 1;\n-- storehaus:after-commit\n\
         DROP INDEX CONCURRENTLY IF EXISTS \"mf_items_code_idx\";\n\
         CREATE INDEX CONCURRENTLY \"mf_items_code_idx\" ON \"mf_items\" (\"code\");\n",
    ),
];

/// `indisvalid` of the index, if it exists.
async fn code_index_valid(storehaus: &StoreHaus) -> Option<bool> {
    sqlx::query_scalar(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'mf_items_code_idx'",
    )
    .fetch_optional(pg(storehaus))
    .await
    .unwrap()
}

/// A transaction elsewhere in the database holds a snapshot for 300 ms: the build waits for it
/// past several `lock_timeout`s, and apply still finishes the file within its budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_build_behind_an_open_snapshot_finishes_within_the_budget() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let dir = ScratchDir::new();
    dir.write(FILES[0].0, FILES[0].1);
    migrations::apply(storehaus.pool(), dir.path()).await.unwrap();
    dir.write(FILES[1].0, FILES[1].1);

    let other = db.storehaus().await;
    let mut holder = pg(&other).begin().await.unwrap();
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *holder).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut *holder).await.unwrap();
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        holder.commit().await.unwrap();
    };
    let options = MigrateOptions::new().lock_timeout(Duration::from_millis(50)).lock_budget(Duration::from_secs(10));
    let started = Instant::now();
    let (result, ()) = tokio::join!(migrations::apply_with(storehaus.pool(), dir.path(), &options), release);
    eprintln!("apply behind an open snapshot: {:?} after {:?}", result, started.elapsed());
    assert_eq!(result.unwrap(), ["2_index.sql"]);
    assert_eq!(code_index_valid(&storehaus).await, Some(true));
    let finished: Vec<bool> = history::<TestDatabase>(&storehaus).await.unwrap().into_iter().map(|r| r.3).collect();
    assert_eq!(finished, [true, true]);
}

/// Two processes apply a directory whose second file builds an index concurrently: the one
/// waiting for the other's run must not make the build fail; both succeed, each file once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_applies_with_an_index_build_both_succeed() {
    let Some(db) = TestDatabase::new().await else { return };
    let (first, second) = (db.storehaus().await, db.storehaus().await);
    let dir = ScratchDir::new();
    for (name, sql) in FILES {
        dir.write(name, sql);
    }
    let started = Instant::now();
    let (a, b) =
        tokio::join!(migrations::apply(first.pool(), dir.path()), migrations::apply(second.pool(), dir.path()));
    eprintln!("concurrent applies with an index build took {:?}: {a:?} / {b:?}", started.elapsed());
    let mut all: Vec<String> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    all.sort();
    assert_eq!(all, FILES.map(|(name, _)| name));
    assert_eq!(code_index_valid(&first).await, Some(true));
    let finished: Vec<bool> = history::<TestDatabase>(&first).await.unwrap().into_iter().map(|r| r.3).collect();
    assert_eq!(finished, [true, true]);
}

//! PostgreSQL: a file whose statement waits for a table lock waits at most `lock_timeout` per
//! attempt, so reads queue behind it only briefly, and gives up once `lock_budget` is spent
//! with nothing of the file applied.

use super::*;
use std::time::{Duration, Instant};
use storehaus::migrations;
use storehaus::testing::TestDatabase;
use storehaus_suite::pg;

const LOCK_TIMEOUT: Duration = Duration::from_millis(50);
const LOCK_BUDGET: Duration = Duration::from_millis(600);

/// An open transaction that read `mf_busy` holds its lock: the file's `ALTER TABLE` retries,
/// reads meanwhile take about one `lock_timeout` at most, and after the budget the file fails
/// with `LockTimeout` naming the blocking session, unrecorded. Once the reader is gone it applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_waiting_for_a_lock_gives_up_after_its_budget() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let dir = ScratchDir::new();
    dir.write("1_busy.sql", "CREATE TABLE \"mf_busy\" (\"id\" INTEGER);\nINSERT INTO \"mf_busy\" VALUES (1);\n");
    migrations::apply(storehaus.pool(), dir.path()).await.unwrap();
    dir.write("2_alter.sql", "ALTER TABLE \"mf_busy\" ADD COLUMN \"extra\" INTEGER;\n");

    let mut holder = pg(&storehaus).begin().await.unwrap();
    sqlx::query("SELECT COUNT(*) FROM mf_busy").execute(&mut *holder).await.unwrap();
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *holder).await.unwrap();

    let options = MigrateOptions::new().lock_timeout(LOCK_TIMEOUT).lock_budget(LOCK_BUDGET);
    let reader = db.storehaus().await;
    let started = Instant::now();
    let apply = migrations::apply_with(storehaus.pool(), dir.path(), &options);
    // Reads while the file retries: each waits at most for one attempt of the ALTER.
    let reads = async {
        let mut slowest = Duration::ZERO;
        tokio::time::sleep(Duration::from_millis(20)).await;
        while started.elapsed() < LOCK_BUDGET {
            let read = Instant::now();
            sqlx::query("SELECT COUNT(*) FROM mf_busy").execute(pg(&reader)).await.unwrap();
            slowest = slowest.max(read.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        slowest
    };
    let (result, slowest_read) = tokio::join!(apply, reads);
    let took = started.elapsed();
    eprintln!("gave up after {took:?}; slowest read meanwhile {slowest_read:?}");
    match result {
        Err(StoreError::MigrationFailed { file, statement, line, source, .. }) => {
            assert_eq!((file.as_str(), statement, line), ("2_alter.sql", 1, 1));
            match *source {
                StoreError::LockTimeout { blockers, waited, .. } => {
                    assert!(waited >= LOCK_BUDGET, "{waited:?}");
                    assert!(blockers.iter().any(|b| b.pid == holder_pid), "{blockers:?}");
                }
                other => panic!("expected LockTimeout, got {other:?}"),
            }
        }
        other => panic!("expected MigrationFailed, got {other:?}"),
    }
    assert!(took >= LOCK_BUDGET && took < LOCK_BUDGET + Duration::from_secs(2), "{took:?}");
    assert!(slowest_read < Duration::from_millis(500), "a read waited {slowest_read:?}");
    let recorded: Vec<i64> = history::<TestDatabase>(&storehaus).await.unwrap().into_iter().map(|row| row.0).collect();
    assert_eq!(recorded, [1]);

    holder.rollback().await.unwrap();
    assert_eq!(migrations::apply_with(storehaus.pool(), dir.path(), &options).await.unwrap(), ["2_alter.sql"]);
    assert_eq!(raw::int(&storehaus, "SELECT COUNT(\"extra\") + COUNT(*) FROM \"mf_busy\"").await, 1);
}

//! PostgreSQL: an after-commit statement that fails leaves its file unfinished; the next apply
//! runs the after-commit section again and finishes it.

use super::*;
use storehaus::migrations::{self, FileState};
use storehaus::testing::TestDatabase;
use storehaus_suite::pg;

/// A table with a duplicate `code`, then a unique index built concurrently on it; written to be
/// run again (the leftover invalid index dropped first), as generated files are.
const RERUNNABLE: &str = "-- storehaus:up
CREATE TABLE \"mf_dupes\" (\"id\" BIGINT PRIMARY KEY, \"code\" TEXT NOT NULL);
INSERT INTO \"mf_dupes\" VALUES (1, 'x'), (2, 'x'), (3, 'y');
-- storehaus:after-commit
DROP INDEX CONCURRENTLY IF EXISTS \"mf_dupes_code_key\";
CREATE UNIQUE INDEX CONCURRENTLY \"mf_dupes_code_key\" ON \"mf_dupes\" (\"code\");
";

/// [`RERUNNABLE`] without the drop: a second run meets the invalid index the first left.
const BUILD_ONLY: &str = "-- storehaus:up
CREATE TABLE \"mf_dupes\" (\"id\" BIGINT PRIMARY KEY, \"code\" TEXT NOT NULL);
INSERT INTO \"mf_dupes\" VALUES (1, 'x'), (2, 'x'), (3, 'y');
-- storehaus:after-commit
CREATE UNIQUE INDEX CONCURRENTLY \"mf_dupes_code_key\" ON \"mf_dupes\" (\"code\");
";

/// `(name, valid)` of the unique index, if it exists.
async fn code_index(storehaus: &StoreHaus) -> Option<(String, bool)> {
    sqlx::query_as(
        "SELECT c.relname::text, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relname = 'mf_dupes_code_key'",
    )
    .fetch_optional(pg(storehaus))
    .await
    .unwrap()
}

/// Applies `dir` expecting its after-commit statement number `statement` (on `line`) to fail;
/// returns the database's error.
async fn apply_fails_at(storehaus: &StoreHaus, dir: &ScratchDir, statement: usize, line: usize) -> StoreError {
    match migrations::apply(storehaus.pool(), dir.path()).await {
        Err(StoreError::MigrationFailed { file, statement: number, line: at, sql, source }) => {
            assert_eq!((file.as_str(), number, at), ("1_dupes.sql", statement, line), "{source}");
            assert!(sql.starts_with("CREATE UNIQUE INDEX CONCURRENTLY"), "{sql}");
            *source
        }
        other => panic!("expected MigrationFailed, got {other:?}"),
    }
}

/// Whether `error` is the build's unique violation: two rows share a `code`.
fn is_duplicate_code(error: &StoreError) -> bool {
    matches!(error, StoreError::UniqueViolation { constraint } if constraint == "mf_dupes_code_key")
}

/// The file's state in `status`, and its `finished` flag in the history.
async fn file_state(storehaus: &StoreHaus, dir: &ScratchDir) -> (FileState, bool) {
    let status = migrations::status::<()>(storehaus.pool(), dir.path()).await.unwrap();
    let history = history::<TestDatabase>(storehaus).await.unwrap();
    assert_eq!(history.len(), 1);
    (status.files[0].state.clone(), history[0].3)
}

/// The failed build leaves the file unfinished (its up section committed) and an invalid index;
/// with the data fixed, the next apply drops that index, builds it and finishes the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_concurrent_build_is_finished_by_the_next_apply() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let dir = ScratchDir::new();
    dir.write("1_dupes.sql", RERUNNABLE);

    let error = apply_fails_at(&storehaus, &dir, 4, 6).await;
    assert!(is_duplicate_code(&error), "{error:?}");
    let (state, finished) = file_state(&storehaus, &dir).await;
    assert!(matches!(state, FileState::Unfinished { .. }), "{state}");
    assert!(!finished);
    assert_eq!(raw::int(&storehaus, "SELECT COUNT(*) FROM \"mf_dupes\"").await, 3, "up stays committed");
    // What PostgreSQL leaves of a failed concurrent build: the index, marked invalid.
    assert_eq!(code_index(&storehaus).await, Some(("mf_dupes_code_key".to_owned(), false)));

    raw::execute(&storehaus, "DELETE FROM \"mf_dupes\" WHERE \"id\" = 2").await;
    assert_eq!(migrations::apply(storehaus.pool(), dir.path()).await.unwrap(), ["1_dupes.sql"]);
    let (state, finished) = file_state(&storehaus, &dir).await;
    assert!(matches!(state, FileState::Applied { .. }), "{state}");
    assert!(finished);
    assert_eq!(code_index(&storehaus).await, Some(("mf_dupes_code_key".to_owned(), true)));
    assert!(migrations::apply(storehaus.pool(), dir.path()).await.unwrap().is_empty());
}

/// A hand-written build without the drop before it: the invalid index of the failed run makes
/// the rerun fail too (`42P07`, the name is taken), even with the data fixed; the runner leaves
/// the index to the file, so it finishes only once the index is dropped by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_of_build_only_file_needs_the_invalid_index_dropped() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let dir = ScratchDir::new();
    dir.write("1_dupes.sql", BUILD_ONLY);

    let error = apply_fails_at(&storehaus, &dir, 3, 5).await;
    assert!(is_duplicate_code(&error), "{error:?}");
    assert!(matches!(file_state(&storehaus, &dir).await, (FileState::Unfinished { .. }, false)));
    assert_eq!(code_index(&storehaus).await, Some(("mf_dupes_code_key".to_owned(), false)));

    raw::execute(&storehaus, "DELETE FROM \"mf_dupes\" WHERE \"id\" = 2").await;
    let error = apply_fails_at(&storehaus, &dir, 3, 5).await;
    let code = match &error {
        StoreError::Database { code, .. } => code.as_deref(),
        _ => None,
    };
    assert_eq!(code, Some("42P07"), "the invalid index holds the name: {error:?}");
    assert!(matches!(file_state(&storehaus, &dir).await, (FileState::Unfinished { .. }, false)));

    raw::execute(&storehaus, "DROP INDEX \"mf_dupes_code_key\"").await;
    assert_eq!(migrations::apply(storehaus.pool(), dir.path()).await.unwrap(), ["1_dupes.sql"]);
    assert!(matches!(file_state(&storehaus, &dir).await, (FileState::Applied { .. }, true)));
    assert_eq!(code_index(&storehaus).await, Some(("mf_dupes_code_key".to_owned(), true)));
}

//! A file whose statement fails: the error names it, its transaction is rolled back, the files
//! before it stay applied, and once fixed it applies.

use super::*;
use std::time::Instant;
use storehaus::migrations::{self, FileState};

const GOOD: &str = "CREATE TABLE \"mf_good\" (\"id\" INTEGER PRIMARY KEY);\n";

/// The second statement (line 3) fails: `nope` does not exist.
const BAD: &str = "-- three statements, the second fails\n\
    CREATE TABLE \"mf_a\" (\"id\" INTEGER);\n\
    INSERT INTO \"nope\" VALUES (1);\n\
    CREATE TABLE \"mf_b\" (\"id\" INTEGER);\n";

/// [`BAD`] with the missing table created first.
const FIXED: &str = "-- three statements and the table the second needs\n\
    CREATE TABLE \"nope\" (\"id\" INTEGER);\n\
    CREATE TABLE \"mf_a\" (\"id\" INTEGER);\n\
    INSERT INTO \"nope\" VALUES (1);\n\
    CREATE TABLE \"mf_b\" (\"id\" INTEGER);\n";

on_both_backends! {
    /// `2_bad.sql` fails at its 2nd statement: the error gives file, number, line and SQL;
    /// `1_good.sql` stays applied, `2_bad.sql` is unrecorded and its first table rolled back.
    async fn failing_statement_rolls_back_its_file(db) {
        let storehaus = db.storehaus().await;
        let dir = ScratchDir::new();
        let pool = storehaus.pool();
        dir.write("1_good.sql", GOOD);
        dir.write("2_bad.sql", BAD);

        let started = Instant::now();
        let result = migrations::apply(pool, dir.path()).await;
        let took = started.elapsed();
        match result {
            Err(StoreError::MigrationFailed { file, statement, line, sql, source }) => {
                assert_eq!((file.as_str(), statement, line), ("2_bad.sql", 2, 3), "{source}");
                assert!(sql.contains("nope"), "{sql}");
                assert!(matches!(*source, StoreError::Database { .. }), "{source:?}");
            }
            other => panic!("expected MigrationFailed, got {other:?}"),
        }
        // Not a lock wait: no retries before failing.
        assert!(took.as_secs() < 5, "the failing apply took {took:?}");
        eprintln!("{}: failing apply returned after {took:?}", B::NAME);

        let recorded = history::<B>(&storehaus).await.unwrap();
        assert_eq!(recorded, [(1, "good".to_owned(), sha256_hex(GOOD.as_bytes()), true)]);
        assert!(table_exists::<B>(&storehaus, "mf_good").await);
        assert!(!table_exists::<B>(&storehaus, "mf_a").await, "the file's first statement is rolled back");
        assert!(!table_exists::<B>(&storehaus, "mf_b").await);
        let status = migrations::status::<()>(pool, dir.path()).await.unwrap();
        assert!(matches!(status.files[0].state, FileState::Applied { .. }), "{status}");
        assert_eq!(status.pending().map(|f| f.file_name.as_str()).collect::<Vec<_>>(), ["2_bad.sql"]);

        // Not recorded, so it may still change.
        dir.write("2_bad.sql", FIXED);
        assert_eq!(migrations::apply(pool, dir.path()).await.unwrap(), ["2_bad.sql"]);
        for table in ["nope", "mf_a", "mf_b"] {
            assert!(table_exists::<B>(&storehaus, table).await, "{table}");
        }
        assert_eq!(raw::int(&storehaus, "SELECT COUNT(*) FROM \"nope\"").await, 1);
        let status = migrations::status::<()>(pool, dir.path()).await.unwrap();
        assert!(status.is_clean(), "{status}");
        assert_eq!(history::<B>(&storehaus).await.unwrap()[1], (2, "bad".to_owned(), sha256_hex(FIXED.as_bytes()), true));
    }

    /// A file saved with a byte-order mark and CRLF line ends reads like any other: its marker is
    /// found and a failing statement's line is counted right.
    async fn crlf_file_with_bom_reports_the_right_line(db) {
        let storehaus = db.storehaus().await;
        let dir = ScratchDir::new();
        let text = "\u{feff}-- storehaus:up\r\nCREATE TABLE \"mf_crlf\" (\"id\" INTEGER);\r\n\r\nINSERT INTO \"nope\" VALUES (1);\r\n";
        dir.write("1_crlf.sql", text);
        match migrations::apply(storehaus.pool(), dir.path()).await {
            Err(StoreError::MigrationFailed { file, statement, line, sql, .. }) => {
                assert_eq!((file.as_str(), statement, line), ("1_crlf.sql", 2, 4));
                assert_eq!(sql, "INSERT INTO \"nope\" VALUES (1)");
            }
            other => panic!("expected MigrationFailed, got {other:?}"),
        }
        assert!(!table_exists::<B>(&storehaus, "mf_crlf").await);
        assert_eq!(history::<B>(&storehaus).await, Some(Vec::new()));
    }
}

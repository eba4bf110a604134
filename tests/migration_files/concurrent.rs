//! Two processes applying one directory at once: each file runs once, in one of them.

use super::*;
use std::time::Instant;
use storehaus::migrations;

/// Each file logs its run in `mf_runs`, so a file run twice shows; the second fills a table
/// with enough rows that the runs overlap.
const FILES: [(&str, &str); 3] = [
    ("1_runs.sql", "CREATE TABLE \"mf_runs\" (\"file\" TEXT NOT NULL);\nINSERT INTO \"mf_runs\" VALUES ('1');\n"),
    (
        "2_numbers.sql",
        "CREATE TABLE \"mf_numbers\" (\"n\" BIGINT NOT NULL);\n\
         INSERT INTO \"mf_numbers\" (\"n\") WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000) SELECT n FROM c;\n\
         INSERT INTO \"mf_runs\" VALUES ('2');\n",
    ),
    ("3_more.sql", "CREATE TABLE \"mf_more\" (\"id\" INTEGER);\nINSERT INTO \"mf_runs\" VALUES ('3');\n"),
];

on_both_backends! {
    /// Two pools apply three files concurrently: no error, every file applied by exactly one
    /// of them, run once and recorded once.
    async fn concurrent_applies_run_each_file_once(db) {
        let (first, second) = (db.storehaus().await, db.storehaus().await);
        let dir = ScratchDir::new();
        for (name, sql) in FILES {
            dir.write(name, sql);
        }

        let started = Instant::now();
        let (a, b) = tokio::join!(
            migrations::apply(first.pool(), dir.path()),
            migrations::apply(second.pool(), dir.path())
        );
        let took = started.elapsed();
        let (a, b) = (a.unwrap(), b.unwrap());
        eprintln!("{}: concurrent applies took {took:?}; one applied {a:?}, the other {b:?}", B::NAME);
        let mut all: Vec<String> = a.into_iter().chain(b).collect();
        all.sort();
        assert_eq!(all, FILES.map(|(name, _)| name));

        let versions: Vec<(i64, bool)> =
            history::<B>(&first).await.unwrap().into_iter().map(|(v, _, _, finished)| (v, finished)).collect();
        assert_eq!(versions, [(1, true), (2, true), (3, true)]);
        let runs = raw::texts(&first, "SELECT \"file\" FROM \"mf_runs\" ORDER BY \"file\"").await;
        assert_eq!(runs, [Some("1".to_owned()), Some("2".to_owned()), Some("3".to_owned())]);
        assert_eq!(raw::int(&first, "SELECT COUNT(*) FROM \"mf_numbers\"").await, 200_000);
    }
}

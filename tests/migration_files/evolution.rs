//! A table that evolves across two generated files: the second adds a nullable column and an
//! index on an existing column, built concurrently on PostgreSQL after the file's transaction.

use super::*;
use storehaus::migrations::{self, FileState};

on_both_backends! {
    /// V1 by a first file, V2 by a second: PostgreSQL builds the new index after the commit
    /// (dropping a leftover invalid one first) and the file can be undone; once applied the
    /// index is valid and the model plans nothing.
    async fn second_file_adds_column_and_index(db) {
        let storehaus = db.storehaus().await;
        let dir = ScratchDir::new();
        let pool = storehaus.pool();
        let first = migrations::generate::<ArticleV1>(pool, dir.path(), "create_articles").await.unwrap().unwrap();
        migrations::apply(pool, dir.path()).await.unwrap();
        let articles: GenericStore<ArticleV1> = GenericStore::new(pool.clone(), None, None);
        articles.create(ArticleV1::new(1, "first".into()), None).await.unwrap();

        let second = migrations::generate::<ArticleV2>(pool, dir.path(), "index_titles").await.unwrap().unwrap();
        assert!(second.version > first.version, "{} then {}", first.version, second.version);
        let second_name = format!("{}_index_titles.sql", second.version);
        assert_eq!(second.path, dir.path().join(&second_name));
        assert!(second.reversible);
        let text = std::fs::read_to_string(&second.path).unwrap();
        let up = section(&text, "up").unwrap_or_else(|| panic!("an up section:\n{text}"));
        assert!(up.contains("ADD COLUMN \"subtitle\""), "{text}");
        let down = section(&text, "down").unwrap_or_else(|| panic!("a down section:\n{text}"));
        assert!(down.contains("DROP COLUMN \"subtitle\"") && down.contains("DROP INDEX"), "{text}");
        if B::NAME == "postgres" {
            let after = section(&text, "after-commit").unwrap_or_else(|| panic!("an after-commit section:\n{text}"));
            let lines: Vec<&str> = after.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 2, "{text}");
            assert!(lines[0].starts_with("DROP INDEX CONCURRENTLY IF EXISTS \""), "{text}");
            assert!(lines[1].starts_with("CREATE INDEX CONCURRENTLY \"") && lines[1].contains("(\"title\")"), "{text}");
            assert!(!up.contains("CREATE INDEX"), "the build is not in the transaction:\n{text}");
        } else {
            // SQLite has no concurrent builds: everything runs in the transaction.
            assert_eq!(section(&text, "after-commit"), None, "{text}");
            assert!(up.contains("CREATE INDEX"), "{text}");
        }

        let status = migrations::status::<ArticleV2>(pool, dir.path()).await.unwrap();
        assert_eq!(status.pending().map(|f| f.file_name.as_str()).collect::<Vec<_>>(), [second_name.as_str()]);
        assert_eq!(status.drift.iter().map(|p| p.table.as_str()).collect::<Vec<_>>(), ["mf_articles"]);

        assert_eq!(migrations::apply(pool, dir.path()).await.unwrap(), [second_name]);
        let indexes = catalog::indexes_on::<B>(&storehaus, "mf_articles", "title").await;
        assert_eq!(indexes.len(), 1, "{indexes:?}");
        assert!(indexes[0].1, "the index is valid: {indexes:?}");
        assert!(storehaus.plan::<ArticleV2>().await.unwrap().is_empty());
        let status = migrations::status::<ArticleV2>(pool, dir.path()).await.unwrap();
        assert!(status.is_clean(), "{status}");
        assert!(status.files.iter().all(|f| matches!(f.state, FileState::Applied { .. })));
        let finished: Vec<(i64, bool)> =
            history::<B>(&storehaus).await.unwrap().into_iter().map(|(v, _, _, f)| (v, f)).collect();
        assert_eq!(finished, [(first.version, true), (second.version, true)]);
        // The row from before has the new column, empty.
        let subtitles = raw::texts(&storehaus, "SELECT \"subtitle\" FROM \"mf_articles\" WHERE \"id\" = 1").await;
        assert_eq!(subtitles, [None]);
    }
}

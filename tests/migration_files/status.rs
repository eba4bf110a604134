//! Status of the files alone (`status::<()>`): pending files, applied ones, and history entries
//! whose file is gone.

use super::*;
use storehaus::migrations::{self, FileState};

on_both_backends! {
    /// Unapplied files are listed pending in version order with no drift, and asking does not
    /// create the history table; a file deleted after it ran shows as missing.
    async fn status_without_models_lists_pending_files(db) {
        let storehaus = db.storehaus().await;
        let pool = storehaus.pool();
        let dir = ScratchDir::new();
        dir.write("20_second.sql", "CREATE TABLE \"mf_second\" (\"id\" INTEGER);\n");
        dir.write("3_first.sql", "CREATE TABLE \"mf_first\" (\"id\" INTEGER);\n");
        dir.write("README.md", "not a migration");

        let status = migrations::status::<()>(pool, dir.path()).await.unwrap();
        let listed: Vec<(i64, &str, &str, &FileState)> =
            status.files.iter().map(|f| (f.version, f.name.as_str(), f.file_name.as_str(), &f.state)).collect();
        assert_eq!(
            listed,
            [(3, "first", "3_first.sql", &FileState::Pending), (20, "second", "20_second.sql", &FileState::Pending)]
        );
        assert_eq!(status.pending().count(), 2);
        assert!(status.drift.is_empty() && status.missing_files.is_empty() && status.edited().next().is_none());
        assert!(!status.is_clean());
        assert_eq!(history::<B>(&storehaus).await, None, "status only reads");

        assert_eq!(migrations::apply(pool, dir.path()).await.unwrap(), ["3_first.sql", "20_second.sql"]);
        // No models, nothing to write.
        assert_eq!(migrations::generate::<()>(pool, dir.path(), "nothing").await.unwrap(), None);
        assert_eq!(dir.entries(), ["20_second.sql", "3_first.sql", "README.md"]);
        std::fs::remove_file(dir.path().join("3_first.sql")).unwrap();
        let status = migrations::status::<()>(pool, dir.path()).await.unwrap();
        assert_eq!(status.files.len(), 1);
        assert!(matches!(status.files[0].state, FileState::Applied { .. }), "{status}");
        let missing: Vec<(i64, &str, bool)> =
            status.missing_files.iter().map(|m| (m.version, m.name.as_str(), m.finished)).collect();
        assert_eq!(missing, [(3, "first", true)]);
        assert!(!status.is_clean(), "{status}");
    }
}

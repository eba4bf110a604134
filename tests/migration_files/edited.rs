//! An applied file edited afterwards: status reports it, and apply and generate refuse to run
//! anything until it is restored.

use super::*;
use storehaus::migrations::{self, FileState};

on_both_backends! {
    /// A comment appended to an applied file changes its checksum: it shows as edited, apply
    /// refuses naming it and leaves a pending file next to it unapplied; restored, all goes on.
    async fn edited_file_blocks_apply(db) {
        let storehaus = db.storehaus().await;
        let dir = ScratchDir::new();
        let pool = storehaus.pool();
        let file = migrations::generate::<User>(pool, dir.path(), "create_users").await.unwrap().unwrap();
        migrations::apply(pool, dir.path()).await.unwrap();
        let file_name = format!("{}_create_users.sql", file.version);
        let original = std::fs::read(&file.path).unwrap();

        let mut edited = original.clone();
        edited.extend_from_slice(b"-- reviewed again\n");
        dir.write(&file_name, &edited);
        let more_name = format!("{}_more.sql", file.version + 1);
        dir.write(&more_name, "CREATE TABLE \"mf_more\" (\"id\" INTEGER PRIMARY KEY);\n");

        let status = migrations::status::<User>(pool, dir.path()).await.unwrap();
        assert!(!status.is_clean(), "{status}");
        match &status.files[0].state {
            FileState::Edited { recorded, now, .. } => {
                assert_eq!(recorded, &sha256_hex(&original));
                assert_eq!(now, &sha256_hex(&edited));
            }
            other => panic!("expected the file edited, got {other}"),
        }
        assert_eq!(status.edited().map(|f| f.file_name.as_str()).collect::<Vec<_>>(), [file_name.as_str()]);
        assert_eq!(status.pending().map(|f| f.file_name.as_str()).collect::<Vec<_>>(), [more_name.as_str()]);

        let (file, message) = migration_file_error(migrations::apply(pool, dir.path()).await);
        assert_eq!(file, file_name, "{message}");
        assert!(message.contains(&sha256_hex(&original)), "{message}");
        assert!(!table_exists::<B>(&storehaus, "mf_more").await, "nothing ran");
        assert_eq!(history::<B>(&storehaus).await.map(|h| h.len()), Some(1));

        // A new file would start from an unknown state: refused too, nothing written.
        let (file, message) = migration_file_error(migrations::generate::<Post>(pool, dir.path(), "posts").await);
        assert_eq!(file, file_name, "the first file not applied as it is: {message}");
        assert_eq!(dir.entries().len(), 2);

        dir.write(&file_name, &original);
        assert_eq!(migrations::apply(pool, dir.path()).await.unwrap(), [more_name]);
        assert!(table_exists::<B>(&storehaus, "mf_more").await);
        assert!(migrations::status::<User>(pool, dir.path()).await.unwrap().is_clean());
    }
}

//! A file generated for new related tables: what it holds, what applying it leaves (tables,
//! history, no drift), and that generating or applying again does nothing.

use super::*;
use storehaus::migrations::{self, FileState};

on_both_backends! {
    /// Generated from `(Post, User)`, the file creates `mf_users` before `mf_posts`; once applied
    /// the models plan nothing, the history holds the file's SHA-256, and the tables take rows.
    async fn generated_file_applies_and_leaves_nothing_to_plan(db) {
        let storehaus = db.storehaus().await;
        let dir = ScratchDir::new();
        let pool = storehaus.pool();

        // The child first: the file must still create the parent first.
        let file = migrations::generate::<(Post, User)>(pool, dir.path(), "create_blog")
            .await
            .unwrap()
            .expect("two new tables make a file");
        let file_name = format!("{}_create_blog.sql", file.version);
        assert_eq!(file.path, dir.path().join(&file_name));
        assert_eq!(dir.entries(), [file_name.as_str()]);
        let tables: Vec<&str> = file.plans.iter().map(|p| p.table.as_str()).collect();
        assert_eq!(tables, ["mf_users", "mf_posts"]);
        let bytes = std::fs::read(&file.path).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.lines().any(|l| l == "-- storehaus:up"), "{text}");
        let users_at = text.find("CREATE TABLE \"mf_users\"").unwrap_or_else(|| panic!("creates users:\n{text}"));
        let posts_at = text.find("CREATE TABLE \"mf_posts\"").unwrap_or_else(|| panic!("creates posts:\n{text}"));
        assert!(users_at < posts_at, "users must be created before posts:\n{text}");
        assert!(file.reversible, "new tables can be dropped:\n{text}");
        let down = &text[text.find("-- storehaus:down").unwrap_or_else(|| panic!("a down section:\n{text}"))..];
        let drop_posts = down.find("DROP TABLE IF EXISTS \"mf_posts\"").unwrap_or_else(|| panic!("drops posts:\n{text}"));
        let drop_users = down.find("DROP TABLE IF EXISTS \"mf_users\"").unwrap_or_else(|| panic!("drops users:\n{text}"));
        assert!(drop_posts < drop_users, "down drops the child first:\n{text}");
        // Generating only writes the file.
        assert!(!table_exists::<B>(&storehaus, "mf_users").await);
        assert_eq!(history::<B>(&storehaus).await, None);

        let applied = migrations::apply(pool, dir.path()).await.unwrap();
        assert_eq!(applied, [file_name.as_str()]);

        let status = migrations::status::<(User, Post)>(pool, dir.path()).await.unwrap();
        assert!(status.is_clean(), "{status}");
        assert!(status.drift.is_empty() && status.missing_files.is_empty());
        assert_eq!(status.files.len(), 1);
        assert!(matches!(status.files[0].state, FileState::Applied { .. }), "{status}");
        assert_eq!((status.files[0].version, status.files[0].name.as_str()), (file.version, "create_blog"));
        assert!(storehaus.plan::<User>().await.unwrap().is_empty());
        assert!(storehaus.plan::<Post>().await.unwrap().is_empty());
        let expected: Vec<HistoryRow> = vec![(file.version, "create_blog".to_owned(), sha256_hex(&bytes), true)];
        assert_eq!(history::<B>(&storehaus).await, Some(expected));
        let title_indexes = catalog::indexes_on::<B>(&storehaus, "mf_posts", "title").await;
        assert!(!title_indexes.is_empty() && title_indexes.iter().all(|(_, valid)| *valid), "{title_indexes:?}");

        // The tables work, with their key, unique column and foreign key.
        let users: GenericStore<User> = GenericStore::new(pool.clone(), None, None);
        let posts: GenericStore<Post> = GenericStore::new(pool.clone(), None, None);
        users.create(User::new(1, "ann@example.com".into(), "Ann".into()), None).await.unwrap();
        posts.create(Post::new(10, 1, "hello".into()), None).await.unwrap();
        assert!(users.create(User::new(2, "ann@example.com".into(), "Twin".into()), None).await.is_err());
        assert!(posts.create(Post::new(11, 99, "orphan".into()), None).await.is_err());
        assert_eq!(raw::int(&storehaus, "SELECT COUNT(*) FROM \"mf_posts\" WHERE \"author_id\" = 1").await, 1);

        // Nothing left to generate or apply.
        let again = migrations::generate::<(Post, User)>(pool, dir.path(), "again").await.unwrap();
        assert_eq!(again, None);
        assert_eq!(dir.entries(), [file_name]);
        assert!(migrations::apply(pool, dir.path()).await.unwrap().is_empty());
        assert_eq!(history::<B>(&storehaus).await.map(|h| h.len()), Some(1));
    }
}

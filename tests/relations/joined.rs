//! Loading a relation in the records' own statement (`LEFT JOIN`).

use super::*;

on_both_backends! {
    /// A joined has-many gives what a separate load gives, in one statement.
    async fn joined_has_many_matches_a_separate_load(db) {
        let blog = Blog::new(&db).await;
        blog.seed(4, 3, 2).await;
        blog.users.create(User::new(5, "no posts".into()), None).await.unwrap();
        blog.posts.delete(&2002).await.unwrap();

        let statements = Statements::default();
        let guard = tracing::subscriber::set_default(statements.clone());
        let joined = blog.users.find_with(QueryBuilder::new(), User::posts().joined()).await.unwrap();
        drop(guard);
        assert_eq!(statements.seen().len(), 1, "{:?}", statements.seen());

        let separate = blog.users.find_with(QueryBuilder::new(), User::posts()).await.unwrap();
        let shape = |users: &[Loaded<User>]| -> Vec<(i64, Vec<i64>)> {
            users.iter().map(|u| (u.id, u.related(User::posts()).iter().map(|p| p.id).collect())).collect()
        };
        assert_eq!(shape(&joined), shape(&separate));
        assert_eq!(shape(&joined)[1], (2, vec![2001, 2003]));
        assert_eq!(shape(&joined)[4], (5, vec![]));
    }

    /// The records' limit counts records, not joined rows; nested relations still load.
    async fn joined_with_a_limit_and_nesting(db) {
        let blog = Blog::new(&db).await;
        blog.seed(5, 3, 2).await;

        let ordered = User::posts().query(QueryBuilder::new().order_by("score", SortOrder::Desc)).joined();
        let users = blog
            .users
            .find_with(QueryBuilder::new().order_by("id", SortOrder::Desc).limit(2), ordered.with(Post::comments()))
            .await
            .unwrap();
        assert_eq!(users.iter().map(|u| u.id).collect::<Vec<_>>(), [5, 4]);
        let scores: Vec<i32> = users[0].related(User::posts()).iter().map(|p| p.score).collect();
        assert_eq!(scores, [3, 2, 1]);
        assert_eq!(users[0].related(User::posts())[0].related(Post::comments()).len(), 2);
    }

    /// A joined belongs-to, and what cannot be joined.
    async fn joined_belongs_to_and_refusals(db) {
        let blog = Blog::new(&db).await;
        blog.seed(2, 2, 0).await;
        let posts = blog.posts.find_with(QueryBuilder::new(), Post::author().joined()).await.unwrap();
        assert_eq!(posts.len(), 4);
        assert!(posts.iter().all(|p| p.one(Post::author()).map(|a| a.id) == Some(p.author_id)));

        let error = blog.posts.find_with(QueryBuilder::new(), Post::tags().joined()).await.unwrap_err();
        assert!(matches!(error, StoreError::Validation { .. }), "{error:?}");
        let limited = User::posts().query(QueryBuilder::new().limit(1)).joined();
        let error = blog.users.find_with(QueryBuilder::new(), limited).await.unwrap_err();
        assert!(matches!(error, StoreError::Validation { .. }), "{error:?}");
        let error = blog.users.find_with(QueryBuilder::new(), (User::posts().joined(), User::profile().joined())).await.unwrap_err();
        assert!(matches!(error, StoreError::Validation { .. }), "{error:?}");
    }
}

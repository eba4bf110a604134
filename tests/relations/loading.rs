//! Eager loading: each relation kind, nesting, order and limits of related records, empty
//! parents, and one statement per relation level however many records.

use super::*;

on_both_backends! {
    /// has-many: every user gets its posts in key order; a user without posts gets none.
    async fn has_many_attaches_children_in_order(db) {
        let blog = Blog::new(&db).await;
        blog.seed(3, 2, 0).await;
        blog.users.create(User::new(4, "no posts".into()), None).await.unwrap();

        let users = blog.users.find_with(QueryBuilder::new(), User::posts()).await.unwrap();

        let shape: Vec<(i64, Vec<i64>)> =
            users.iter().map(|u| (u.id, u.related(User::posts()).iter().map(|p| p.id).collect())).collect();
        assert_eq!(shape, [(1, vec![1001, 1002]), (2, vec![2001, 2002]), (3, vec![3001, 3002]), (4, vec![])]);
        assert_eq!(users[0].related(User::posts())[0].title, "post 1.1");
        assert!(users[3].is_loaded("posts"));
        assert_eq!(users[3].count(User::posts()), Some(0));
        // What was not asked for is not there.
        assert!(!users[0].is_loaded("profile"));
        assert!(users[0].one(User::profile()).is_none());
    }

    /// belongs-to: every post gets its author, loaded once and shared by the author's posts.
    async fn belongs_to_shares_the_parent(db) {
        let blog = Blog::new(&db).await;
        blog.seed(2, 3, 0).await;

        let posts = blog.posts.find_with(QueryBuilder::new(), Post::author()).await.unwrap();

        assert_eq!(posts.len(), 6);
        for post in &posts {
            let author = post.one(Post::author()).expect("every post has an author");
            assert_eq!(author.id, post.author_id);
        }
        let first = &posts[0].related(Post::author())[0];
        let second = &posts[1].related(Post::author())[0];
        assert!(Arc::ptr_eq(first, second), "one author row for all of the author's posts");
    }

    /// has-one: the profile of each user, `None` where there is none.
    async fn has_one_attaches_zero_or_one(db) {
        let blog = Blog::new(&db).await;
        blog.seed(2, 0, 0).await;
        blog.profiles.create(Profile::new(10, 2, "bio of 2".into()), None).await.unwrap();

        let users = blog.users.find_with(QueryBuilder::new(), User::profile()).await.unwrap();

        assert!(users[0].one(User::profile()).is_none());
        assert_eq!(users[1].one(User::profile()).map(|p| p.bio.as_str()), Some("bio of 2"));
    }

    /// many-to-many through a join model, from both sides.
    async fn many_to_many_through_a_join_model(db) {
        let blog = Blog::new(&db).await;
        blog.seed(1, 3, 0).await;
        let tags = vec![Tag::new(1, "rust".into()), Tag::new(2, "sql".into()), Tag::new(3, "unused".into())];
        blog.tags.create_many(tags, None).await.unwrap();
        let links = vec![PostTag::new(1, 1001, 1), PostTag::new(2, 1001, 2), PostTag::new(3, 1002, 1)];
        blog.post_tags.create_many(links, None).await.unwrap();

        let posts = blog.posts.find_with(QueryBuilder::new(), Post::tags()).await.unwrap();
        let labels: Vec<Vec<&str>> =
            posts.iter().map(|p| p.related(Post::tags()).iter().map(|t| t.label.as_str()).collect()).collect();
        assert_eq!(labels, [vec!["rust", "sql"], vec!["rust"], vec![]]);

        let tags = blog.tags.find_with(QueryBuilder::new(), Tag::posts()).await.unwrap();
        let posts_of: Vec<Vec<i64>> =
            tags.iter().map(|t| t.related(Tag::posts()).iter().map(|p| p.id).collect()).collect();
        assert_eq!(posts_of, [vec![1001, 1002], vec![1001], vec![]]);
    }

    /// Three levels, users → posts → comments: 100 × 10 × 10 rows in exactly three statements.
    async fn nested_loading_runs_one_statement_per_level(db) {
        let blog = Blog::new(&db).await;
        blog.seed(100, 10, 10).await;

        let statements = Statements::default();
        let guard = tracing::subscriber::set_default(statements.clone());
        let users = blog.users.find_with(QueryBuilder::new(), User::posts().with(Post::comments())).await.unwrap();
        drop(guard);

        let seen = statements.seen();
        let expected = [("find", "rel_users"), ("load", "rel_posts"), ("load", "rel_comments")];
        let seen: Vec<(&str, &str)> = seen.iter().map(|(o, t)| (o.as_str(), t.as_str())).collect();
        assert_eq!(seen, expected);
        assert_eq!(users.len(), 100);
        for user in &users {
            let posts = user.related(User::posts());
            assert_eq!(posts.len(), 10);
            for post in posts {
                assert_eq!(post.author_id, user.id);
                let comments = post.related(Post::comments());
                assert_eq!(comments.len(), 10);
                assert!(comments.iter().all(|c| c.post_id == post.id));
            }
        }
    }

    /// The relation's query orders and limits each parent's related records, not all of them.
    async fn order_and_limit_apply_per_parent(db) {
        let blog = Blog::new(&db).await;
        blog.seed(3, 5, 0).await;

        let top = User::posts().query(QueryBuilder::new().order_by("score", SortOrder::Desc).limit(2));
        let users = blog.users.find_with(QueryBuilder::new(), top).await.unwrap();
        let shape: Vec<Vec<i32>> =
            users.iter().map(|u| u.related(User::posts()).iter().map(|p| p.score).collect()).collect();
        assert_eq!(shape, [vec![5, 4], vec![5, 4], vec![5, 4]]);

        let page = User::posts().query(QueryBuilder::new().order_by("score", SortOrder::Asc).offset(1).limit(2));
        let users = blog.users.find_with(QueryBuilder::new(), page).await.unwrap();
        let shape: Vec<Vec<i32>> =
            users.iter().map(|u| u.related(User::posts()).iter().map(|p| p.score).collect()).collect();
        assert_eq!(shape, [vec![2, 3], vec![2, 3], vec![2, 3]]);

        let filtered = User::posts().query(QueryBuilder::new().filter(QueryFilter::gte("score", json!(4))));
        let users = blog.users.find_with(QueryBuilder::new().limit(1), filtered).await.unwrap();
        assert_eq!(users.len(), 1);
        let scores: Vec<i32> = users[0].related(User::posts()).iter().map(|p| p.score).collect();
        assert_eq!(scores, [4, 5]);
    }

    /// Soft-deleted related records are left out unless the relation's query includes them.
    async fn soft_deleted_related_records_are_left_out(db) {
        let blog = Blog::new(&db).await;
        blog.seed(1, 3, 0).await;
        assert!(blog.posts.delete(&1002).await.unwrap());

        let users = blog.users.find_with(QueryBuilder::new(), User::posts()).await.unwrap();
        let live: Vec<i64> = users[0].related(User::posts()).iter().map(|p| p.id).collect();
        assert_eq!(live, [1001, 1003]);

        let all = User::posts().query(QueryBuilder::new().with_deleted());
        let users = blog.users.find_with(QueryBuilder::new(), all).await.unwrap();
        let every: Vec<i64> = users[0].related(User::posts()).iter().map(|p| p.id).collect();
        assert_eq!(every, [1001, 1002, 1003]);
    }

    /// No parents, no statements for the relations; records read earlier load the same way.
    async fn empty_parents_and_records_read_before(db) {
        let blog = Blog::new(&db).await;
        blog.seed(2, 2, 1).await;

        let statements = Statements::default();
        let guard = tracing::subscriber::set_default(statements.clone());
        let none = blog
            .users
            .find_with(QueryBuilder::new().filter(QueryFilter::eq("name", json!("nobody"))), User::posts())
            .await
            .unwrap();
        drop(guard);
        assert!(none.is_empty());
        assert_eq!(statements.seen().len(), 1, "{:?}", statements.seen());

        let one = blog.users.get_by_id(&2).await.unwrap().unwrap();
        let loaded = blog.users.load(vec![one], User::posts().with(Post::comments())).await.unwrap();
        let posts = loaded[0].related(User::posts());
        assert_eq!(posts.iter().map(|p| p.id).collect::<Vec<_>>(), [2001, 2002]);
        assert_eq!(posts[1].related(Post::comments())[0].id, 200_201);
    }

    /// 20 000 parents load their related records in one statement per level, with one array
    /// parameter however many keys.
    async fn twenty_thousand_parents_in_one_statement(db) {
        let blog = Blog::new(&db).await;
        blog.seed(20_000, 1, 0).await;

        let statements = Statements::default();
        let guard = tracing::subscriber::set_default(statements.clone());
        let users = blog.users.find_with(QueryBuilder::new(), (User::posts(), User::profile())).await.unwrap();
        drop(guard);

        assert_eq!(statements.seen().len(), 3, "{:?}", statements.seen());
        assert_eq!(users.len(), 20_000);
        assert!(users.iter().all(|u| u.related(User::posts()).len() == 1 && u.related(User::posts())[0].author_id == u.id));
    }

    /// Counts per parent without loading the related records.
    async fn with_count_counts_without_loading(db) {
        let blog = Blog::new(&db).await;
        blog.seed(3, 2, 0).await;
        blog.users.create(User::new(4, "no posts".into()), None).await.unwrap();
        blog.posts.delete(&1001).await.unwrap();

        let statements = Statements::default();
        let guard = tracing::subscriber::set_default(statements.clone());
        let users = blog.users.find_with(QueryBuilder::new(), User::posts().with_count()).await.unwrap();
        drop(guard);

        let counts: Vec<Option<u64>> = users.iter().map(|u| u.count(User::posts())).collect();
        assert_eq!(counts, [Some(1), Some(2), Some(2), Some(0)]);
        assert!(users.iter().all(|u| u.related(User::posts()).is_empty()), "counting loads no records");
        let seen = statements.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].0, "load_count");

        let high = User::posts().query(QueryBuilder::new().filter(QueryFilter::gte("score", json!(2)))).with_count();
        let users = blog.users.find_with(QueryBuilder::new(), high).await.unwrap();
        let counts: Vec<Option<u64>> = users.iter().map(|u| u.count(User::posts())).collect();
        assert_eq!(counts, [Some(1), Some(1), Some(1), Some(0)]);
    }

    /// A load inside a transaction sees the transaction's own writes.
    async fn loading_in_a_transaction_sees_its_writes(db) {
        let blog = Blog::new(&db).await;
        blog.seed(1, 1, 0).await;
        let tx = blog.storehaus.begin().await.unwrap();
        blog.posts.with_transaction(&tx).create(Post::new(1002, 1, "draft".into(), 9), None).await.unwrap();

        let inside = blog.users.with_transaction(&tx).find_with(QueryBuilder::new(), User::posts()).await.unwrap();
        assert_eq!(inside[0].related(User::posts()).len(), 2);
        tx.rollback().await.unwrap();

        let after = blog.users.find_with(QueryBuilder::new(), User::posts()).await.unwrap();
        assert_eq!(after[0].related(User::posts()).len(), 1);
    }

    /// A relation's query that pages by cursor or locks is refused before anything runs.
    async fn refused_relation_queries(db) {
        let blog = Blog::new(&db).await;
        blog.seed(1, 1, 0).await;
        let locked = User::posts().query(QueryBuilder::new().for_update());
        let error = blog.users.find_with(QueryBuilder::new(), locked).await.unwrap_err();
        assert!(matches!(error, StoreError::Validation { .. }), "{error:?}");
        let unknown = User::posts().query(QueryBuilder::new().filter(QueryFilter::eq("nope", json!(1))));
        let error = blog.users.find_with(QueryBuilder::new(), unknown).await.unwrap_err();
        assert!(matches!(error, StoreError::UnknownField { ref table, .. } if table == "rel_posts"), "{error:?}");
    }
}

on_both_backends! {
    /// A loaded tree serializes as the records' objects with one member per relation.
    async fn loaded_records_serialize_with_their_relations(db) {
        let blog = Blog::new(&db).await;
        blog.seed(1, 2, 1).await;
        let users = blog
            .users
            .find_with(QueryBuilder::new(), (User::posts().with(Post::comments()), User::profile().with_count()))
            .await
            .unwrap();
        let json = serde_json::to_value(&users).unwrap();
        assert_eq!(json[0]["name"], "user 1");
        assert_eq!(json[0]["profile"], 0);
        assert_eq!(json[0]["posts"][1]["title"], "post 1.2");
        assert_eq!(json[0]["posts"][1]["comments"][0]["id"], 100_201);
        assert!(json[0]["posts"][0]["__created_at__"].is_string());
    }
}

on_both_backends! {
    /// One relation twice at one level is refused: the second would replace the first.
    async fn a_relation_loaded_twice_is_refused(db) {
        let blog = Blog::new(&db).await;
        blog.seed(1, 1, 0).await;
        let twice = (User::posts(), User::posts().with_count());
        let error = blog.users.find_with(QueryBuilder::new(), twice).await.unwrap_err();
        assert!(matches!(&error, StoreError::Validation { message, .. } if message.contains("`posts` is loaded twice")), "{error:?}");
        // Checked before anything runs, whether or not there are records to load onto.
        let nested = User::posts().with((Post::comments(), Post::comments()));
        let query = QueryBuilder::new().filter(QueryFilter::eq("name", json!("nobody")));
        let error = blog.users.find_with(query, nested).await.unwrap_err();
        assert!(matches!(error, StoreError::Validation { .. }), "{error:?}");
    }
}

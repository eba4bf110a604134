//! Filters over relations (`EXISTS`), on every relation kind, combined, negated and nested.

use super::*;

/// Two users: 1 has posts tagged "rust" and "sql" (one soft-deleted), 2 has one untagged post,
/// 3 has none.
async fn tagged_blog(db: &impl TestBackend) -> Blog {
    let blog = Blog::new(db).await;
    blog.seed(3, 0, 0).await;
    let posts = vec![
        Post::new(1001, 1, "a".into(), 1),
        Post::new(1002, 1, "b".into(), 2),
        Post::new(1003, 1, "gone".into(), 3),
        Post::new(2001, 2, "c".into(), 4),
    ];
    blog.posts.create_many(posts, Some(vec!["draft".into()])).await.unwrap();
    blog.posts.add_tags(&1001, ["rust"]).await.unwrap();
    blog.posts.add_tags(&1003, ["go"]).await.unwrap();
    blog.posts.delete(&1003).await.unwrap();
    blog.tags.create_many(vec![Tag::new(1, "rust".into()), Tag::new(2, "sql".into())], None).await.unwrap();
    blog.post_tags.create_many(vec![PostTag::new(1, 1001, 1), PostTag::new(2, 1002, 2)], None).await.unwrap();
    blog.comments.create(Comment::new(1, 2001, "nice".into()), None).await.unwrap();
    blog
}

async fn user_ids(blog: &Blog, filter: QueryFilter) -> Vec<i64> {
    blog.users.find(QueryBuilder::new().filter(filter)).await.unwrap().iter().map(|u| u.id).collect()
}

on_both_backends! {
    /// `has` keeps records with at least one related record; `not(has)` those without.
    async fn has_and_has_not(db) {
        let blog = tagged_blog(&db).await;
        assert_eq!(user_ids(&blog, QueryFilter::has(User::posts())).await, [1, 2]);
        assert_eq!(user_ids(&blog, QueryFilter::not(QueryFilter::has(User::posts()))).await, [3]);
        assert_eq!(blog.users.count_where(QueryBuilder::new().filter(QueryFilter::has(User::posts()))).await.unwrap(), 2);
    }

    /// `has_where` filters the related records; soft-deleted ones never count.
    async fn has_where_filters_related_records(db) {
        let blog = tagged_blog(&db).await;
        let rust = QueryFilter::has_where(User::posts(), QueryFilter::has_any_tag(["rust"]));
        assert_eq!(user_ids(&blog, rust).await, [1]);
        let go = QueryFilter::has_where(User::posts(), QueryFilter::has_any_tag(["go"]));
        assert!(user_ids(&blog, go).await.is_empty(), "the post tagged go is soft-deleted");
        let high = QueryFilter::has_where(User::posts(), QueryFilter::gte("score", json!(4)));
        assert_eq!(user_ids(&blog, high).await, [2]);
    }

    /// Through a join model, from a belongs-to, and two levels deep.
    async fn every_relation_kind_and_nesting(db) {
        let blog = tagged_blog(&db).await;
        let tagged_sql = QueryFilter::has_where(Post::tags(), QueryFilter::eq("label", json!("sql")));
        let posts: Vec<i64> = blog.posts.find(QueryBuilder::new().filter(tagged_sql)).await.unwrap().iter().map(|p| p.id).collect();
        assert_eq!(posts, [1002]);

        let by_user_2 = QueryFilter::has_where(Post::author(), QueryFilter::eq("name", json!("user 2")));
        let posts: Vec<i64> = blog.posts.find(QueryBuilder::new().filter(by_user_2)).await.unwrap().iter().map(|p| p.id).collect();
        assert_eq!(posts, [2001]);

        let commented = QueryFilter::has_where(User::posts(), QueryFilter::has(Post::comments()));
        assert_eq!(user_ids(&blog, commented).await, [2]);

        let either = QueryFilter::or(vec![
            QueryFilter::has_where(User::posts(), QueryFilter::has(Post::comments())),
            QueryFilter::has_where(User::posts(), QueryFilter::has(Post::tags())),
        ]);
        assert_eq!(user_ids(&blog, either).await, [1, 2]);
    }

    /// The filter works in bulk writes as well: the users without posts are deleted.
    async fn has_in_bulk_writes(db) {
        let blog = tagged_blog(&db).await;
        let gone = blog.users.delete_where(QueryBuilder::new().filter(QueryFilter::not(QueryFilter::has(User::posts())))).await.unwrap();
        assert_eq!(gone, 1);
        assert_eq!(raw::int(&blog.storehaus, "SELECT COUNT(*) FROM \"rel_users\"").await, 2);
    }

    /// A relation of a model to itself compares the inner row with the outer one.
    async fn relation_to_itself(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Employee>(false).await.unwrap();
        let staff = GenericStore::<Employee>::new(storehaus.pool().clone(), None, None);
        let people = vec![
            Employee::new(1, None, "boss".into()),
            Employee::new(2, Some(1), "lead".into()),
            Employee::new(3, Some(2), "dev".into()),
        ];
        staff.create_many(people, None).await.unwrap();

        let managers: Vec<i64> =
            staff.find(QueryBuilder::new().filter(QueryFilter::has(Employee::reports()))).await.unwrap().iter().map(|e| e.id).collect();
        assert_eq!(managers, [1, 2]);
        let under_boss = QueryFilter::has_where(Employee::manager(), QueryFilter::eq("name", json!("boss")));
        let under: Vec<i64> = staff.find(QueryBuilder::new().filter(under_boss)).await.unwrap().iter().map(|e| e.id).collect();
        assert_eq!(under, [2]);

        let loaded = staff.find_with(QueryBuilder::new(), (Employee::reports(), Employee::manager())).await.unwrap();
        let reports: Vec<Vec<i64>> = loaded.iter().map(|e| e.related(Employee::reports()).iter().map(|r| r.id).collect()).collect();
        assert_eq!(reports, [vec![2], vec![3], vec![]]);
        assert_eq!(loaded[2].one(Employee::manager()).map(|m| m.id), Some(2));
    }

    /// A relation of another model is refused, naming both.
    async fn relation_of_another_model_is_refused(db) {
        let blog = tagged_blog(&db).await;
        let error = blog.users.find(QueryBuilder::new().filter(QueryFilter::has(Post::comments()))).await.unwrap_err();
        assert!(matches!(&error, StoreError::Validation { message, .. } if message.contains("comments")), "{error:?}");
        let unknown = QueryFilter::has_where(User::posts(), QueryFilter::eq("nope", json!(1)));
        let error = blog.users.find(QueryBuilder::new().filter(unknown)).await.unwrap_err();
        assert!(matches!(&error, StoreError::UnknownField { table, .. } if table == "rel_posts"), "{error:?}");
    }
}

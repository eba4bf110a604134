//! Relations on both backends: declarations, foreign keys from migrations, eager loading
//! without one statement per record, filters over relations and counts.

use std::sync::{Arc, Mutex};
use storehaus::prelude::*;
use storehaus_suite::{TestBackend, on_both_backends, raw};

mod filters;
mod joined;
mod loading;
mod migrations;
mod scopes;

#[model]
#[table(name = "rel_users")]
#[has_many(Post, foreign_key = "author_id")]
#[has_one(Profile, foreign_key = "user_id")]
pub struct User {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

#[model]
#[table(name = "rel_profiles")]
pub struct Profile {
    #[primary_key]
    pub id: i64,
    #[belongs_to(User, on_delete = "cascade")]
    #[unique]
    pub user_id: i64,
    pub bio: String,
}

#[model]
#[table(name = "rel_posts", soft_delete)]
#[has_many(Comment, foreign_key = "post_id")]
#[many_to_many(Tag, through = PostTag, foreign_key = "post_id", target_key = "tag_id")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    #[belongs_to(User, on_delete = "cascade")]
    pub author_id: i64,
    pub title: String,
    pub score: i32,
}

#[model]
#[table(name = "rel_comments")]
pub struct Comment {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Post, on_delete = "cascade")]
    pub post_id: i64,
    pub body: String,
}

#[model]
#[table(name = "rel_tags")]
#[many_to_many(Post, through = PostTag, foreign_key = "tag_id", target_key = "post_id")]
pub struct Tag {
    #[primary_key]
    pub id: i64,
    pub label: String,
}

#[model]
#[table(name = "rel_post_tags")]
#[unique(post_id, tag_id)]
pub struct PostTag {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Post, on_delete = "cascade")]
    pub post_id: i64,
    #[belongs_to(Tag, on_delete = "cascade")]
    pub tag_id: i64,
}

/// A model related to itself: an employee's manager is an employee.
#[model]
#[table(name = "rel_employees")]
#[has_many(Employee, foreign_key = "manager_id", name = "reports")]
pub struct Employee {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Employee, on_delete = "set_null", name = "manager")]
    pub manager_id: Option<i64>,
    pub name: String,
}

/// The stores of the blog models, their tables migrated parents first.
#[derive(Debug)]
pub struct Blog {
    pub storehaus: StoreHaus,
    pub users: GenericStore<User>,
    pub profiles: GenericStore<Profile>,
    pub posts: GenericStore<Post>,
    pub comments: GenericStore<Comment>,
    pub tags: GenericStore<Tag>,
    pub post_tags: GenericStore<PostTag>,
}

impl Blog {
    pub async fn new(db: &impl TestBackend) -> Blog {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<User>(false).await.unwrap();
        storehaus.auto_migrate::<Profile>(false).await.unwrap();
        storehaus.auto_migrate::<Post>(false).await.unwrap();
        storehaus.auto_migrate::<Comment>(false).await.unwrap();
        storehaus.auto_migrate::<Tag>(false).await.unwrap();
        storehaus.auto_migrate::<PostTag>(false).await.unwrap();
        let pool = storehaus.pool().clone();
        Blog {
            users: GenericStore::new(pool.clone(), None, None),
            profiles: GenericStore::new(pool.clone(), None, None),
            posts: GenericStore::new(pool.clone(), None, None),
            comments: GenericStore::new(pool.clone(), None, None),
            tags: GenericStore::new(pool.clone(), None, None),
            post_tags: GenericStore::new(pool, None, None),
            storehaus,
        }
    }

    /// `users` users; user `u` (from 1) has `posts_each` posts with ids `u * 1000 + p` and
    /// scores `p`, each with `comments_each` comments with ids `post * 100 + c`.
    pub async fn seed(&self, users: i64, posts_each: i64, comments_each: i64) {
        let people: Vec<User> = (1..=users).map(|u| User::new(u, format!("user {u}"))).collect();
        self.users.create_many(people, None).await.unwrap();
        let posts: Vec<Post> = (1..=users)
            .flat_map(|u| (1..=posts_each).map(move |p| Post::new(u * 1000 + p, u, format!("post {u}.{p}"), p as i32)))
            .collect();
        for chunk in posts.chunks(5000) {
            self.posts.create_many(chunk.to_vec(), None).await.unwrap();
        }
        let comments: Vec<Comment> = (1..=users)
            .flat_map(|u| (1..=posts_each).map(move |p| u * 1000 + p))
            .flat_map(|post| {
                (1..=comments_each).map(move |c| Comment::new(post * 100 + c, post, format!("comment {c}")))
            })
            .collect();
        for chunk in comments.chunks(5000) {
            self.comments.create_many(chunk.to_vec(), None).await.unwrap();
        }
    }
}

/// Counts the statements store calls run, by their spans: every statement runs in exactly one
/// span named `storehaus` (the call's own, or one per relation level of a load).
#[derive(Debug, Clone, Default)]
pub struct Statements {
    operations: Arc<Mutex<Vec<(String, String)>>>,
}

impl Statements {
    /// The `(db.operation, db.sql.table)` of every span recorded.
    pub fn seen(&self) -> Vec<(String, String)> {
        self.operations.lock().unwrap().clone()
    }
}

struct Fields<'a>(&'a mut (String, String));

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "db.operation" => self.0.0 = value.to_owned(),
            "db.sql.table" => self.0.1 = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, format!("{value:?}").trim_matches('"'));
    }
}

impl tracing::Subscriber for Statements {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut operations = self.operations.lock().unwrap();
        if span.metadata().name() == "storehaus" {
            let mut fields = (String::new(), String::new());
            span.record(&mut Fields(&mut fields));
            operations.push(fields);
        }
        tracing::span::Id::from_u64(operations.len() as u64 + 1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[belongs_to(Post)]
pub struct User {
    #[primary_key]
    pub id: i64,
    #[has_many(Post, foreign_key = "author_id")]
    pub name: String,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    #[belongs_to(User)]
    #[belongs_to(User, on_delete = "cascade")]
    pub author_id: i64,
    #[has_one(User, foreign_key = "id", target_key = "id")]
    pub title: String,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[has_many(Post, foreign_key = "author_id")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    pub author_id: Option<i64>,
}

fn main() {}

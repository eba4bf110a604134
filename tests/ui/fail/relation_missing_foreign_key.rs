use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[has_many(Post, foreign_key = "authr_id")]
pub struct User {
    #[primary_key]
    pub id: i64,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    pub author_id: i64,
}

fn main() {}

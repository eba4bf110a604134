use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: i64,
}

#[model]
#[table(name = "posts")]
#[has_one(Self, foreign_key = "reply_to", name = "title")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    pub author: String,
    pub title: String,
    #[belongs_to(User)]
    pub author_id: i64,
    pub reply_to: Option<i64>,
}

fn main() {}

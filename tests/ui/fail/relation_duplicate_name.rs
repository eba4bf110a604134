use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[has_many(Post, foreign_key = "author_id")]
#[has_many(Post, foreign_key = "editor_id")]
#[has_one(Post, foreign_key = "pinned_by", name = "new")]
pub struct User {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Post, name = "posts")]
    pub pinned_id: Option<i64>,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    pub author_id: i64,
    pub editor_id: i64,
    pub pinned_by: Option<i64>,
}

fn main() {
    // The first relation of each name is still generated.
    let _ = User::posts();
}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: i64,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    #[belongs_to(User)]
    pub author: i64,
    #[belongs_to(User, name = "writer")]
    pub writer_ref: i64,
}

fn main() {
    let _ = Post::writer();
}

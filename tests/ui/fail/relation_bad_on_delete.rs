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
    #[belongs_to(User, on_delete = "nullify")]
    pub author_id: Option<i64>,
    #[belongs_to(User, on_delete = cascade)]
    pub editor_id: i64,
}

fn main() {}

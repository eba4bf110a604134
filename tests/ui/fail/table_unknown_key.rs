use storehaus::prelude::*;

#[model]
#[table(name = "users", sofft_delete)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name = "posts", storehaus::versioned)]
pub struct Post {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users", soft_delete, versioned, soft_delete, versioned)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name = "posts", name = "articles")]
pub struct Post {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

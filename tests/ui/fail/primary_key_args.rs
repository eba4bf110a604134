use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key(auto)]
    pub id: Uuid,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key = "id"]
    pub id: Uuid,
}

fn main() {}

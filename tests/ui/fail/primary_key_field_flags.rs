use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    #[field(create, update)]
    pub id: Uuid,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key]
    #[field(readonly)]
    pub id: Uuid,
}

fn main() {}

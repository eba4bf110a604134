use storehaus::prelude::*;

#[model]
#[table(soft_delete)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table]
pub struct Post {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[table(soft_delete)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

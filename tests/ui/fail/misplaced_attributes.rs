use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[primary_key]
#[field(create)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[table(name = "names")]
    pub name: String,
}

fn main() {}

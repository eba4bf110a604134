use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[primary_key]
    pub email: String,
    #[primary_key]
    #[primary_key]
    pub name: String,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[index()]
#[unique]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

fn main() {}

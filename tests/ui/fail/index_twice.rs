use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[index]
    #[index]
    pub name: String,
    #[unique]
    #[unique]
    pub email: String,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[field()]
    pub name: String,
    #[field]
    pub email: String,
}

fn main() {}

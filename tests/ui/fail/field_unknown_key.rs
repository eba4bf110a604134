use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[field(create, updte)]
    pub name: String,
    #[field(create, serde::skip)]
    pub email: String,
}

fn main() {}

use storehaus::prelude::*;

#[model(table = "users")]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

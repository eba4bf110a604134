use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    pub id: Uuid,
    pub name: String,
}

fn main() {}

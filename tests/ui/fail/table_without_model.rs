use storehaus::prelude::*;

#[table(name = "users")]
pub struct User {
    pub id: Uuid,
}

fn main() {}

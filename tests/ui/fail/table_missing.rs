use storehaus::prelude::*;

#[model]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

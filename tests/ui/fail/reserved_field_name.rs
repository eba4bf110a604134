use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub __tags__: Vec<String>,
    pub __mine__: i32,
}

fn main() {}

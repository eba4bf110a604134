use storehaus::prelude::*;

#[model]
#[table(name = "users", auto_increment, auto_increment)]
pub struct User {
    #[primary_key]
    #[field(create)]
    pub id: i64,
    pub name: String,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users", auto_increment)]
pub struct User {
    #[primary_key]
    pub id: i64,
    #[primary_key]
    pub email: String,
    #[primary_key]
    #[primary_key]
    pub name: String,
}

fn main() {}

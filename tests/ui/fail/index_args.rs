use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[index(name, email)]
    pub name: String,
    #[unique(email)]
    pub email: String,
    #[index = "age_idx"]
    pub age: i32,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[index(name = "by_name")]
#[unique = "name"]
#[index("name")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[unique(email, name, email)]
#[index(name, r#name)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

fn main() {}

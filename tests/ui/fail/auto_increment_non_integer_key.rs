use storehaus::prelude::*;

#[model]
#[table(name = "users", auto_increment)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

#[model]
#[table(name = "labels", auto_increment)]
pub struct Label {
    #[primary_key]
    pub id: String,
}

fn main() {}

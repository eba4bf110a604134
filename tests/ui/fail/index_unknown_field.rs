use storehaus::prelude::*;

#[model]
#[table(name = "users")]
#[index(name, agee)]
#[unique(mail)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub age: i32,
}

fn main() {}

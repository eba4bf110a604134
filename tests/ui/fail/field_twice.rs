use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[field(create)]
    #[field(update)]
    pub name: Option<String>,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[field(create = true)]
    pub name: String,
    #[field(update(always))]
    pub note: Option<String>,
    #[field = "create"]
    pub email: String,
}

fn main() {}

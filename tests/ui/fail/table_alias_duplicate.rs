use storehaus::prelude::*;

#[model]
#[table(name = "users", soft_delete, auto_soft_delete)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

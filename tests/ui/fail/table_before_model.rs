use storehaus::prelude::*;

#[table(name = "users", soft_delete)]
#[model]
pub struct User {
    #[primary_key]
    pub id: Uuid,
}

fn main() {
    // The options are still applied, so the order is the only error.
    let _ = User::TABLE.soft_delete;
}

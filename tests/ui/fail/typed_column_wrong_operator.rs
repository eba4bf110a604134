use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub age: i32,
}

fn main() {
    // LIKE only exists for text columns.
    let _ = User::columns().age.like("4%");
}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub email: String,
}

fn main() {
    // A misspelled column is a compile error, not a runtime `UnknownField`.
    let _ = QueryBuilder::new().filter(User::columns().emial.eq("a@example.com"));
}

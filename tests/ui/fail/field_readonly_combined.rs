use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[field(readonly, create)]
    pub score: Option<i64>,
    #[field(update, readonly)]
    pub rank: Option<i64>,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[field(update)]
    pub note: String,
    #[field(readonly)]
    pub score: Vec<i64>,
    #[field(create)]
    pub referrer: String,
}

fn main() {}

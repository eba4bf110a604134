use storehaus::prelude::*;

// Row-level security enforces the principal or tenant scope; this table has neither.
#[model]
#[table(name = "documents", soft_delete, row_security)]
pub struct Document {
    #[primary_key]
    pub id: Uuid,
    pub title: String,
}

fn main() {}

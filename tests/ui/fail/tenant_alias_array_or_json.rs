use storehaus::prelude::*;

// Behind an alias the macro cannot see the type; the compiler checks the column type instead.
type Orgs = Vec<String>;
type Document = serde_json::Value;

#[model]
#[table(name = "invoices")]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub orgs: Orgs,
}

#[model]
#[table(name = "notes")]
pub struct Note {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub org: Option<Document>,
}

fn main() {}

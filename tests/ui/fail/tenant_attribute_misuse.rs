use storehaus::prelude::*;

#[model]
#[table(name = "invoices")]
#[tenant]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant(org)]
    pub org_id: Uuid,
}

#[model]
#[table(name = "notes")]
pub struct Note {
    #[primary_key]
    pub id: Uuid,
    #[tenant = "org"]
    pub org: String,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    #[tenant]
    pub org: String,
}

fn main() {}

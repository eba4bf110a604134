use storehaus::prelude::*;

// A tenant scope writes the tenant of the rows it creates.
#[model]
#[table(name = "invoices")]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    #[field(readonly)]
    pub org_id: Option<Uuid>,
}

#[model]
#[table(name = "notes")]
pub struct Note {
    #[primary_key]
    pub id: Uuid,
    #[field(update)]
    #[tenant]
    pub org: Option<String>,
}

#[model]
#[table(name = "orgs", auto_increment)]
pub struct Org {
    #[primary_key]
    #[tenant]
    pub id: i64,
}

fn main() {}

use storehaus::prelude::*;

// Every event carries the tenant, so it cannot be left out of payloads.
#[model]
#[table(name = "invoices", auth)]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    #[field(create, no_signal)]
    pub org_id: Uuid,
}

fn main() {}

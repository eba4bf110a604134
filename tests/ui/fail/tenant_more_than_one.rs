use storehaus::prelude::*;

// One tenant per model: every `#[tenant]` after the first is refused.
#[model]
#[table(name = "invoices")]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub org_id: Uuid,
    #[tenant]
    pub region: String,
    #[tenant]
    #[index]
    pub team: i64,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "projects", auth, auth)]
pub struct Project {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name = "invoices", auth = true, row_security(on))]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub org_id: Uuid,
}

#[model]
#[table(name = "notes", auht)]
pub struct Note {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

use storehaus::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub region: String,
}

// A tenant is one scalar value; the type's name shows these are not.
#[model]
#[table(name = "invoices")]
pub struct Invoice {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub orgs: Vec<String>,
}

#[model]
#[table(name = "notes")]
pub struct Note {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub org: Option<serde_json::Value>,
}

#[model]
#[table(name = "posts")]
pub struct Post {
    #[primary_key]
    pub id: Uuid,
    #[tenant]
    pub org: Json<Settings>,
}

fn main() {}

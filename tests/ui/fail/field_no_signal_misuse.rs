use storehaus::prelude::*;

#[model]
#[table(name = "accounts")]
pub struct Account {
    #[primary_key]
    #[field(no_signal)]
    pub id: Uuid,
    #[field(no_signal, no_signal)]
    pub password_hash: String,
    #[field(no_signal = true)]
    pub salt: String,
}

fn main() {}

//! `#[field(no_signal)]` leaves a field out of change events and changes nothing else: alone, the
//! field is written on create and update as without `#[field]`; beside `create`, `update` or
//! `readonly` those say which writes include it.

use storehaus::model::Write;
use storehaus::prelude::*;

#[model]
#[table(name = "accounts")]
pub struct Account {
    #[primary_key]
    pub id: Uuid,
    pub email: String,
    #[field(no_signal)]
    pub password_hash: String,
    #[field(create, no_signal)]
    pub salt: String,
    #[field(readonly, no_signal)]
    pub token: Option<String>,
}

fn main() {
    let table = Account::TABLE;
    let signalled: Vec<&str> = table.columns.iter().filter(|c| c.signal).map(|c| c.name).collect();
    assert_eq!(signalled, ["id", "email"]);
    let left_out: Vec<&str> = table.no_signal_columns().map(|c| c.name).collect();
    assert_eq!(left_out, ["password_hash", "salt", "token"]);
    let created: Vec<&str> = table.written_columns(Write::Create).map(|c| c.name).collect();
    assert_eq!(created, ["id", "email", "password_hash", "salt"]);
    let updated: Vec<&str> = table.written_columns(Write::Update).map(|c| c.name).collect();
    assert_eq!(updated, ["email", "password_hash"]);
}

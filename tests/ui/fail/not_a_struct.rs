use storehaus::prelude::*;

#[model]
#[table(name = "states")]
pub enum State {
    Active,
    Banned,
}

#[model]
#[table(name = "pairs")]
pub struct Pair(#[primary_key] Uuid, String);

#[model]
#[table(name = "units")]
pub struct Unit;

#[model]
#[table(name = "funcs")]
pub fn func() {}

fn main() {}

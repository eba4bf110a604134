use storehaus::prelude::*;

#[model]
#[table(name = users)]
pub struct Unquoted {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table = "users"]
pub struct NameValue {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name)]
pub struct BareName {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name = "users", soft_delete = true, versioned(always))]
pub struct FlagValues {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name = "users",, versioned)]
pub struct NotAList {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

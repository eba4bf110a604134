use storehaus::prelude::*;

#[model]
#[table(name = "")]
pub struct Empty {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name = "a_table_name_that_is_longer_than_the_sixty_three_bytes_postgres_keeps")]
pub struct TooLong {
    #[primary_key]
    pub id: Uuid,
}

#[model]
#[table(name = "nul\0byte")]
pub struct Nul {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub a_field_name_that_is_longer_than_the_sixty_three_bytes_postgres_keeps: i32,
}

fn main() {}

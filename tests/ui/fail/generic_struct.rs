use storehaus::prelude::*;

#[model]
#[table(name = "boxes")]
pub struct Boxed<T> {
    #[primary_key]
    pub id: Uuid,
    pub value: T,
}

#[model]
#[table(name = "borrowed")]
pub struct Borrowed<'a> {
    #[primary_key]
    pub id: Uuid,
    pub name: &'a str,
}

#[model]
#[table(name = "bounded")]
pub struct Bounded where Uuid: Copy {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}

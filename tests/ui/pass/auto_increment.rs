use storehaus::__private::Model;
use storehaus::prelude::*;

#[model]
#[table(name = "tickets", auto_increment, soft_delete)]
pub struct Ticket {
    #[primary_key]
    pub id: i64,
    pub title: String,
}

#[model]
#[table(name = "small_tickets", auto_increment)]
pub struct SmallTicket {
    #[primary_key]
    pub id: i32,
}

fn main() {
    let key = Ticket::TABLE.generated_key().expect("the key is generated");
    assert_eq!(key.name, "id");
    assert!(key.generated() && !key.create && !key.update);
    assert!(SmallTicket::TABLE.generated_key().is_some());
}

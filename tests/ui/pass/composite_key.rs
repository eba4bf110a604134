use storehaus::__private::Model;
use storehaus::prelude::*;

#[model]
#[table(name = "memberships")]
pub struct Membership {
    #[primary_key]
    pub tenant: String,
    pub role: String,
    #[primary_key]
    pub user_id: i64,
}

fn main() {
    let member = Membership { tenant: "acme".into(), role: "owner".into(), user_id: 7 };
    // The key is a tuple of the key fields, in declaration order.
    let key: (String, i64) = member.key();
    assert_eq!(key, ("acme".to_owned(), 7));
    let columns: Vec<&str> = Membership::TABLE.key_columns().map(|c| c.name).collect();
    assert_eq!(columns, ["tenant", "user_id"]);
    assert!(Membership::TABLE.composite_key());
    assert_eq!(Membership::TABLE.primary_key().name, "tenant");
}

use storehaus::prelude::*;

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

fn main() {
    let user = User::new(Uuid::nil(), "Ada".into(), "ada@example.com".into());
    assert_eq!(user.name, "Ada");
}

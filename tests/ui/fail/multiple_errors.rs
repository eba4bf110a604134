use storehaus::prelude::*;

// Every mistake in one model is reported in one compilation.
#[model(strict)]
#[table(name = "", sofft_delete)]
#[index(name, agee)]
pub struct User {
    pub id: Uuid,
    #[field(create, craete)]
    pub name: String,
    #[field(readonly, update)]
    #[index(name)]
    pub score: Option<i64>,
    pub __tags__: Vec<String>,
    #[field(update)]
    pub note: String,
}

fn main() {
    // The struct, `new` and the columns still exist, so uses of them raise no further errors.
    let user = User::new(Uuid::nil(), String::new(), None, Vec::new(), String::new());
    let _ = (user.clone(), User::columns().name.name());
}

//! Generated code names only absolute paths, so local items named like prelude types, or like
//! the names used inside the generated code, do not change its meaning.
#![allow(dead_code)]

use storehaus::prelude::*;

struct Result;
struct Option;
struct Vec;
struct Some;
struct Ok;
struct Box;
struct String;
struct Debug;
struct Clone;
struct Column;
struct Value;
struct TableDef;
struct ColumnDef;
struct IndexDef;
struct Write;
struct RowReader;
struct SqlType;
struct StoreError;
struct R;
struct T;
struct M;
mod core {}
mod serde {}

#[model]
#[table(name = "shadows")]
pub struct Shadow {
    #[primary_key]
    pub id: Uuid,
    pub name: std::string::String,
    pub note: std::option::Option<i32>,
}

fn main() {
    let shadow = Shadow::new(Uuid::nil(), "s".into(), None);
    assert_eq!(Shadow::columns().note.name(), "note");
    let copy = shadow.clone();
    assert_eq!((copy.name, shadow.name), ("s".to_owned(), "s".to_owned()));
}

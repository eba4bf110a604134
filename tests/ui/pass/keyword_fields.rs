//! Keywords and prelude names as field names: columns are quoted everywhere, and a raw
//! identifier's column name has no `r#`.

use storehaus::prelude::*;

#[model]
#[table(name = "orders")]
#[index(r#type, date)]
#[unique(order, type)]
struct Order {
    #[primary_key]
    key: Uuid,
    #[index]
    r#type: String,
    date: NaiveDate,
    order: i32,
    r#match: Option<bool>,
    r#use: i64,
    new: bool,
    columns: i16,
    row: i32,
}

fn main() {
    let table = Order::TABLE;
    let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    assert_eq!(names, ["key", "type", "date", "order", "match", "use", "new", "columns", "row"]);
    assert_eq!(table.indexes[0].columns, ["type"]);
    assert_eq!(table.indexes[1].columns, ["type", "date"]);
    assert_eq!(table.indexes[2].columns, ["order", "type"]);
    assert_eq!(Order::columns().r#type.name(), "type");
    assert_eq!(Order::columns().r#match.index(), 4);

    let order = Order::new(
        Uuid::nil(),
        "x".into(),
        NaiveDate::MIN,
        1,
        None,
        2,
        true,
        3,
        4,
    );
    assert_eq!(order.r#type, "x");
    assert_eq!(order.key(), Uuid::nil());
}

//! The metadata, constructor, typed columns and row functions that `#[model]` generates.

use storehaus::model::{ColumnDef, IndexDef, RowReader, Write};
use storehaus::prelude::*;
use storehaus::types::{ColumnType, ScalarType, SqlType};
use storehaus::Value;

#[model]
#[table(name = "users", soft_delete, versioned)]
#[index(name, age)]
#[unique(email, name)]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    #[field(create, update)]
    pub name: String,
    #[field(create)]
    #[unique]
    pub email: String,
    #[field(update)]
    pub note: Option<String>,
    #[field(readonly)]
    pub score: Option<i64>,
    #[index]
    pub age: Option<i32>,
    pub r#type: String,
}

/// Reads values in order, as a backend row would.
struct Row(std::vec::IntoIter<Value>);

impl RowReader for Row {
    fn read<T: SqlType>(&mut self) -> Result<T, StoreError> {
        let value = self.0.next().ok_or_else(|| StoreError::validation("row", "too few values"))?;
        T::from_value(value).map_err(|e| StoreError::validation("row", e.to_string()))
    }
}

fn column(name: &'static str, ty: ScalarType, nullable: bool, pk: bool, create: bool, update: bool) -> ColumnDef {
    ColumnDef { name, ty: ColumnType::Scalar(ty), nullable, int_range: None, primary_key: pk, create, update, signal: true }
}

fn main() {
    let table = User::TABLE;
    assert_eq!(table.name, "users");
    assert_eq!(table.model, "User");
    assert!(table.soft_delete);
    assert!(table.versioned);
    assert_eq!(table.primary_key, 0);
    assert_eq!(table.primary_key().name, "id");
    assert_eq!(
        table.columns,
        [
            column("id", ScalarType::Uuid, false, true, true, false),
            column("name", ScalarType::Text, false, false, true, true),
            column("email", ScalarType::Text, false, false, true, false),
            column("note", ScalarType::Text, true, false, false, true),
            column("score", ScalarType::BigInt, true, false, false, false),
            column("age", ScalarType::Integer, true, false, true, true),
            column("type", ScalarType::Text, false, false, true, true),
        ]
    );
    assert_eq!(
        table.indexes,
        [
            IndexDef { columns: &["email"], unique: true },
            IndexDef { columns: &["age"], unique: false },
            IndexDef { columns: &["name", "age"], unique: false },
            IndexDef { columns: &["email", "name"], unique: true },
        ]
    );
    let created: Vec<&str> = table.written_columns(Write::Create).map(|c| c.name).collect();
    assert_eq!(created, ["id", "name", "email", "age", "type"]);
    let updated: Vec<&str> = table.written_columns(Write::Update).map(|c| c.name).collect();
    assert_eq!(updated, ["name", "note", "age", "type"]);

    let columns = User::columns();
    assert_eq!(columns.email.name(), "email");
    assert_eq!(columns.email.index(), 2);
    assert_eq!(columns.r#type.name(), "type");
    let _: storehaus::Column<User, Option<i32>> = columns.age;

    let id = Uuid::from_u128(7);
    let user = User::new(id, "Ada".into(), "ada@example.com".into(), None, Some(3), Some(36), "admin".into());
    assert_eq!(user.key(), id);
    assert_eq!(user.score, Some(3));

    let mut values = Vec::new();
    user.write_values(Write::Create, &mut values).expect("encodes");
    assert_eq!(
        values,
        [
            Value::Uuid(id),
            Value::Text("Ada".into()),
            Value::Text("ada@example.com".into()),
            Value::Integer(36),
            Value::Text("admin".into()),
        ]
    );
    values.clear();
    user.write_values(Write::Update, &mut values).expect("encodes");
    assert_eq!(
        values,
        [Value::Text("Ada".into()), Value::Null, Value::Integer(36), Value::Text("admin".into())]
    );

    let row = vec![
        Value::Uuid(id),
        Value::Text("Bo".into()),
        Value::Text("bo@example.com".into()),
        Value::Text("hi".into()),
        Value::Null,
        Value::Null,
        Value::Text("user".into()),
    ];
    let read = User::read_row(&mut Row(row.into_iter())).expect("decodes");
    assert_eq!(read.id, id);
    assert_eq!(read.name, "Bo");
    assert_eq!(read.note.as_deref(), Some("hi"));
    assert_eq!(read.score, None);
    assert_eq!(read.r#type, "user");

    let json = serde_json::to_value(&read).expect("serializes");
    assert_eq!(json["type"], "user");
    let back: User = serde_json::from_value(json).expect("deserializes");
    assert_eq!(format!("{back:?}"), format!("{read:?}"));
}

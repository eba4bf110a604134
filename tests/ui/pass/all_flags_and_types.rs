//! Every write flag, every table option and every mapped column type, including a newtype of
//! the user's own.

use storehaus::prelude::*;
use storehaus::types::{ColumnType, SqlType, Value, ValueError};

/// A user newtype stored as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl SqlType for Email {
    const COLUMN_TYPE: ColumnType = String::COLUMN_TYPE;

    fn to_value(&self) -> Result<Value, ValueError> {
        self.0.to_value()
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        String::from_value(value).map(Email)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub theme: String,
}

/// Doc comments and other attributes stay on the struct and its fields.
#[model]
#[table(name = "everything", soft_delete, versioned)]
#[index(small, int)]
#[unique(text, uuid)]
#[serde(rename_all = "camelCase")]
pub struct Everything {
    /// The key.
    #[primary_key]
    pub id: i64,
    pub flag: bool,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub real: f32,
    pub double: f64,
    #[unique]
    pub text: String,
    #[index]
    pub uuid: Uuid,
    #[index]
    #[unique]
    pub at: DateTime<Utc>,
    pub local: NaiveDateTime,
    pub day: NaiveDate,
    pub amount: Decimal,
    pub document: serde_json::Value,
    pub settings: Json<Settings>,
    pub bytes: Vec<u8>,
    pub labels: Vec<String>,
    pub numbers: Option<Vec<i32>>,
    #[field(create)]
    pub referrer: Option<String>,
    #[field(update)]
    pub note: Option<String>,
    #[field(create, update)]
    pub nickname: Option<i32>,
    #[field(update, create)]
    pub title: String,
    #[field(readonly)]
    pub score: Option<i64>,
    #[serde(default)]
    pub email: Email,
    pub backup_email: Option<Email>,
}

/// The alias of `soft_delete`, a crate-visible model and user derives that `#[model]` keeps.
#[model]
#[table(name = "events", auto_soft_delete)]
#[derive(PartialEq, Debug)]
pub(crate) struct Event {
    #[primary_key]
    pub(crate) id: Uuid,
    pub(crate) payload: Json<Settings>,
}

impl PartialEq for Settings {
    fn eq(&self, other: &Self) -> bool {
        self.theme == other.theme
    }
}

fn main() {
    let table = Everything::TABLE;
    assert!(table.soft_delete && table.versioned);
    assert_eq!(table.columns.len(), 25);
    assert_eq!(table.column("note").map(|c| (c.create, c.update, c.nullable)), Some((false, true, true)));
    assert_eq!(table.column("score").map(|c| (c.create, c.update)), Some((false, false)));
    assert_eq!(table.column("email").map(|c| c.ty), Some(String::COLUMN_TYPE));
    assert_eq!(table.column("bytes").map(|c| c.ty), Some(<Vec<u8>>::COLUMN_TYPE));
    assert_eq!(table.indexes.len(), 6);

    assert!(Event::TABLE.soft_delete);
    assert!(!Event::TABLE.versioned);
    let event = Event::new(Uuid::nil(), Json(Settings { theme: "dark".into() }));
    assert_eq!(event.clone(), event);
    let json = serde_json::to_string(&event).expect("serializes");
    let back: Event = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, event);
}

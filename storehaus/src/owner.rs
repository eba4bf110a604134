//! [`Owner`]: who a datum of the data store or a counter belongs to.

use crate::error::StoreError;
use crate::model::{Key as _, Model, Record};
use crate::types::Value;
use std::fmt;

/// The longest owner kind or id, in bytes.
pub const MAX_OWNER_LEN: usize = 255;

/// Who a datum belongs to: a kind (`"user"`, `"team"`, a model's table) and an id, both text; or
/// nobody ([`Owner::global`]).
///
/// ```
/// use storehaus::Owner;
///
/// let user = Owner::new("user", 42);
/// assert_eq!((user.kind(), user.id()), ("user", "42"));
/// assert!(Owner::global().is_global());
/// assert_eq!(Owner::global().to_string(), "global");
/// assert_eq!(user.to_string(), "user:42");
/// ```
///
/// Building an owner never fails; an owner that cannot be stored (an empty kind, a NUL byte, more
/// than [`MAX_OWNER_LEN`] bytes) is refused with [`StoreError::Validation`] by the first call that
/// uses it ([`Owner::validate`]), and nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    /// Empty for the global owner.
    kind: String,
    id: String,
}

impl Owner {
    /// The owner `kind`/`id`: `Owner::new("user", 42)`, `Owner::new("team", "acme")`. The id is
    /// kept as its `Display` text.
    pub fn new(kind: impl Into<String>, id: impl fmt::Display) -> Self {
        Owner { kind: kind.into(), id: id.to_string() }
    }

    /// The owner that is a record: kind is the model's table, id its primary key as text (a
    /// composite key as a JSON array of each column's text, `["acme","42"]`, as change events name
    /// records).
    ///
    /// Takes a model value or a [`Record`] of one.
    ///
    /// ```
    /// use storehaus::prelude::*;
    ///
    /// #[model]
    /// #[table(name = "users")]
    /// pub struct User {
    ///     #[primary_key]
    ///     pub id: i64,
    ///     pub name: String,
    /// }
    ///
    /// let user = User { id: 7, name: "Ada".into() };
    /// assert_eq!(Owner::of(&user), Owner::new("users", 7));
    /// ```
    pub fn of(record: &impl OwnedBy) -> Self {
        record.owner()
    }

    fn of_model<T: Model>(record: &T) -> Self {
        let id = match record.key().to_values() {
            Ok(values) if values.len() == 1 => values.into_iter().next().map(value_text).unwrap_or_default(),
            Ok(values) => serde_json::Value::from(values.into_iter().map(value_text).collect::<Vec<_>>()).to_string(),
            // A key that does not convert cannot name a row; the empty id is refused at first use.
            Err(_) => String::new(),
        };
        Owner { kind: T::TABLE.name.to_owned(), id }
    }

    /// Nobody: data and counters of the application as a whole.
    pub fn global() -> Self {
        Owner { kind: String::new(), id: String::new() }
    }

    /// Whether this is [`Owner::global`].
    pub fn is_global(&self) -> bool {
        self.kind.is_empty()
    }

    /// The kind; empty for the global owner.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The id; empty for the global owner.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Checks that the owner can be stored: the global owner, or a kind and an id that are
    /// non-empty, hold no NUL byte and have at most [`MAX_OWNER_LEN`] bytes each.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.is_global() {
            return if self.id.is_empty() {
                Ok(())
            } else {
                Err(StoreError::validation("owner", "an owner with an id needs a kind"))
            };
        }
        for (what, text) in [("kind", &self.kind), ("id", &self.id)] {
            if text.is_empty() {
                return Err(StoreError::validation("owner", format!("the owner's {what} is empty")));
            }
            if text.contains('\0') {
                return Err(StoreError::validation("owner", format!("the owner's {what} contains a NUL byte")));
            }
            if text.len() > MAX_OWNER_LEN {
                return Err(StoreError::validation(
                    "owner",
                    format!("the owner's {what} is {} bytes long; at most {MAX_OWNER_LEN} are allowed", text.len()),
                ));
            }
        }
        Ok(())
    }
}

/// What [`Owner::of`] takes: a model value or a [`Record`] of one.
pub trait OwnedBy {
    /// The owner that is this record.
    fn owner(&self) -> Owner;
}

impl<T: Model> OwnedBy for T {
    fn owner(&self) -> Owner {
        Owner::of_model(self)
    }
}

impl<T: Model> OwnedBy for Record<T> {
    fn owner(&self) -> Owner {
        Owner::of_model(self.data())
    }
}

impl Default for Owner {
    /// [`Owner::global`].
    fn default() -> Self {
        Owner::global()
    }
}

impl fmt::Display for Owner {
    /// `kind:id`, or `global`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_global() { f.write_str("global") } else { write!(f, "{}:{}", self.kind, self.id) }
    }
}

/// A key value as text, as PostgreSQL's `::text` writes the common key types.
fn value_text(value: Value) -> String {
    match value {
        Value::Text(text) => text,
        Value::SmallInt(n) => n.to_string(),
        Value::Integer(n) => n.to_string(),
        Value::BigInt(n) => n.to_string(),
        Value::Uuid(id) => id.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Decimal(d) => d.normalize().to_string(),
        Value::Date(d) => d.to_string(),
        Value::Json(json) => json.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_refuses_what_cannot_be_stored() {
        assert!(Owner::global().validate().is_ok());
        assert!(Owner::new("user", 1).validate().is_ok());
        assert!(Owner::new("", 1).validate().is_err());
        assert!(Owner::new("user", "").validate().is_err());
        assert!(Owner::new("us\0er", 1).validate().is_err());
        assert!(Owner::new("user", "x".repeat(MAX_OWNER_LEN + 1)).validate().is_err());
        assert!(Owner::new("user", "x".repeat(MAX_OWNER_LEN)).validate().is_ok());
    }

    #[test]
    fn display_names_kind_and_id() {
        assert_eq!(Owner::new("team", "acme").to_string(), "team:acme");
        assert_eq!(Owner::default(), Owner::global());
    }
}

//! Keys the database assigns: `#[table(auto_increment)]`.

use super::Key;
use crate::types::{SqlType, Value};

/// A primary-key type the database can assign on insert, as `#[table(auto_increment)]` asks:
/// `i64` (`BIGINT`) or `i32` (`INTEGER`).
///
/// Until the row is inserted the key field holds `0`, the placeholder `create`, `create_many`
/// and `upsert` expect; the record they return carries the key the database assigned.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key the database assigns",
    label = "`#[table(auto_increment)]` needs an integer key",
    note = "declare the primary key as `i64` (or `i32`)"
)]
pub trait GeneratedKey: SqlType + sealed::Sealed {}

impl GeneratedKey for i64 {}
impl GeneratedKey for i32 {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for i64 {}
    impl Sealed for i32 {}
}

/// Whether `key` is the placeholder of a row not inserted yet: zero.
pub(crate) fn key_is_unset<K: Key>(key: &K) -> bool {
    matches!(key.to_values().as_deref(), Ok([Value::BigInt(0) | Value::Integer(0)]))
}

/// Compiles only for a [`GeneratedKey`]; `#[model]` names it for the key of an
/// `#[table(auto_increment)]` model, so another type is an error on the field.
#[doc(hidden)]
pub fn assert_generated_key<K: GeneratedKey>() {}

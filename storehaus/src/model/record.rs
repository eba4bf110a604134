//! [`Record<T>`]: a model value as read from its table, with the system fields.

use super::{Model, RowReader};
use crate::error::StoreError;
use crate::types::Value;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::ops::{Deref, DerefMut};

/// The system fields of a stored row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemFields {
    /// `__created_at__`: set once, on insert, by the server's clock.
    #[serde(rename = "__created_at__")]
    pub created_at: DateTime<Utc>,
    /// `__updated_at__`: set on every write by the server's clock.
    #[serde(rename = "__updated_at__")]
    pub updated_at: DateTime<Utc>,
    /// `__tags__`
    #[serde(rename = "__tags__")]
    pub tags: Vec<String>,
    /// `__deleted_at__`; always `None` for tables without soft delete.
    #[serde(rename = "__deleted_at__", default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// `__version__`; `None` for tables that are not versioned.
    #[serde(rename = "__version__", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// `__auth__`: the principals that may see the row; `None` for tables that are not `auth`.
    #[serde(rename = "__auth__", default, skip_serializing_if = "Option::is_none")]
    pub principals: Option<Vec<String>>,
}

/// A model value read from the database, with its [`SystemFields`].
///
/// Derefs to the model, so `record.name` reads the model's field. Serializes as one flat object:
/// the model's fields followed by `__created_at__`, `__updated_at__`, `__tags__` and, where the
/// table has them, `__deleted_at__`, `__version__` and `__auth__`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record<T> {
    #[serde(flatten)]
    data: T,
    #[serde(flatten)]
    system: SystemFields,
}

impl<T> Record<T> {
    /// A record of `data` with `system` fields.
    pub fn new(data: T, system: SystemFields) -> Self {
        Record { data, system }
    }

    /// The model value.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The system fields.
    pub fn system(&self) -> &SystemFields {
        &self.system
    }

    /// When the row was inserted.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.system.created_at
    }

    /// When the row was last written.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.system.updated_at
    }

    /// The row's tags.
    pub fn tags(&self) -> &[String] {
        &self.system.tags
    }

    /// When the row was soft-deleted, if it was.
    pub fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.system.deleted_at
    }

    /// Whether the row is soft-deleted.
    pub fn is_deleted(&self) -> bool {
        self.system.deleted_at.is_some()
    }

    /// The optimistic-locking version (`None` for tables that are not versioned).
    pub fn version(&self) -> Option<i64> {
        self.system.version
    }

    /// The principals that may see the row (`#[table(auth)]` tables only).
    pub fn principals(&self) -> Option<&[String]> {
        self.system.principals.as_deref()
    }

    /// The model value, dropping the system fields.
    pub fn into_inner(self) -> T {
        self.data
    }

    /// The model value and the system fields.
    pub fn into_parts(self) -> (T, SystemFields) {
        (self.data, self.system)
    }
}

impl<T> Deref for Record<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T> DerefMut for Record<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

/// Reads a record laid out as the model's columns followed by its system columns (the layout of
/// every statement's result).
pub(crate) fn read_record<T: Model, R: RowReader>(reader: &mut R) -> Result<Record<T>, StoreError> {
    let data = T::read_row(reader)?;
    let table = T::TABLE;
    let system = SystemFields {
        created_at: reader.read()?,
        updated_at: reader.read()?,
        tags: reader.read()?,
        deleted_at: if table.soft_delete { reader.read()? } else { None },
        version: if table.versioned { Some(reader.read()?) } else { None },
        principals: if table.auth { Some(reader.read()?) } else { None },
    };
    Ok(Record::new(data, system))
}

/// Reads column values from a list, in order (a row kept outside the database).
#[derive(Debug)]
pub(crate) struct ValuesReader {
    values: std::vec::IntoIter<Value>,
    index: usize,
}

impl ValuesReader {
    pub(crate) fn new(values: Vec<Value>) -> Self {
        ValuesReader { values: values.into_iter(), index: 0 }
    }
}

impl RowReader for ValuesReader {
    fn read<V: crate::types::SqlType>(&mut self) -> Result<V, StoreError> {
        let index = self.index;
        self.index += 1;
        let column = || format!("#{index}");
        let value =
            self.values.next().ok_or_else(|| StoreError::Decode { column: column(), message: "missing".into() })?;
        V::from_value(value).map_err(|e| StoreError::Decode { column: column(), message: e.to_string() })
    }
}

//! [`Upsert`]: which unique constraint an upsert meets an existing row on, and what it writes to it.

use super::UpdateSet;
use super::resolved::{Assignment, ColumnRef};
use crate::error::StoreError;
use crate::model::{ColumnDef, TableDef, Write};
use crate::types::Value;

/// How [`GenericStore::upsert_with`](crate::GenericStore::upsert_with) finds the existing row and
/// what it writes there.
///
/// The value is inserted as [`create`](crate::GenericStore::create) would insert it. When a row
/// already holds its values of the conflict target (the primary key unless [`on`](Self::on) names
/// a unique constraint), that row is updated instead, as [`update`](crate::GenericStore::update)
/// would update it, with two adjustments per branch:
///
/// - [`insert_only`](Self::insert_only) fields are written on insert and left as they are on
///   update;
/// - [`on_update`](Self::on_update) assignments (set, increment, decrement) apply only on update,
///   in place of the value's own field.
///
/// ```
/// use serde_json::json;
/// use storehaus::query::{UpdateSet, Upsert};
///
/// // Meet the existing row on the unique `email`; keep its `referrer`; count the visits.
/// let how = Upsert::on(["email"]).insert_only(["referrer"]).increment("visits", json!(1));
/// // The same with an UpdateSet.
/// let same = Upsert::on(["email"])
///     .insert_only(["referrer"])
///     .on_update(UpdateSet::new().increment("visits", json!(1)));
/// # let _ = (how, same);
/// ```
///
/// Everything is checked against the model when the upsert runs, before anything is written: a
/// target that is not exactly the columns of the primary key or of a `#[unique]` /
/// `#[unique(a, b)]` constraint is `StoreError::Validation`, an unknown field is
/// `StoreError::UnknownField`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upsert {
    /// `None`: the primary key.
    target: Option<Vec<String>>,
    insert_only: Vec<String>,
    on_update: UpdateSet,
}

impl Upsert {
    /// Meets the existing row on the primary key (what [`GenericStore::upsert`](crate::GenericStore::upsert) does).
    pub fn on_key() -> Self {
        Self::default()
    }

    /// Meets the existing row on the unique constraint over exactly these fields: one
    /// `#[unique]` field, or all the fields of a struct-level `#[unique(a, b)]` (in any order).
    pub fn on<I>(fields: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Upsert { target: Some(fields.into_iter().map(Into::into).collect()), ..Self::default() }
    }

    /// Writes these fields on insert only: an existing row keeps its values of them. Each must
    /// be a field `update` writes.
    pub fn insert_only<I>(mut self, fields: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.insert_only.extend(fields.into_iter().map(Into::into));
        self
    }

    /// Applies `set` to an existing row, in place of the value's own fields it names; a new row
    /// is inserted without it. Replaces an `on_update` or `increment` given before.
    pub fn on_update(mut self, set: UpdateSet) -> Self {
        self.on_update = set;
        self
    }

    /// Adds `by` to a numeric `field` of an existing row (`field = field + by`); a new row gets
    /// the value's own field. Adds to the [`on_update`](Self::on_update) assignments.
    pub fn increment(mut self, field: impl Into<String>, by: impl Into<serde_json::Value>) -> Self {
        self.on_update = self.on_update.increment(field, by);
        self
    }

    /// The upsert checked against `table`.
    pub(crate) fn resolve(&self, table: &'static TableDef) -> Result<ResolvedUpsert, StoreError> {
        let target = match &self.target {
            None => table.key_columns().collect(),
            Some(fields) => unique_target(table, fields)?,
        };
        let mut insert_only = Vec::with_capacity(self.insert_only.len());
        for field in &self.insert_only {
            let column = declared(table, field)?;
            if !column.update {
                return Err(StoreError::validation(field, "insert_only names a field that update does not write"));
            }
            insert_only.push(column);
        }
        let on_update = if self.on_update.is_empty() { Vec::new() } else { self.on_update.resolve(table)? };
        Ok(ResolvedUpsert { target, insert_only, on_update })
    }
}

/// An [`Upsert`] whose every name was found in the model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResolvedUpsert {
    /// The columns of the unique constraint (or key) the existing row is met on.
    pub target: Vec<&'static ColumnDef>,
    pub insert_only: Vec<&'static ColumnDef>,
    pub on_update: Vec<Assignment>,
}

impl ResolvedUpsert {
    /// What the update half writes for a value whose update-column values are `values`: each
    /// update column not insert-only and not assigned by `on_update`, then `on_update`.
    pub(crate) fn assignments(&self, table: &'static TableDef, values: Vec<Value>) -> Vec<Assignment> {
        let assigned = |column: &ColumnDef| {
            self.on_update.iter().any(|a| match a {
                Assignment::Set { column: c, .. } | Assignment::Add { column: c, .. } => c.name == column.name,
            })
        };
        let mut set: Vec<Assignment> = table
            .written_columns(Write::Update)
            .zip(values)
            .filter(|(column, _)| !self.insert_only.iter().any(|c| c.name == column.name) && !assigned(column))
            .map(|(column, value)| Assignment::Set { column, value })
            .collect();
        set.extend(self.on_update.iter().cloned());
        set
    }
}

/// The declared column `field`; a system field is `Validation`, anything else `UnknownField`.
fn declared(table: &TableDef, field: &str) -> Result<&'static ColumnDef, StoreError> {
    table.column(field).ok_or_else(|| match ColumnRef::find(table, field) {
        Some(_) => StoreError::validation(field, "system fields have no unique constraint an upsert could meet"),
        None => StoreError::UnknownField { table: table.name.to_owned(), field: field.to_owned() },
    })
}

/// The columns of `fields`, when they are exactly those of the key or of a unique constraint.
fn unique_target(table: &'static TableDef, fields: &[String]) -> Result<Vec<&'static ColumnDef>, StoreError> {
    let columns = fields.iter().map(|f| declared(table, f)).collect::<Result<Vec<_>, _>>()?;
    if let Some((i, _)) = fields.iter().enumerate().find(|(i, f)| fields[..*i].contains(f)) {
        return Err(StoreError::validation(&fields[i], "named twice in an upsert's conflict target"));
    }
    let same = |names: &[&str]| names.len() == fields.len() && names.iter().all(|n| fields.iter().any(|f| f == n));
    let key: Vec<&str> = table.key_columns().map(|c| c.name).collect();
    let unique = same(&key) || table.indexes.iter().any(|index| index.unique && same(index.columns));
    if columns.is_empty() || !unique {
        let mut choices = vec![format!("({})", key.join(", "))];
        choices.extend(table.indexes.iter().filter(|i| i.unique).map(|i| format!("({})", i.columns.join(", "))));
        return Err(StoreError::Validation {
            field: fields.first().cloned(),
            message: format!(
                "an upsert meets rows on the key or a unique constraint; `{}` has none over ({}), only {}",
                table.name,
                fields.join(", "),
                choices.join(", ")
            ),
        });
    }
    if let Some(column) = columns.iter().find(|c| !c.create) {
        return Err(StoreError::validation(column.name, "the conflict target must be written on create"));
    }
    Ok(columns)
}

#[cfg(test)]
mod tests;

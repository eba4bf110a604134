//! [`UpdateSet`]: the assignments of an `update_where`.

use super::filter::Operand;
use super::resolve::{operand, ranged_operand};
use super::resolved::{Assignment, ColumnRef};
use crate::error::StoreError;
use crate::model::{Column, TableDef};
use crate::types::{ColumnType, ScalarType, SqlType, Value};

/// The changes `update_where` applies to every matching row.
///
/// Only fields the model writes on update can be assigned; the primary key, system fields and
/// `#[field(create)]` / `#[field(readonly)]` fields are refused. `__updated_at__` (and
/// `__version__` on versioned models) are maintained by StoreHaus.
///
/// ```
/// use serde_json::json;
/// use storehaus::query::UpdateSet;
///
/// let changes = UpdateSet::new().set("status", json!("archived")).increment("archive_count", json!(1));
/// # let _ = changes;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateSet {
    ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Set { field: String, value: Operand },
    Add { field: String, value: Operand, negate: bool },
}

impl Op {
    fn field(&self) -> &str {
        match self {
            Op::Set { field, .. } | Op::Add { field, .. } => field,
        }
    }
}

impl UpdateSet {
    /// No changes yet (an empty set is refused when it runs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `field` to `value` (JSON `null` sets `NULL`, on nullable fields only). The value must
    /// fit the field's Rust type (`200` is refused for an `i8`), else `StoreError::Validation`.
    pub fn set(mut self, field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.ops.push(Op::Set { field: field.into(), value: Operand::Json(value.into()) });
        self
    }

    /// Sets a typed column to `value`.
    pub fn set_column<M, T: SqlType>(mut self, column: Column<M, T>, value: impl Into<T>) -> Self {
        let value = value.into().to_value().map_err(|e| e.to_string());
        self.ops.push(Op::Set { field: column.name().to_owned(), value: Operand::Typed { value, ty: T::COLUMN_TYPE } });
        self
    }

    /// Adds `value` to a numeric `field` in the database (`field = field + value`), so concurrent
    /// increments do not overwrite each other.
    ///
    /// A result outside the field's type fails the whole call and changes no row: on an `i8`, `u8`,
    /// `u16` or `u32` field the table's range guard refuses it and the call returns
    /// `StoreError::Validation` naming the field; on wider integers the column overflows
    /// (`StoreError::Database`). `value` itself only has to fit the column, so a negative step on
    /// an unsigned field is accepted.
    pub fn increment(mut self, field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.ops.push(Op::Add { field: field.into(), value: Operand::Json(value.into()), negate: false });
        self
    }

    /// Subtracts `value` from a numeric `field` in the database (`field = field - value`).
    pub fn decrement(mut self, field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.ops.push(Op::Add { field: field.into(), value: Operand::Json(value.into()), negate: true });
        self
    }

    /// Whether no change has been added.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The assignments checked against `table` with values of the columns' types.
    pub(crate) fn resolve(&self, table: &'static TableDef) -> Result<Vec<Assignment>, StoreError> {
        if self.ops.is_empty() {
            return Err(StoreError::Validation {
                field: None,
                message: "an UpdateSet needs at least one assignment".to_owned(),
            });
        }
        let mut assignments = Vec::with_capacity(self.ops.len());
        for (i, op) in self.ops.iter().enumerate() {
            let field = op.field();
            let column = writable_column(table, field)?;
            if self.ops[..i].iter().any(|earlier| earlier.field() == field) {
                return Err(StoreError::validation(field, "assigned more than once in one UpdateSet"));
            }
            let column_ref = ColumnRef::Declared(column);
            assignments.push(match op {
                Op::Set { value, .. } => {
                    let value = ranged_operand(column_ref, value, column.ty)?;
                    if value.is_null() && !column.nullable {
                        return Err(StoreError::validation(field, "cannot set NULL: the field is not nullable"));
                    }
                    Assignment::Set { column, value }
                }
                Op::Add { value, negate, .. } => {
                    if !is_numeric(column.ty) {
                        let message = format!("increment/decrement need a numeric field, not {}", column.ty);
                        return Err(StoreError::validation(field, message));
                    }
                    let value = operand(column_ref, value, column.ty)?;
                    if value.is_null() {
                        return Err(StoreError::validation(field, "cannot increment by null"));
                    }
                    let value = if *negate {
                        negate_value(value).map_err(|e| StoreError::validation(field, e))?
                    } else {
                        value
                    };
                    Assignment::Add { column, value }
                }
            });
        }
        Ok(assignments)
    }
}

/// The declared column `field`, if updates may write it.
fn writable_column(table: &TableDef, field: &str) -> Result<&'static crate::model::ColumnDef, StoreError> {
    let Some(column) = table.column(field) else {
        return Err(match ColumnRef::find(table, field) {
            Some(_) => StoreError::validation(field, "system fields are maintained by StoreHaus and cannot be set"),
            None => StoreError::UnknownField { table: table.name.to_owned(), field: field.to_owned() },
        });
    };
    if column.primary_key {
        return Err(StoreError::validation(field, "the primary key cannot be changed by an update"));
    }
    if !column.update {
        return Err(StoreError::validation(field, "the field is not written on update (create-only or readonly)"));
    }
    Ok(column)
}

fn is_numeric(ty: ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Scalar(
            ScalarType::SmallInt
                | ScalarType::Integer
                | ScalarType::BigInt
                | ScalarType::Real
                | ScalarType::Double
                | ScalarType::Decimal
        )
    )
}

fn negate_value(value: Value) -> Result<Value, String> {
    let overflow = || "the decrement is out of range for the field".to_owned();
    Ok(match value {
        Value::SmallInt(i) => Value::SmallInt(i.checked_neg().ok_or_else(overflow)?),
        Value::Integer(i) => Value::Integer(i.checked_neg().ok_or_else(overflow)?),
        Value::BigInt(i) => Value::BigInt(i.checked_neg().ok_or_else(overflow)?),
        Value::Real(x) => Value::Real(-x),
        Value::Double(x) => Value::Double(-x),
        Value::Decimal(d) => Value::Decimal(-d),
        other => return Err(format!("cannot negate a {} value", other.kind_name())),
    })
}

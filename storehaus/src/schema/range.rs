//! Range guards: what keeps a narrow integer column (`i8`, `u8`, `u16`, `u32` fields, stored in a
//! wider column) inside its field's range when SQL computes the value, as `increment` does.
//!
//! Each guard has a predictable name, `{table}_{column}_{type}_range` (such as
//! `scores_tiny_i8_range`, shortened with a hash beyond 63 bytes like index names), so a refused
//! write can be traced back to its field. PostgreSQL writes it as a `CHECK` constraint; SQLite,
//! whose tables cannot gain a `CHECK` without a rebuild, as a pair of triggers.

use super::diff::{fnv1a, identifier};
use crate::error::StoreError;
use crate::model::{ColumnDef, TableDef};
use crate::types::{ColumnType, IntRange};

/// A guard the model wants on one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeCheck {
    pub name: String,
    pub column: &'static str,
    pub range: IntRange,
}

/// The Rust types whose guards StoreHaus writes, so a guard the model no longer wants is found
/// by name (a table's other checks are never touched).
const NARROW: [IntRange; 4] = [
    IntRange::new(i8::MIN as i64, i8::MAX as i64),
    IntRange::new(u8::MIN as i64, u8::MAX as i64),
    IntRange::new(u16::MIN as i64, u16::MAX as i64),
    IntRange::new(u32::MIN as i64, u32::MAX as i64),
];

/// The guards of `table`: one per scalar column whose field has a narrower range than the column.
/// Arrays get none; no SQL arithmetic writes their elements, and their values are checked before
/// they are written.
pub(crate) fn range_checks(table: &TableDef) -> Vec<RangeCheck> {
    table
        .columns
        .iter()
        .filter(|c| matches!(c.ty, ColumnType::Scalar(_)))
        .filter_map(|c| {
            c.int_range.map(|range| RangeCheck { name: check_name(table.name, c, range), column: c.name, range })
        })
        .collect()
}

/// Names of guards StoreHaus could have written on the declared columns of `table`.
pub(crate) fn possible_check_names(table: &TableDef) -> impl Iterator<Item = String> + '_ {
    table.columns.iter().flat_map(move |c| NARROW.iter().map(move |range| check_name(table.name, c, *range)))
}

fn check_name(table: &str, column: &ColumnDef, range: IntRange) -> String {
    let ty = match range.type_name() {
        Some(ty) => ty.to_owned(),
        None => format!("r{:08x}", fnv1a(format!("{}..={}", range.min, range.max).as_bytes()) as u32),
    };
    identifier(&format!("{table}_{}_{ty}_range", column.name))
}

/// `error` as a [`StoreError::Validation`] naming the field when a range guard of `table` refused
/// the write (a computed value out of range); any other error unchanged.
pub(crate) fn range_violation(table: &TableDef, error: StoreError) -> StoreError {
    let Some(constraint) = error.constraint() else { return error };
    match range_checks(table).into_iter().find(|check| check.name == constraint) {
        Some(check) => StoreError::validation(
            check.column,
            format!("the result is out of range for {}; no row was changed", check.range),
        ),
        None => error,
    }
}

#[cfg(test)]
mod tests;

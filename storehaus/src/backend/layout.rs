//! The column list every statement returns, the same on every backend.

use crate::model::TableDef;
use crate::query::resolved::ColumnRef;
use crate::types::ColumnType;

/// The columns a record is read from, in order: the declared fields, then `__created_at__`,
/// `__updated_at__`, `__tags__`, and `__deleted_at__` / `__version__` where the table has them.
pub(crate) fn record_columns(table: &TableDef) -> Vec<&'static str> {
    record_types(table).map(|(name, _)| name).collect()
}

/// The names and types of [`record_columns`], in order.
pub(crate) fn record_types(table: &TableDef) -> impl Iterator<Item = (&'static str, ColumnType)> + '_ {
    table.columns.iter().map(|c| (c.name, c.ty)).chain(table.system_columns().map(|c| (c.name, c.ty)))
}

/// The position of `column` in [`record_columns`].
pub(crate) fn record_column_index(table: &TableDef, column: ColumnRef) -> usize {
    match column {
        ColumnRef::Declared(c) => table.columns.iter().position(|d| d.name == c.name).unwrap_or_default(),
        ColumnRef::System(s) => {
            table.columns.len() + table.system_columns().position(|c| c.name == s.name).unwrap_or_default()
        }
    }
}

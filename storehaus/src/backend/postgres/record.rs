//! The column list every statement returns, and reading a [`Record`] back from it.

use super::values::{PgRowReader, read_value};
use crate::error::StoreError;
use crate::model::{Model, TableDef};
use crate::query::resolved::ColumnRef;
use crate::store::Record;
use crate::types::Value;
use sqlx::postgres::PgRow;

/// The columns a record is read from, in order: the declared fields, then `__created_at__`,
/// `__updated_at__`, `__tags__`, and `__deleted_at__` / `__version__` where the table has them.
pub(crate) fn record_columns(table: &TableDef) -> Vec<&'static str> {
    table.columns.iter().map(|c| c.name).chain(table.system_columns().map(|c| c.name)).collect()
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

/// Reads a record from a row laid out as [`record_columns`].
pub(crate) fn read_record<T: Model>(row: &PgRow) -> Result<Record<T>, StoreError> {
    crate::store::read_record(&mut PgRowReader::new(row, 0))
}

/// The values of a row laid out as [`record_columns`], each read as its column's type.
pub(crate) fn read_values(row: &PgRow, table: &TableDef) -> Result<Vec<Value>, StoreError> {
    let types = table.columns.iter().map(|c| (c.name, c.ty)).chain(table.system_columns().map(|c| (c.name, c.ty)));
    types
        .enumerate()
        .map(|(index, (name, ty))| {
            read_value(row, index, ty)
                .map_err(|e| StoreError::Decode { column: name.to_owned(), message: e.to_string() })
        })
        .collect()
}

/// The value of `column` in a row laid out as [`record_columns`] (for keyset cursors).
pub(crate) fn read_column(row: &PgRow, table: &TableDef, column: ColumnRef) -> Result<Value, StoreError> {
    read_value(row, record_column_index(table, column), column.ty())
        .map_err(|e| StoreError::Decode { column: column.name().to_owned(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use crate::model::system::{CREATED_AT, DELETED_AT, SYSTEM_COLUMNS, TAGS, UPDATED_AT, VERSION};

    #[test]
    fn system_columns_follow_declared_ones_in_the_order_read_record_reads_them() {
        let order: Vec<_> = SYSTEM_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(order, [CREATED_AT, UPDATED_AT, TAGS, DELETED_AT, VERSION]);
    }
}

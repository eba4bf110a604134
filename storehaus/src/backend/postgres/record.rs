//! Reading a [`Record`] back from a PostgreSQL row laid out as [`record_columns`].

use super::values::{PgRowReader, read_value};
pub(crate) use crate::backend::layout::{record_column_index, record_columns, record_types};
use crate::error::StoreError;
use crate::model::{Model, TableDef};
use crate::query::resolved::ColumnRef;
use crate::store::Record;
use crate::types::Value;
use sqlx::postgres::PgRow;

/// Reads a record from a row laid out as [`record_columns`].
pub(crate) fn read_record<T: Model>(row: &PgRow) -> Result<Record<T>, StoreError> {
    crate::store::read_record(&mut PgRowReader::new(row, 0))
}

/// The values of a row laid out as [`record_columns`], each read as its column's type.
pub(crate) fn read_values(row: &PgRow, table: &TableDef) -> Result<Vec<Value>, StoreError> {
    record_types(table)
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

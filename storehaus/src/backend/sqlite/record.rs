//! Reading a [`Record`] back from a SQLite row laid out as the record columns
//! (`backend::layout::record_columns`).

use super::values::{SqliteRowReader, read_value};
use crate::backend::layout::record_column_index;
pub(crate) use crate::backend::layout::record_types;
use crate::error::StoreError;
use crate::model::{Model, TableDef};
use crate::query::resolved::ColumnRef;
use crate::store::Record;
use crate::types::Value;
use sqlx::sqlite::SqliteRow;

/// Reads a record from a row laid out as the record columns.
pub(crate) fn read_record<T: Model>(row: &SqliteRow) -> Result<Record<T>, StoreError> {
    crate::store::read_record(&mut SqliteRowReader::new(row, 0))
}

/// The values of a row laid out as the record columns, each read as its column's type.
pub(crate) fn read_values(row: &SqliteRow, table: &TableDef) -> Result<Vec<Value>, StoreError> {
    record_types(table)
        .enumerate()
        .map(|(index, (name, ty))| {
            read_value(row, index, ty).map_err(|message| StoreError::Decode { column: name.to_owned(), message })
        })
        .collect()
}

/// The value of `column` in a row laid out as the record columns (for keyset cursors).
pub(crate) fn read_column(row: &SqliteRow, table: &TableDef, column: ColumnRef) -> Result<Value, StoreError> {
    read_value(row, record_column_index(table, column), column.ty())
        .map_err(|message| StoreError::Decode { column: column.name().to_owned(), message })
}

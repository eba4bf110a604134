//! What a write's outcome means, the same on every backend: which error explains a write by key
//! that changed nothing, and how binding errors name their column.

use crate::error::StoreError;
use crate::model::Model;

/// The state of a row as the backends' probe statements read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowState {
    /// The row is soft-deleted.
    pub deleted: bool,
    /// Its `__version__` (versioned tables only).
    pub version: Option<i64>,
}

/// Why a write by `key` changed nothing: no such row, a soft-deleted row, or a stale version.
pub(crate) fn unchanged_error<T: Model>(
    key: &T::Key,
    probe: Result<Option<RowState>, StoreError>,
    expected_version: Option<i64>,
) -> StoreError {
    let table = T::TABLE.name.to_owned();
    let key = format!("{key:?}");
    match probe {
        Err(e) => e,
        Ok(None) => StoreError::NotFound { table, key },
        Ok(Some(RowState { deleted: true, .. })) => StoreError::Deleted { table, key },
        Ok(Some(RowState { version: Some(version), .. })) if expected_version.is_some_and(|v| v != version) => {
            StoreError::Conflict { table, key }
        }
        Ok(Some(_)) => StoreError::NotFound { table, key },
    }
}

/// The error for updating by version a table that has none.
pub(crate) fn unversioned<T: Model>() -> StoreError {
    StoreError::Validation {
        field: None,
        message: format!("`{}` is not versioned; declare #[table(versioned)] to update by version", T::TABLE.name),
    }
}

/// Puts the column name on a validation error raised while binding its value.
pub(crate) fn name_field(error: StoreError, column: &str) -> StoreError {
    match error {
        StoreError::Validation { field: None, message } => StoreError::validation(column, message),
        other => other,
    }
}

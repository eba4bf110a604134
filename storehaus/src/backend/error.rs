//! Driver errors as [`StoreError`]s: the error-code tables are the backends' own
//! ([`Backend::transient_code`]); what is read here is the same for every driver.

use super::Backend;
use super::postgres::Postgres;
use super::sqlite::Sqlite;
use crate::error::{DriverError, StoreError};

/// SQLite's message for a write or delete a foreign key refuses.
const SQLITE_FOREIGN_KEY_FAILED: &str = "FOREIGN KEY constraint failed";

/// `error` as a [`StoreError`], its code judged by `transient_code`; `read_only_code` is the
/// backend's code for a write refused as read-only.
pub(super) fn from_sqlx(error: sqlx::Error, transient_code: fn(&str) -> bool, read_only_code: &str) -> StoreError {
    if matches!(error, sqlx::Error::PoolTimedOut) {
        return StoreError::Timeout("waiting for a database connection".into());
    }
    let database = error.as_database_error();
    let code = database.and_then(|e| e.code()).map(|code| code.into_owned());
    // SQLite runs a RESTRICT action as a trigger, so its refusal is SQLITE_CONSTRAINT_TRIGGER with
    // this message rather than SQLITE_CONSTRAINT_FOREIGNKEY.
    let foreign_key = database.is_some_and(|e| {
        matches!(e.kind(), sqlx::error::ErrorKind::ForeignKeyViolation)
            || (e.code().as_deref() == Some("1811") && e.message() == SQLITE_FOREIGN_KEY_FAILED)
    });
    if let Some(database) = database
        && foreign_key
    {
        let constraint = database.constraint().unwrap_or_else(|| database.message()).to_owned();
        return StoreError::ForeignKeyViolation { constraint };
    }
    let constraint = database.and_then(|e| e.constraint()).map(str::to_owned).or_else(|| {
        // SQLite names no constraint, but a trigger's `RAISE(ABORT, …)` (SQLITE_CONSTRAINT_TRIGGER)
        // fails with the message it was given: StoreHaus's range guards give their name.
        database.filter(|e| e.code().as_deref() == Some("1811")).map(|e| e.message().to_owned())
    });
    if let Some(database) = database
        && matches!(database.kind(), sqlx::error::ErrorKind::UniqueViolation)
    {
        // PostgreSQL names the constraint; SQLite only says which columns, in its message.
        let constraint = constraint.unwrap_or_else(|| database.message().to_owned());
        return StoreError::UniqueViolation { constraint };
    }
    if let Some(database) = database
        && code.as_deref() == Some(read_only_code)
    {
        return StoreError::ReadOnly { message: database.message().to_owned() };
    }
    let transient = match &code {
        Some(code) => transient_code(code),
        None => matches!(
            error,
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_)
        ),
    };
    StoreError::Database { code, source: DriverError::new(error, transient, constraint) }
}

impl From<sqlx::Error> for StoreError {
    /// Reads the error's code with the table of the database that reported it.
    fn from(error: sqlx::Error) -> Self {
        let sqlite =
            error.as_database_error().is_some_and(|e| e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some());
        if sqlite { Sqlite::error(error) } else { Postgres::error(error) }
    }
}

#[cfg(test)]
mod tests;

//! The one error type of StoreHaus.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A specialized `Result` type for StoreHaus.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Every failure StoreHaus reports.
///
/// Match on the variants your application handles and treat the rest as opaque;
/// [`StoreError::is_transient`] tells whether retrying the same call may succeed.
///
/// Errors are `Clone` (the driver error is shared behind an `Arc`), so one failure can be handed
/// to every caller waiting on the same load.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No row with this key exists (or it is soft-deleted and the call does not see deleted rows).
    #[error("no `{table}` record with key {key}")]
    NotFound {
        /// The table that was searched.
        table: String,
        /// The key that was looked up, as text.
        key: String,
    },

    /// The row exists but is soft-deleted; restore it before writing to it.
    #[error("`{table}` record {key} is soft-deleted")]
    Deleted {
        /// The table of the row.
        table: String,
        /// The key of the row, as text.
        key: String,
    },

    /// An optimistic-locking write lost: the row's `__version__` moved on since it was read.
    #[error("version conflict on `{table}` record {key}")]
    Conflict {
        /// The table of the row.
        table: String,
        /// The key of the row, as text.
        key: String,
    },

    /// A unique index or constraint rejected the write (SQLSTATE 23505).
    #[error("unique constraint `{constraint}` violated")]
    UniqueViolation {
        /// The name of the violated constraint or unique index.
        constraint: String,
    },

    /// A foreign key rejected the write (SQLSTATE 23503): a row refers to a parent row that does
    /// not exist, or a delete would leave rows referring to it (`on_delete = "restrict"`).
    #[error("foreign key `{constraint}` violated")]
    ForeignKeyViolation {
        /// The name of the violated constraint on PostgreSQL; SQLite names none and gives its
        /// message instead.
        constraint: String,
    },

    /// A field named by a string is not a column of the model.
    #[error("`{field}` is not a field of `{table}`")]
    UnknownField {
        /// The model's table.
        table: String,
        /// The name that was given.
        field: String,
    },

    /// A bulk update or delete had no filter and did not say `.all_rows()`.
    #[error("refusing to write every row of `{table}` without a filter; call `.all_rows()` to mean it")]
    UnboundedWrite {
        /// The table the write targeted.
        table: String,
    },

    /// A value was rejected before it reached the database.
    #[error("invalid value{}: {message}", field.as_ref().map(|f| format!(" for `{f}`")).unwrap_or_default())]
    Validation {
        /// The field the value was meant for, when known.
        field: Option<String>,
        /// What is wrong with it.
        message: String,
    },

    /// A migration would lose data or fail on existing rows, and was not explicitly allowed.
    #[error("unsafe migration of `{table}`.`{column}`: {reason}")]
    UnsafeMigration {
        /// The table being migrated.
        table: String,
        /// The column the refused change concerns.
        column: String,
        /// Why the change was refused and how to allow it.
        reason: String,
    },

    /// A migration waited for a table lock longer than its budget
    /// ([`MigrateOptions::lock_budget`](crate::schema::MigrateOptions::lock_budget)) and gave up
    /// with nothing of the waiting step applied. Each wait lasted at most the short
    /// `lock_timeout`, so other queries never queued behind it for longer.
    #[error(
        "migration of `{table}` gave up after {:.1} s waiting for a lock{}",
        waited.as_secs_f64(),
        blocking_list(blockers)
    )]
    LockTimeout {
        /// The table being migrated.
        table: String,
        /// How long the migration tried, retries included.
        waited: std::time::Duration,
        /// The sessions that held the lock when it gave up (none when they ended in between).
        blockers: Vec<BlockingSession>,
    },

    /// A migration file (or its directory) cannot be used: a malformed name or content, two
    /// files with one version, an applied file edited since (its checksum differs), or a file
    /// that cannot be read. Nothing ran.
    #[error("migration file `{file}`: {message}")]
    MigrationFile {
        /// The file name (or the directory, for a problem with the directory).
        file: String,
        /// What is wrong and how to put it right.
        message: String,
    },

    /// A statement of a migration file failed. The file's transaction was rolled back (or, for
    /// a statement that runs after it, the file is recorded as unfinished and its remaining
    /// statements run again on the next apply).
    #[error("migration file `{file}` failed at statement {statement} (line {line}): {source}\n  {sql}")]
    MigrationFailed {
        /// The file name.
        file: String,
        /// The failing statement's number in the file, from 1.
        statement: usize,
        /// The line of the file the statement starts on.
        line: usize,
        /// The statement.
        sql: String,
        /// What the database said.
        source: Box<StoreError>,
    },

    /// A row could not be decoded into the model.
    #[error("cannot decode column `{column}`: {message}")]
    Decode {
        /// The column whose value did not fit the field type.
        column: String,
        /// What went wrong.
        message: String,
    },

    /// The database reported an error; `code` is its SQLSTATE when it has one.
    #[error("database error{}: {source}", code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default())]
    Database {
        /// The error code: PostgreSQL's SQLSTATE, such as `"40001"`, or SQLite's result code.
        code: Option<String>,
        /// The driver's error.
        source: DriverError,
    },

    /// The cache layer failed (reads fall back to the database; this surfaces only from cache APIs).
    #[error("cache error: {0}")]
    Cache(String),

    /// The signal layer failed.
    #[error("signal error: {0}")]
    Signal(String),

    /// Configuration could not be loaded or is invalid; `key` names the offending setting.
    #[error("configuration error{}: {message}", key.as_ref().map(|k| format!(" at `{k}`")).unwrap_or_default())]
    Config {
        /// The setting, such as `database.port` or `STOREHAUS_DATABASE_PORT`.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },

    /// A registered store was missing or of another type.
    #[error("store registry: {0}")]
    Registry(String),

    /// A transaction was used after it ended, or could not be committed.
    #[error("transaction: {0}")]
    Transaction(Cow<'static, str>),

    /// A write was refused because the transaction is read-only
    /// ([`TransactionOptions::read_only`](crate::TransactionOptions::read_only)), or the database
    /// is: PostgreSQL's SQLSTATE `25006`, SQLite's `SQLITE_READONLY`.
    #[error("read-only: {message}")]
    ReadOnly {
        /// What the database said.
        message: String,
    },

    /// The operation did not complete in time.
    #[error("timed out: {0}")]
    Timeout(Cow<'static, str>),

    /// A call on an `#[table(auth)]` model was made through a store without a principal scope
    /// (`store.auth(..)`) and without `.unrestricted()`; nothing ran.
    #[error("`{table}` is #[table(auth)]: call through `.auth(principal)` (or `.unrestricted()` for system code)")]
    AuthRequired {
        /// The model's table.
        table: String,
    },

    /// A call on a model with a `#[tenant]` field was made through a store without a tenant scope
    /// (`store.tenant(..)`) and without `.unrestricted()`; nothing ran.
    #[error("`{table}` has a #[tenant] field: call through `.tenant(value)` (or `.unrestricted()` for system code)")]
    TenantRequired {
        /// The model's table.
        table: String,
    },

    /// A rate limit refused the call; nothing ran. Try again after `retry_after`.
    #[error("rate limited by rule `{rule}`; retry after {} ms", retry_after.as_millis())]
    RateLimited {
        /// The operation pattern of the rule that refused, such as `store.*`.
        rule: String,
        /// When the rule's bucket has a token again.
        retry_after: std::time::Duration,
    },

    /// The backend in use does not support this operation.
    #[error("unsupported by the {backend} backend: {operation}")]
    Unsupported {
        /// The backend name, such as `"sqlite"`.
        backend: &'static str,
        /// What was asked for.
        operation: Cow<'static, str>,
    },
}

/// A session that held a lock a migration waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockingSession {
    /// The server process id (`pg_stat_activity.pid`), for `pg_terminate_backend` or a look in
    /// the server's log.
    pub pid: i32,
    /// `active`, `idle in transaction`, …
    pub state: String,
    /// How long its transaction (or, outside one, its current query) has been open.
    pub age: std::time::Duration,
    /// The `application_name` it gave, when it gave one.
    pub application: String,
}

impl fmt::Display for BlockingSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} ({}, for {:.1} s", self.pid, self.state, self.age.as_secs_f64())?;
        if !self.application.is_empty() {
            write!(f, ", application `{}`", self.application)?;
        }
        f.write_str(")")
    }
}

/// `" held by pid 1 (…), pid 2 (…)"`, or nothing when no holder is known.
fn blocking_list(blockers: &[BlockingSession]) -> String {
    if blockers.is_empty() {
        return String::new();
    }
    let names: Vec<String> = blockers.iter().map(ToString::to_string).collect();
    format!(" held by {}", names.join(", "))
}

impl StoreError {
    /// A [`StoreError::Config`] about `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError::Config { key: Some(key.into()), message: message.into() }
    }

    /// A [`StoreError::Validation`] about `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError::Validation { field: Some(field.into()), message: message.into() }
    }

    /// The SQLSTATE (or SQLite result code) of a database error, if any.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            StoreError::Database { code, .. } => code.as_deref(),
            StoreError::UniqueViolation { .. } => Some("23505"),
            StoreError::ForeignKeyViolation { .. } => Some("23503"),
            _ => None,
        }
    }

    /// The constraint a write violated, when the database named one: the unique constraint of a
    /// [`StoreError::UniqueViolation`], the foreign key of a [`StoreError::ForeignKeyViolation`],
    /// or a check or not-null constraint.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            StoreError::UniqueViolation { constraint } | StoreError::ForeignKeyViolation { constraint } => {
                Some(constraint)
            }
            StoreError::Database { source, .. } => source.constraint(),
            _ => None,
        }
    }

    /// Whether the same call may succeed if retried: timeouts, lost connections,
    /// serialization failures and deadlocks.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Timeout(_) => true,
            StoreError::Database { source, .. } => source.is_transient(),
            _ => false,
        }
    }
}

/// The error a database driver reported, behind [`StoreError::Database`]. It displays as the
/// driver's message; [`DriverError::downcast_ref`] reaches the driver's own error type.
#[derive(Clone)]
pub struct DriverError {
    error: Arc<dyn std::error::Error + Send + Sync>,
    transient: bool,
    constraint: Option<String>,
}

impl DriverError {
    /// The backend's reading of `error`: whether retrying may succeed, and the constraint it names.
    pub(crate) fn new(
        error: impl std::error::Error + Send + Sync + 'static,
        transient: bool,
        constraint: Option<String>,
    ) -> Self {
        DriverError { error: Arc::new(error), transient, constraint }
    }

    /// Whether the same call may succeed if retried.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The constraint the database named, if any.
    pub fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }

    /// The driver's error as its own type (such as `sqlx::Error`), if it is one.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref()
    }
}

impl fmt::Debug for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.error, f)
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

/// The driver's own cause, not the driver error itself, whose message this one already shows.
impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

#[cfg(test)]
mod tests;

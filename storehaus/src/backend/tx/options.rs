//! How a transaction starts: its isolation level and whether it may write.

/// The isolation level of a transaction, as the SQL standard names them.
///
/// PostgreSQL runs each as its own level (`READ UNCOMMITTED` does not exist there). SQLite runs
/// every transaction serializably, which gives each level at least what it promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// Each statement sees the rows committed before it began (PostgreSQL's default).
    ReadCommitted,
    /// Every statement sees one snapshot, taken at the transaction's first statement; a write
    /// to a row another transaction changed since fails with a serialization error (SQLSTATE
    /// `40001`, [`StoreError::is_transient`](crate::StoreError::is_transient)).
    RepeatableRead,
    /// As if the transactions ran one after another; one that cannot be fit into that order
    /// fails with a serialization error (SQLSTATE `40001`), to be retried.
    Serializable,
}

impl IsolationLevel {
    /// The level as SQL spells it, such as `"REPEATABLE READ"`.
    pub fn as_sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }
}

/// How [`StoreHaus::begin_with`](crate::StoreHaus::begin_with) and
/// [`StoreHaus::transaction_with`](crate::StoreHaus::transaction_with) start a transaction.
///
/// The default is the database's default: PostgreSQL's `READ COMMITTED` (or what the server is
/// configured with), read-write.
///
/// ```
/// use storehaus::{IsolationLevel, TransactionOptions};
///
/// let options = TransactionOptions::new().isolation(IsolationLevel::Serializable).read_only();
/// assert_eq!(options.isolation_level(), Some(IsolationLevel::Serializable));
/// assert!(options.is_read_only());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TransactionOptions {
    isolation: Option<IsolationLevel>,
    read_only: bool,
}

impl TransactionOptions {
    /// The database's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs the transaction at `level`.
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// Refuses every write in the transaction with [`StoreError::ReadOnly`](crate::StoreError::ReadOnly).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The isolation level asked for; `None` for the database's default.
    pub fn isolation_level(&self) -> Option<IsolationLevel> {
        self.isolation
    }

    /// Whether writes are refused.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }
}

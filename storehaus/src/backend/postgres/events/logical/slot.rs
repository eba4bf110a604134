//! The replication slot: created if missing, read with `pg_logical_slot_peek_changes`, moved
//! on with `pg_replication_slot_advance`. The slot's name is always a bound value.

use super::lsn::Lsn;
use sqlx::PgPool;

/// `wal_level` of the server.
const WAL_LEVEL: &str = "SELECT current_setting('wal_level')";

/// The slot named `$1`: its kind, database, plugin and confirmed position, and the database
/// of this connection.
const FIND: &str = "SELECT slot_type::text, database::text, plugin::text, confirmed_flush_lsn::text, \
     current_database()::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1";

/// Creates the persistent slot `$1`. Waits for the transactions running at that moment to end,
/// since decoding starts at a point none of them straddles.
const CREATE: &str = "SELECT lsn::text FROM pg_catalog.pg_create_logical_replication_slot($1, 'test_decoding')";

/// The slot's confirmed position and how far the WAL is flushed, read together.
const POSITIONS: &str = "SELECT confirmed_flush_lsn::text, pg_current_wal_flush_lsn()::text \
     FROM pg_catalog.pg_replication_slots WHERE slot_name = $1";

/// Marks everything before `$2` as read: the server may recycle that WAL.
const ADVANCE: &str = "SELECT end_lsn::text FROM pg_catalog.pg_replication_slot_advance($1, $2::text::pg_lsn)";

/// Committed transactions after the confirmed position, decoded up to `$2`, stopping after the
/// transaction that brings the rows to `$3` (transactions are never split).
const PEEK: &str = "SELECT lsn::text, data FROM pg_catalog.pg_logical_slot_peek_changes($1, $2::text::pg_lsn, $3, \
     'include-timestamp', '1', 'skip-empty-xacts', '1', 'include-xids', '1')";

/// Where the server's WAL ends now.
const CURRENT: &str = "SELECT pg_current_wal_lsn()::text";

/// The SQLSTATE of `duplicate_object`: another process created the slot first.
const DUPLICATE_OBJECT: &str = "42710";

/// Why the slot cannot be used.
#[derive(Debug, thiserror::Error)]
pub(super) enum SlotError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(
        "replication slot `{name}` is not a logical `test_decoding` slot of this database \
         (it is a {kind} slot of database {database:?} with plugin {plugin:?}); choose another `signal.slot_name`"
    )]
    Foreign { name: String, kind: String, database: Option<String>, plugin: Option<String> },
    #[error("replication slot `{0}` no longer exists; it is created again when a signal manager starts")]
    Gone(String),
    #[error("the server printed a position that is no LSN: {0:?}")]
    BadLsn(String),
}

/// The server's `wal_level`.
pub(super) async fn wal_level(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(WAL_LEVEL).fetch_one(pool).await
}

/// Where the server's WAL ends now.
pub(super) async fn current(pool: &PgPool) -> Result<Lsn, SlotError> {
    let text: String = sqlx::query_scalar(CURRENT).fetch_one(pool).await?;
    lsn(text)
}

fn lsn(text: String) -> Result<Lsn, SlotError> {
    Lsn::parse(&text).ok_or(SlotError::BadLsn(text))
}

/// A logical replication slot of the `test_decoding` plugin.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    name: String,
}

impl Slot {
    pub(super) fn new(name: &str) -> Self {
        Slot { name: name.to_owned() }
    }

    /// Creates the slot if it is missing; returns its confirmed position.
    pub(super) async fn ensure(&self, pool: &PgPool) -> Result<Lsn, SlotError> {
        if let Some(confirmed) = self.find(pool).await? {
            return Ok(confirmed);
        }
        match sqlx::query_scalar::<_, String>(CREATE).bind(&self.name).fetch_one(pool).await {
            Ok(_) => {}
            // Created by another process in the meantime: checked below like any other.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(DUPLICATE_OBJECT) => {}
            Err(e) => return Err(e.into()),
        }
        self.find(pool).await?.ok_or_else(|| SlotError::Gone(self.name.clone()))
    }

    /// The slot's confirmed position, `None` when there is no slot of that name; fails when
    /// the slot is of another kind, database or plugin.
    async fn find(&self, pool: &PgPool) -> Result<Option<Lsn>, SlotError> {
        type Found = (String, Option<String>, Option<String>, Option<String>, String);
        let found: Option<Found> = sqlx::query_as(FIND).bind(&self.name).fetch_optional(pool).await?;
        let Some((kind, database, plugin, confirmed, current_database)) = found else {
            return Ok(None);
        };
        let ours = kind == "logical"
            && database.as_deref() == Some(current_database.as_str())
            && plugin.as_deref() == Some("test_decoding");
        match confirmed {
            Some(confirmed) if ours => lsn(confirmed).map(Some),
            _ => Err(SlotError::Foreign { name: self.name.clone(), kind, database, plugin }),
        }
    }

    /// The slot's confirmed position and the WAL's flushed end.
    pub(super) async fn positions(&self, pool: &PgPool) -> Result<(Lsn, Lsn), SlotError> {
        let found: Option<(Option<String>, String)> =
            sqlx::query_as(POSITIONS).bind(&self.name).fetch_optional(pool).await?;
        match found {
            Some((Some(confirmed), flushed)) => Ok((lsn(confirmed)?, lsn(flushed)?)),
            _ => Err(SlotError::Gone(self.name.clone())),
        }
    }

    /// Moves the confirmed position forward to `to`, never past the flushed WAL.
    pub(super) async fn advance(&self, pool: &PgPool, to: Lsn) -> Result<(), SlotError> {
        sqlx::query(ADVANCE).bind(&self.name).bind(to.to_string()).execute(pool).await?;
        Ok(())
    }

    /// The output rows after the confirmed position up to `upto`: whole transactions, stopping
    /// once `max_rows` rows are reached.
    pub(super) async fn peek(&self, pool: &PgPool, upto: Lsn, max_rows: i32) -> Result<Vec<(Lsn, String)>, SlotError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as(PEEK).bind(&self.name).bind(upto.to_string()).bind(max_rows).fetch_all(pool).await?;
        rows.into_iter().map(|(position, data)| Ok((lsn(position)?, data))).collect()
    }
}

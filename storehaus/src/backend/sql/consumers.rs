//! Statements of durable consumers that PostgreSQL and SQLite spell alike (their tables differ
//! only in column types; see each backend's `consumers` module).

/// A consumer's id by name: `$1`.
pub(crate) const CONSUMER_ID: &str = "SELECT \"id\" FROM \"storehaus_consumers\" WHERE \"name\" = $1";

/// The columns of a dead letter, in the order the backends' `dead_letter_from_row` reads them.
macro_rules! dead_columns {
    () => {
        "SELECT c.\"name\", d.\"partition\", d.\"event\", d.\"error\", d.\"attempts\", d.\"failed_at\", \
         d.\"replay_requested\" FROM \"storehaus_dead_events\" d JOIN \"storehaus_consumers\" c ON c.\"id\" = d.\"consumer_id\" "
    };
}

/// The dead letters of consumer `$1` (by name), oldest event first.
pub(crate) const DEAD_LETTERS: &str = concat!(dead_columns!(), "WHERE c.\"name\" = $1 ORDER BY d.\"event_id\"");

/// The dead letters of consumer `$1` (by id) in partition `$2` whose replay was asked for.
pub(crate) const REPLAYS: &str = concat!(
    dead_columns!(),
    "WHERE d.\"consumer_id\" = $1 AND d.\"partition\" = $2 AND d.\"replay_requested\" ORDER BY d.\"event_id\""
);

/// Deletes the dead letter of event `$2` of consumer `$1` (by id), delivered by a replay.
pub(crate) const REPLAYED: &str =
    "DELETE FROM \"storehaus_dead_events\" WHERE \"consumer_id\" = $1 AND \"event_id\" = $2";

/// Forgets consumer `$1` (by name); its positions and dead letters go with it.
pub(crate) const REMOVE: &str = "DELETE FROM \"storehaus_consumers\" WHERE \"name\" = $1";

/// Forgets what consumer `$1` (by name) recorded with `mark_handled`.
pub(crate) const FORGET_HANDLED: &str = "DELETE FROM \"storehaus_handled_events\" WHERE \"consumer\" = $1";

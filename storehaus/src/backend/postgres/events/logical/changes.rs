//! From decoded rows to the events of their transactions: event-log rows become the events
//! StoreHaus recorded, changes of other tables become raw events.

use super::array::text_array;
use super::decode::{Action, Change, Column, Datum, DecodeError, Line, parse_timestamp};
use super::lsn::Lsn;
use crate::backend::postgres::events::EVENT_LOG;
use crate::signals::{DatabaseEvent, EventType};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Tables whose names start with this belong to StoreHaus: their changes are never raw events.
const INTERNAL_PREFIX: &str = "storehaus_";

/// A table, by schema and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct TableName {
    pub(super) schema: String,
    pub(super) table: String,
}

/// A committed transaction of the slot's output.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Transaction {
    /// Where its commit record ends: the slot skips the transaction once it is advanced here.
    pub(super) end: Lsn,
    /// The commit timestamp.
    pub(super) time: DateTime<Utc>,
    /// Its row changes, each with the LSN of its WAL record.
    pub(super) changes: Vec<(Lsn, Change)>,
}

/// Output that cannot be turned into events.
#[derive(Debug, thiserror::Error)]
pub(super) enum ChangeError {
    #[error("at {lsn}: {source}")]
    Decode {
        lsn: Lsn,
        #[source]
        source: DecodeError,
    },
    #[error("at {lsn}: {what}")]
    Unpaired { lsn: Lsn, what: &'static str },
    #[error("at {lsn}: the event-log row has no valid `{column}`")]
    LogRow { lsn: Lsn, column: &'static str },
}

/// Groups the slot's rows (LSN and text) into committed transactions. Rows about no row change
/// are left out, and so is a transaction whose commit is not among the rows.
pub(super) fn transactions(rows: Vec<(Lsn, String)>) -> Result<Vec<Transaction>, ChangeError> {
    let mut done = Vec::new();
    let mut open: Option<Vec<(Lsn, Change)>> = None;
    for (lsn, text) in rows {
        match super::decode::parse_line(&text).map_err(|source| ChangeError::Decode { lsn, source })? {
            Line::Begin if open.is_none() => open = Some(Vec::new()),
            Line::Begin => return Err(ChangeError::Unpaired { lsn, what: "BEGIN inside a transaction" }),
            Line::Change(change) => match open.as_mut() {
                Some(changes) => changes.push((lsn, change)),
                None => return Err(ChangeError::Unpaired { lsn, what: "a change outside a transaction" }),
            },
            Line::Commit { time } => match open.take() {
                Some(changes) => done.push(Transaction { end: lsn, time, changes }),
                None => return Err(ChangeError::Unpaired { lsn, what: "COMMIT without BEGIN" }),
            },
            Line::Other => {}
        }
    }
    Ok(done)
}

/// What turning changes into events needs to know about the database.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    /// The connection's current schema: tables there are named without it, and the event log
    /// is there.
    pub(super) current_schema: Option<&'a str>,
    /// The primary-key columns of the tables of raw changes, in key order.
    pub(super) keys: &'a HashMap<TableName, Vec<String>>,
}

impl Context<'_> {
    fn is_event_log(&self, change: &Change) -> bool {
        change.action == Action::Insert
            && change.table == EVENT_LOG
            && self.current_schema == Some(change.schema.as_str())
    }

    fn table_name(&self, change: &Change) -> String {
        if self.current_schema == Some(change.schema.as_str()) {
            change.table.clone()
        } else {
            format!("{}.{}", change.schema, change.table)
        }
    }
}

/// Whether a change may become a raw event: it is not of a StoreHaus table.
fn is_raw(change: &Change) -> bool {
    !change.table.starts_with(INTERNAL_PREFIX)
}

/// The tables whose primary keys raw events of `transactions` need.
pub(super) fn raw_tables(transactions: &[Transaction]) -> BTreeSet<TableName> {
    let changes = transactions.iter().flat_map(|tx| &tx.changes).map(|(_, change)| change);
    changes
        .filter(|change| is_raw(change))
        .map(|change| TableName { schema: change.schema.clone(), table: change.table.clone() })
        .collect()
}

/// The events of one transaction, in the order of its changes.
///
/// Event-log rows give the events StoreHaus recorded. Every other change becomes a raw event,
/// except changes of StoreHaus tables and changes of rows the transaction also recorded in the
/// log (same table and record id): a StoreHaus write arrives once, as its log event.
pub(super) fn events(tx: &Transaction, cx: &Context<'_>) -> Result<Vec<DatabaseEvent>, ChangeError> {
    let mut logged = Vec::with_capacity(tx.changes.len());
    for (lsn, change) in &tx.changes {
        let event = cx.is_event_log(change).then(|| log_event(change.row()));
        logged.push(event.transpose().map_err(|column| ChangeError::LogRow { lsn: *lsn, column })?);
    }
    let recorded: HashSet<(String, String)> = logged
        .iter()
        .flatten()
        .filter(|event| event.event_type != EventType::Channel)
        .map(|event| (event.table_name.clone(), event.record_id.clone()))
        .collect();
    let mut events = Vec::with_capacity(tx.changes.len());
    let mut previous: Option<(Lsn, u64)> = None;
    for ((lsn, change), logged) in tx.changes.iter().zip(logged) {
        // The rows of one multi-row record (COPY) share its LSN; each takes the next byte of
        // the record, which is longer than its rows are many, so ids stay unique.
        let offset = match previous {
            Some((last, offset)) if last == *lsn => offset + 1,
            _ => 0,
        };
        previous = Some((*lsn, offset));
        if let Some(event) = logged {
            events.push(event);
        } else if is_raw(change) {
            let event = raw_event(change, Lsn(lsn.0 + offset).raw_event_id(), tx.time, cx);
            if !recorded.contains(&(event.table_name.clone(), event.record_id.clone())) {
                events.push(event);
            }
        }
    }
    Ok(events)
}

/// The event an event-log row holds; the error names the column that is missing or invalid.
fn log_event(row: &[Column]) -> Result<DatabaseEvent, &'static str> {
    let text = |name: &'static str| row.iter().find(|c| c.name == name).and_then(|c| c.value.text()).ok_or(name);
    let tags = match row.iter().find(|c| c.name == "tags").map(|c| &c.value) {
        None | Some(Datum::Null) => Vec::new(),
        Some(value) => value.text().and_then(|literal| text_array(literal).ok()).ok_or("tags")?,
    };
    Ok(DatabaseEvent {
        id: text("id")?.parse().map_err(|_| "id")?,
        event_type: EventType::from_name(text("event_type")?).ok_or("event_type")?,
        table_name: text("table_name")?.to_owned(),
        record_id: text("record_id")?.to_owned(),
        tags,
        payload: serde_json::from_str(text("payload")?).map_err(|_| "payload")?,
        timestamp: parse_timestamp(text("created_at")?).ok_or("created_at")?,
    })
}

/// A change of a table StoreHaus does not write through its log.
fn raw_event(change: &Change, id: i64, time: DateTime<Utc>, cx: &Context<'_>) -> DatabaseEvent {
    let event_type = match change.action {
        Action::Insert => EventType::Create,
        Action::Update => EventType::Update,
        Action::Delete => EventType::Delete,
    };
    // An unchanged large value is not in the output: its key is left out rather than guessed.
    let payload = change
        .row()
        .iter()
        .filter(|column| column.value != Datum::Unchanged)
        .map(|column| (column.name.clone(), json(column)))
        .collect();
    let name = TableName { schema: change.schema.clone(), table: change.table.clone() };
    let key = cx.keys.get(&name).map(Vec::as_slice).unwrap_or_default();
    DatabaseEvent {
        id,
        event_type,
        table_name: cx.table_name(change),
        record_id: record_id(change, key),
        tags: Vec::new(),
        payload: Value::Object(payload),
        timestamp: time,
    }
}

/// The key's text, as the event log writes it: the value of a one-column key, a JSON array of
/// the values of a composite one (`["acme", "42"]`), empty for a table without a primary key.
fn record_id(change: &Change, key: &[String]) -> String {
    let old = change.old.iter().flatten();
    let value = |name: &str| {
        let mut columns = change.row().iter().chain(old.clone());
        columns.find_map(|c| (c.name == name).then(|| c.value.text()).flatten()).unwrap_or_default()
    };
    match key {
        [] => String::new(),
        [column] => value(column).to_owned(),
        columns => {
            let parts: Vec<String> = columns.iter().map(|c| Value::from(value(c)).to_string()).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// A column's value in a raw event's payload: numbers, booleans and `json`/`jsonb` as JSON,
/// everything else as its text.
fn json(column: &Column) -> Value {
    match &column.value {
        Datum::Null | Datum::Unchanged => Value::Null,
        Datum::Bare(text) => match text.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            // `NaN` and `Infinity` are no JSON numbers.
            _ => text.parse().map(Value::Number).unwrap_or_else(|_| Value::String(text.clone())),
        },
        Datum::Text(text) if matches!(column.type_name.as_str(), "json" | "jsonb") => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
        }
        Datum::Text(text) => Value::String(text.clone()),
    }
}

#[cfg(test)]
mod tests;

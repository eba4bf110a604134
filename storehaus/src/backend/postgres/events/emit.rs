//! Writing events in the same statement as the change they describe.

use super::EVENT_LOG;
use crate::backend::sql::{EventKind, quote_ident, quote_literal};
use crate::model::TableDef;
use crate::model::system::TAGS;
use crate::signals::DatabaseEvent;

/// The event type a write of `kind` records, as an SQL expression over the written row.
fn event_type(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Create => "'create'",
        EventKind::Update => "'update'",
        EventKind::Delete => "'delete'",
        EventKind::SoftDelete => "'soft_delete'",
        EventKind::Restore => "'restore'",
    }
}

/// Wraps a write that returns the record columns of `table` so that it also appends one event per
/// returned row to the event log, in one statement (and so in the write's transaction).
///
/// The result has the same columns and parameters as `write`.
pub(crate) fn with_events(write: &str, table: &TableDef, kind: EventKind) -> String {
    with_event_type(write, table, event_type(kind))
}

/// [`with_events`] with the event type an SQL expression over the written row `"__w"` (a write
/// that inserts or updates says which per row).
pub(crate) fn with_event_type(write: &str, table: &TableDef, event_type: &str) -> String {
    let key = record_id(table);
    let table_literal = quote_literal(table.name);
    let payload = payload(table);
    format!(
        "WITH \"__w\" AS ({write}), \"__e\" AS (\
         INSERT INTO \"{EVENT_LOG}\" (\"event_type\", \"table_name\", \"record_id\", \"tags\", \"payload\") \
         SELECT {kind}, {table_literal}, {key}, \"__w\".\"{TAGS}\", {payload} FROM \"__w\") \
         SELECT \"__w\".* FROM \"__w\"",
        kind = event_type,
    )
}

/// The event's `record_id`: the key as text, or for a composite key a JSON array of each key
/// column's text (`["acme", "42"]`).
fn record_id(table: &TableDef) -> String {
    let text = |name: &str| format!("\"__w\".{}::text", quote_ident(name));
    if !table.composite_key() {
        return text(table.primary_key().name);
    }
    let parts: Vec<String> = table.key_columns().map(|c| text(c.name)).collect();
    format!("json_build_array({})::text", parts.join(", "))
}

/// The payload of one event: the written row as JSON, without the `#[field(no_signal)]` columns,
/// so those never reach the event log. The row's `__auth__` travels as a column; the `#[tenant]`
/// column is repeated under `__tenant__`, so subscriptions filter on it without knowing the
/// model. Both names come from the model, never from a value.
fn payload(table: &TableDef) -> String {
    let mut payload = "to_jsonb(\"__w\".*)".to_owned();
    for name in table.no_signal_columns().map(|c| c.name) {
        payload.push_str(" - ");
        payload.push_str(&quote_literal(name));
    }
    // A tenant column kept out of events stays out; tenant subscriptions then match nothing.
    if let Some(tenant) = table.tenant_column().filter(|c| c.signal) {
        payload.push_str(&format!(
            " || jsonb_build_object({}, \"__w\".{})",
            quote_literal(DatabaseEvent::TENANT_KEY),
            quote_ident(tenant.name)
        ));
    }
    payload
}

#[cfg(test)]
mod tests;

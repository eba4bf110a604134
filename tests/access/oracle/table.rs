//! The raw table: seeded and read with SQL only, and the rows as the oracle sees them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as JsonValue;
use storehaus::prelude::*;
use storehaus_suite::raw;

use super::cases::Seed;
use super::scope::PRINCIPALS;
use super::subjects::{Key, Subject};

pub(super) type Table = BTreeMap<Key, Row>;

/// A row as the raw read sees it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    pub(super) org: String,
    pub(super) total: i64,
    pub(super) auth: Vec<String>,
    pub(super) tags: Vec<String>,
    pub(super) deleted: bool,
    /// `__auth__`, `__tags__`, `__created_at__`, `__updated_at__`, `__deleted_at__`,
    /// `__version__` as stored: the rows a call must leave alone are compared on these too.
    pub(super) stored: [String; 6],
}

/// What a call may write to a row, and what a returned record says of it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Data {
    pub(super) org: String,
    pub(super) total: i64,
    /// Sorted: `grant` may append anywhere.
    pub(super) auth: Vec<String>,
    pub(super) tags: Vec<String>,
    pub(super) deleted: bool,
}

impl Row {
    pub(super) fn new(org: String, total: i64, auth: Vec<String>, tags: Vec<String>) -> Row {
        Row { org, total, auth, tags, deleted: false, stored: Default::default() }
    }

    pub(super) fn data(&self) -> Data {
        let (org, auth, tags) = (self.org.clone(), sorted(&self.auth), self.tags.clone());
        Data { org, total: self.total, auth, tags, deleted: self.deleted }
    }
}

pub(super) fn sorted(list: &[String]) -> Vec<String> {
    let mut list = list.to_vec();
    list.sort();
    list
}

pub(super) fn returned<S: Subject>(record: &Record<S>) -> (Key, Data) {
    let (key, org, total) = S::read(record);
    let auth = match record.principals() {
        Some(auth) if S::AUTH => sorted(auth),
        None if !S::AUTH => Vec::new(),
        other => vec![format!("<__auth__ of the record: {other:?}>")],
    };
    (key, Data { org, total, auth, tags: record.tags().to_vec(), deleted: record.is_deleted() })
}

/// Empties the table and writes the seeded rows, with raw SQL.
pub(super) async fn reset<S: Subject>(storehaus: &StoreHaus, postgres: bool, seeds: &[Seed]) {
    let table = S::TABLE.name;
    raw::execute(storehaus, &format!("DELETE FROM {table}")).await;
    let array = |items: Vec<&str>| {
        let quoted = |item: &str| format!("\"{}\"", item.replace('\\', "\\\\").replace('"', "\\\""));
        let text = if postgres {
            format!("{{{}}}", items.into_iter().map(quoted).collect::<Vec<_>>().join(","))
        } else {
            serde_json::to_string(&items).unwrap()
        };
        text.replace('\'', "''")
    };
    let literal = |value: JsonValue| match value {
        JsonValue::String(text) => format!("'{text}'"),
        other => other.to_string(),
    };
    let key = |key: Key| match key {
        Key::Uuid(id) => format!("'{id}'"),
        Key::Int(id) => id.to_string(),
    };
    let mut ids = BTreeSet::new();
    let seeds: Vec<&Seed> = seeds.iter().filter(|s| ids.insert(S::new_key(s.id))).collect();
    if seeds.is_empty() {
        return;
    }
    let values: Vec<String> = (seeds.iter())
        .map(|s| {
            let principals = (0..4).filter(|i| s.auth & (1 << i) != 0).map(|i| PRINCIPALS[i]).collect();
            let auth = if S::AUTH { format!(", '{}'", array(principals)) } else { String::new() };
            let tags = array(if s.tagged { vec!["seeded"] } else { Vec::new() });
            let org = if S::TENANTED { format!(", '{}'", S::tenant_text(s.org)) } else { String::new() };
            let extra = S::extra(S::new_key(s.id)).map_or_else(String::new, |(_, value)| format!(", {value}"));
            let (id, value) = (key(S::new_key(s.id)), literal(S::value(s.total)));
            format!("({id}{org}{extra}, {value}, '{tags}'{auth})")
        })
        .collect();
    let tenant = if S::TENANTED { format!(", {}", S::TENANT) } else { String::new() };
    let extra = S::extra(S::new_key(0)).map_or_else(String::new, |(column, _)| format!(", {column}"));
    let auth = if S::AUTH { r#", "__auth__""# } else { "" };
    let value = S::VALUE;
    let sql =
        format!(r#"INSERT INTO {table} (id{tenant}{extra}, {value}, "__tags__"{auth}) VALUES {}"#, values.join(", "));
    raw::execute(storehaus, &sql).await;
    let deleted: Vec<String> = seeds.iter().filter(|s| s.deleted).map(|s| key(S::new_key(s.id))).collect();
    if !deleted.is_empty() {
        // The creation time, so the deletion time has the format the backend stores.
        let sql =
            format!(r#"UPDATE {table} SET "__deleted_at__" = "__created_at__" WHERE id IN ({})"#, deleted.join(", "));
        raw::execute(storehaus, &sql).await;
    }
}

/// Every row of the table, read with raw SQL (no scope, nothing of StoreHaus).
pub(super) async fn snapshot<S: Subject>(storehaus: &StoreHaus, postgres: bool) -> Table {
    let array = |column: &str| {
        if postgres { format!(r#"CAST(array_to_json("{column}") AS TEXT)"#) } else { format!(r#""{column}""#) }
    };
    let auth = if S::AUTH { array("__auth__") } else { "'[]'".to_owned() };
    let deleted = if S::SOFT { r#"CAST("__deleted_at__" AS TEXT)"# } else { "CAST(NULL AS TEXT)" };
    let version = if S::VERSIONED { r#"CAST("__version__" AS TEXT)"# } else { "CAST(NULL AS TEXT)" };
    let tenant = if S::TENANTED { format!("CAST({} AS TEXT)", S::TENANT) } else { "''".to_owned() };
    let sql = format!(
        r#"SELECT CAST(id AS TEXT), {tenant}, CAST({} AS TEXT), {auth}, {},
           CAST("__created_at__" AS TEXT), CAST("__updated_at__" AS TEXT), {deleted}, {version} FROM {}"#,
        S::VALUE,
        array("__tags__"),
        S::TABLE.name,
    );
    type Raw = (String, String, String, String, String, String, String, Option<String>, Option<String>);
    let rows: Vec<Raw> = raw::rows(storehaus, &sql).await;
    let list =
        |text: &str| serde_json::from_str::<Vec<String>>(text).unwrap_or_else(|e| panic!("stored {text:?}: {e}"));
    rows.into_iter()
        .map(|(id, org, value, auth, tags, created, updated, deleted, version)| {
            let mut row = Row::new(org, S::total(&value), list(&auth), list(&tags));
            row.deleted = deleted.is_some();
            row.stored = [auth, tags, created, updated, deleted.unwrap_or_default(), version.unwrap_or_default()];
            (S::parse_key(&id), row)
        })
        .collect()
}

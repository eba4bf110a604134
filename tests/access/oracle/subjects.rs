//! The tables under test, and what the property needs to know of each.

use std::fmt;

use serde_json::Value as JsonValue;
use storehaus::prelude::*;

use crate::{Invoice, Note, Project};

/// A key of either table, ordered as the database orders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Key {
    Uuid(Uuid),
    Int(i64),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Uuid(id) => id.fmt(f),
            Key::Int(id) => id.fmt(f),
        }
    }
}

/// What the property needs to know of a table's model.
pub(super) trait Subject: Model {
    const AUTH: bool;
    const SOFT: bool;
    const VERSIONED: bool = false;
    /// The `#[tenant]` column, when `TENANTED`.
    const TENANTED: bool = true;
    const TENANT: &'static str;
    /// The column holding the row's number (`total`); `NUMERIC` when it can be incremented.
    const VALUE: &'static str;
    const NUMERIC: bool;
    fn new_key(n: u128) -> Key;
    fn store_key(key: Key) -> Self::Key;
    fn parse_key(text: &str) -> Key;
    /// The stored text of tenant `t`.
    fn tenant_text(t: usize) -> String;
    fn with_tenant(store: GenericStore<Self>, t: usize) -> GenericStore<Self>;
    /// The value column's content for a number, and back.
    fn value(total: i64) -> JsonValue;
    fn total(text: &str) -> i64;
    fn make(key: Key, org: usize, total: i64) -> Self;
    fn read(record: &Record<Self>) -> (Key, String, i64);
    /// Another column the raw insert of a seeded row must fill, and its SQL literal.
    fn extra(_key: Key) -> Option<(&'static str, String)> {
        None
    }
}

const INVOICE_TENANTS: [Uuid; 2] = [Uuid::from_u128(0xA11CE), Uuid::from_u128(0xB0B)];

impl Subject for Invoice {
    const AUTH: bool = true;
    const SOFT: bool = false;
    const TENANT: &'static str = "org_id";
    const VALUE: &'static str = "total";
    const NUMERIC: bool = true;
    fn new_key(n: u128) -> Key {
        Key::Uuid(Uuid::from_u128(n))
    }
    fn store_key(key: Key) -> Uuid {
        match key {
            Key::Uuid(id) => id,
            Key::Int(_) => unreachable!("invoices have UUID keys"),
        }
    }
    fn parse_key(text: &str) -> Key {
        Key::Uuid(Uuid::parse_str(text).unwrap_or_else(|e| panic!("stored key {text:?}: {e}")))
    }
    fn tenant_text(t: usize) -> String {
        INVOICE_TENANTS[t].to_string()
    }
    fn with_tenant(store: GenericStore<Self>, t: usize) -> GenericStore<Self> {
        store.tenant(INVOICE_TENANTS[t])
    }
    fn value(total: i64) -> JsonValue {
        json!(total)
    }
    fn total(text: &str) -> i64 {
        text.parse().unwrap_or_else(|e| panic!("stored total {text:?}: {e}"))
    }
    fn make(key: Key, org: usize, total: i64) -> Self {
        Invoice { id: Self::store_key(key), org_id: INVOICE_TENANTS[org], total }
    }
    fn read(record: &Record<Self>) -> (Key, String, i64) {
        (Key::Uuid(record.id), record.org_id.to_string(), record.total)
    }
}

/// Note keys have twelve digits and bodies four, so that text and number order agree.
const NOTE_KEYS: i64 = 100_000_000_000;
const NOTE_BODY: i64 = 1_000;

impl Subject for Note {
    const AUTH: bool = false;
    const SOFT: bool = true;
    const TENANT: &'static str = "org";
    const VALUE: &'static str = "body";
    const NUMERIC: bool = false;
    fn new_key(n: u128) -> Key {
        Key::Int(NOTE_KEYS + (n % (8 * NOTE_KEYS as u128)) as i64)
    }
    fn store_key(key: Key) -> i64 {
        match key {
            Key::Int(id) => id,
            Key::Uuid(_) => unreachable!("notes have integer keys"),
        }
    }
    fn parse_key(text: &str) -> Key {
        Key::Int(text.parse().unwrap_or_else(|e| panic!("stored key {text:?}: {e}")))
    }
    fn tenant_text(t: usize) -> String {
        // The second is a LIKE pattern matching the first.
        ["acme", "a%c_e"][t].to_owned()
    }
    fn with_tenant(store: GenericStore<Self>, t: usize) -> GenericStore<Self> {
        store.tenant(Self::tenant_text(t))
    }
    fn value(total: i64) -> JsonValue {
        json!(format!("{:04}", total + NOTE_BODY))
    }
    fn total(text: &str) -> i64 {
        text.parse::<i64>().unwrap_or_else(|e| panic!("stored body {text:?}: {e}")) - NOTE_BODY
    }
    fn make(key: Key, org: usize, total: i64) -> Self {
        let body = Self::value(total).as_str().unwrap().to_owned();
        Note { id: Self::store_key(key), org: Self::tenant_text(org), body }
    }
    fn read(record: &Record<Self>) -> (Key, String, i64) {
        (Key::Int(record.id), record.org.clone(), Self::total(&record.body))
    }
}

impl Subject for Project {
    const AUTH: bool = true;
    const SOFT: bool = true;
    const VERSIONED: bool = true;
    const TENANTED: bool = false;
    const TENANT: &'static str = "";
    const VALUE: &'static str = "stars";
    const NUMERIC: bool = true;
    fn new_key(n: u128) -> Key {
        Invoice::new_key(n)
    }
    fn store_key(key: Key) -> Uuid {
        Invoice::store_key(key)
    }
    fn parse_key(text: &str) -> Key {
        Invoice::parse_key(text)
    }
    fn tenant_text(_: usize) -> String {
        String::new()
    }
    fn with_tenant(_: GenericStore<Self>, _: usize) -> GenericStore<Self> {
        unreachable!("projects have no tenant")
    }
    fn value(total: i64) -> JsonValue {
        json!(total)
    }
    fn total(text: &str) -> i64 {
        Invoice::total(text)
    }
    /// The unique name is the key's text, so that only keys ever collide.
    fn make(key: Key, _: usize, total: i64) -> Self {
        Project { id: Self::store_key(key), name: key.to_string(), stars: total as i32 }
    }
    fn read(record: &Record<Self>) -> (Key, String, i64) {
        (Key::Uuid(record.id), String::new(), i64::from(record.stars))
    }
    fn extra(key: Key) -> Option<(&'static str, String)> {
        Some(("name", format!("'{key}'")))
    }
}

//! Fixtures of the suite: the migrated tables, the stores on them, and raw SQL views of the rows
//! that do not go through StoreHaus.

use super::*;
use std::fmt::Debug;
use storehaus_suite::{TestBackend, raw};

/// A model with neither an `auth` flag nor a `#[tenant]` field: scopes do not apply to it.
#[model]
#[table(name = "plain_rows")]
#[derive(PartialEq)]
pub struct PlainRow {
    #[primary_key]
    pub id: i64,
    pub label: String,
}

/// A tenant field that may be left empty: create fills it from the scope.
#[model]
#[table(name = "memos")]
#[derive(PartialEq)]
pub struct Memo {
    #[primary_key]
    pub id: i64,
    #[tenant]
    pub org: Option<String>,
    pub text: String,
}

/// A database with the suite's tables and a store without scope for each (no signals, no cache).
pub struct Env {
    pub storehaus: StoreHaus,
    pub projects: GenericStore<Project>,
    pub invoices: GenericStore<Invoice>,
    pub notes: GenericStore<Note>,
    pub memos: GenericStore<Memo>,
    pub plain: GenericStore<PlainRow>,
}

pub async fn env<B: TestBackend>(db: &B) -> Env {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Project>(false).await.unwrap();
    storehaus.auto_migrate::<Invoice>(false).await.unwrap();
    storehaus.auto_migrate::<Note>(false).await.unwrap();
    storehaus.auto_migrate::<Memo>(false).await.unwrap();
    storehaus.auto_migrate::<PlainRow>(false).await.unwrap();
    let pool = storehaus.pool().clone();
    Env {
        projects: GenericStore::new(pool.clone(), None, None),
        invoices: GenericStore::new(pool.clone(), None, None),
        notes: GenericStore::new(pool.clone(), None, None),
        memos: GenericStore::new(pool.clone(), None, None),
        plain: GenericStore::new(pool, None, None),
        storehaus,
    }
}

pub fn project(name: &str, stars: i32) -> Project {
    Project { id: Uuid::new_v4(), name: format!("{name}-{}", Uuid::new_v4().simple()), stars }
}

pub fn invoice(org_id: Uuid, total: i64) -> Invoice {
    Invoice { id: Uuid::new_v4(), org_id, total }
}

pub fn note(id: i64, org: &str, body: &str) -> Note {
    Note { id, org: org.to_owned(), body: body.to_owned() }
}

/// An integer key no other row of this process uses.
pub fn next_id() -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1000);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// How a key is written in portable SQL.
pub trait KeyLiteral {
    fn literal(&self) -> String;
}

impl KeyLiteral for Uuid {
    fn literal(&self) -> String {
        // PostgreSQL casts the text to `uuid`; SQLite stores uuids as this very text.
        format!("'{}'", self.hyphenated())
    }
}

impl KeyLiteral for i64 {
    fn literal(&self) -> String {
        self.to_string()
    }
}

/// Every row of `table`, all columns, as text that changes whenever any byte of the row does,
/// ordered by key.
pub async fn snapshot(storehaus: &StoreHaus, table: &str) -> Vec<String> {
    let sql = if storehaus.pool().as_postgres().is_some() {
        format!(r#"SELECT CAST(row_to_json(t) AS TEXT) FROM "{table}" AS t ORDER BY CAST(t."id" AS TEXT)"#)
    } else {
        let names = raw::texts(storehaus, &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")).await;
        assert!(!names.is_empty(), "table {table} has no columns");
        // `quote` spells every storage class exactly (text quoted, blobs in hex, reals in full).
        let parts: Vec<String> = names.iter().map(|n| format!(r#"quote("{}")"#, n.as_deref().unwrap())).collect();
        format!(r#"SELECT {} FROM "{table}" ORDER BY CAST("id" AS TEXT)"#, parts.join(" || '|' || "))
    };
    raw::texts(storehaus, &sql).await.into_iter().map(|row| row.unwrap_or_default()).collect()
}

/// The row of `table` with key `key`, all columns as text; `None` when there is none.
pub async fn raw_row(storehaus: &StoreHaus, table: &str, key: &impl KeyLiteral) -> Option<String> {
    let key = key.literal();
    let sql = if storehaus.pool().as_postgres().is_some() {
        format!(r#"SELECT CAST(row_to_json(t) AS TEXT) FROM "{table}" AS t WHERE t."id" = {key}"#)
    } else {
        let names = raw::texts(storehaus, &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")).await;
        let parts: Vec<String> = names.iter().map(|n| format!(r#"quote("{}")"#, n.as_deref().unwrap())).collect();
        format!(r#"SELECT {} FROM "{table}" WHERE "id" = {key}"#, parts.join(" || '|' || "))
    };
    raw::texts(storehaus, &sql).await.into_iter().next().map(Option::unwrap_or_default)
}

/// How many rows `table` holds, deleted or not.
pub async fn row_count(storehaus: &StoreHaus, table: &str) -> i64 {
    raw::int(storehaus, &format!(r#"SELECT COUNT(*) FROM "{table}""#)).await
}

/// Removes the row `key` of `table` behind StoreHaus's back.
pub async fn raw_delete(storehaus: &StoreHaus, table: &str, key: &impl KeyLiteral) {
    raw::execute(storehaus, &format!(r#"DELETE FROM "{table}" WHERE "id" = {}"#, key.literal())).await;
}

/// The stored `__auth__` of row `key` of `table`; `None` when there is no such row.
pub async fn stored_principals(storehaus: &StoreHaus, table: &str, key: &impl KeyLiteral) -> Option<Vec<String>> {
    let column = if storehaus.pool().as_postgres().is_some() {
        r#"CAST(array_to_json("__auth__") AS TEXT)"#
    } else {
        r#""__auth__""#
    };
    let sql = format!(r#"SELECT {column} FROM "{table}" WHERE "id" = {}"#, key.literal());
    let text = raw::texts(storehaus, &sql).await.into_iter().next()?;
    let text = text.expect("__auth__ is NOT NULL");
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("`{text}` is not a principal list: {e}")))
}

/// The stored text of column `column` of row `key` of `table`.
pub async fn stored_text(storehaus: &StoreHaus, table: &str, column: &str, key: &impl KeyLiteral) -> Option<String> {
    let sql = format!(r#"SELECT CAST("{column}" AS TEXT) FROM "{table}" WHERE "id" = {}"#, key.literal());
    raw::texts(storehaus, &sql).await.into_iter().next().flatten()
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// What a caller can observe of a call's result: the value's `Debug` form, or the error's
/// variant and text.
pub fn outcome<R: Debug>(result: &Result<R, StoreError>) -> String {
    match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(error) => format!("Err({} / {error})", variant(error)),
    }
}

/// The name of an error's variant.
pub fn variant(error: &StoreError) -> String {
    let debug = format!("{error:?}");
    debug.split([' ', '(', '{']).next().unwrap_or_default().to_owned()
}

#[track_caller]
pub fn assert_validation<R: Debug>(result: Result<R, StoreError>, what: &str) {
    match result {
        Err(StoreError::Validation { .. }) => {}
        other => panic!("{what}: expected a Validation error, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_auth_required<R: Debug>(result: Result<R, StoreError>, table: &str, what: &str) {
    match result {
        Err(StoreError::AuthRequired { table: t, .. }) if t == table => {}
        other => panic!("{what}: expected AuthRequired on {table}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_tenant_required<R: Debug>(result: Result<R, StoreError>, table: &str, what: &str) {
    match result {
        Err(StoreError::TenantRequired { table: t, .. }) if t == table => {}
        other => panic!("{what}: expected TenantRequired on {table}, got {other:?}"),
    }
}

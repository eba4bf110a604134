//! `GenericStore` CRUD, tags, soft delete and optimistic locking, on PostgreSQL and on SQLite.
//!
//! Every test checks the rows themselves with raw SQL, not only what the store returned.

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::Row;
use std::time::Duration;
use storehaus::prelude::*;
use storehaus_suite::{TestBackend, on_both_backends, raw};

mod composite_keys;
mod dates;
mod deletes;
mod generated_keys;
mod misc;
mod narrow_ints;
mod undecodable;
mod versioning;
mod writes;

/// Soft delete, a unique column and one field of each write kind.
#[model]
#[table(name = "people", soft_delete)]
#[derive(PartialEq)]
pub struct Person {
    #[primary_key]
    pub id: Uuid,
    #[field(create, update)]
    pub name: String,
    #[field(create, update)]
    #[unique]
    pub email: String,
    #[field(create)]
    pub referrer: Option<String>,
    #[field(update)]
    pub note: Option<String>,
    pub age: Option<i32>,
}

/// Optimistic locking (and soft delete).
#[model]
#[table(name = "documents", soft_delete, versioned)]
#[derive(PartialEq)]
pub struct Doc {
    #[primary_key]
    pub id: Uuid,
    pub title: String,
}

/// No soft delete, no versioning: deletes remove rows.
#[model]
#[table(name = "plain_items")]
pub struct Item {
    #[primary_key]
    pub id: i64,
    pub label: String,
}

fn person(name: &str) -> Person {
    Person {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase()),
        referrer: Some("ads".to_owned()),
        note: Some("ignored on create".to_owned()),
        age: Some(30),
    }
}

fn tags(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|t| (*t).to_owned()).collect())
}

async fn people<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Person>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Person>(false).await.unwrap();
    let store = GenericStore::<Person>::new(storehaus.pool().clone(), None, None);
    (storehaus, store)
}

/// The row as stored, read without StoreHaus.
#[derive(Debug, Clone, PartialEq)]
struct PersonRow {
    id: Uuid,
    name: String,
    email: String,
    referrer: Option<String>,
    note: Option<String>,
    age: Option<i32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    tags: Vec<String>,
    deleted_at: Option<DateTime<Utc>>,
}

async fn row(storehaus: &StoreHaus, id: Uuid) -> Option<PersonRow> {
    let pool = storehaus.pool();
    if let Some(pg) = pool.as_postgres() {
        let row = sqlx::query("SELECT * FROM people WHERE id = $1").bind(id).fetch_optional(pg).await.unwrap()?;
        return Some(PersonRow {
            id: row.get("id"),
            name: row.get("name"),
            email: row.get("email"),
            referrer: row.get("referrer"),
            note: row.get("note"),
            age: row.get("age"),
            created_at: row.get("__created_at__"),
            updated_at: row.get("__updated_at__"),
            tags: row.get("__tags__"),
            deleted_at: row.get("__deleted_at__"),
        });
    }
    // SQLite stores uuids and timestamps as text and tags as a JSON array (see its `values.rs`).
    let lite = pool.as_sqlite().expect("every pool is PostgreSQL or SQLite");
    let row = sqlx::query("SELECT * FROM people WHERE id = ?")
        .bind(id.hyphenated().to_string())
        .fetch_optional(lite)
        .await
        .unwrap()?;
    Some(PersonRow {
        id: Uuid::parse_str(row.get("id")).unwrap(),
        name: row.get("name"),
        email: row.get("email"),
        referrer: row.get("referrer"),
        note: row.get("note"),
        age: row.get("age"),
        created_at: sqlite_time(row.get("__created_at__")),
        updated_at: sqlite_time(row.get("__updated_at__")),
        tags: sqlite_tags(row.get("__tags__")),
        deleted_at: row.get::<Option<&str>, _>("__deleted_at__").map(sqlite_time),
    })
}

/// A `TIMESTAMPTZ` as SQLite stores it: fixed-width UTC text ending in `Z`.
fn sqlite_time(text: &str) -> DateTime<Utc> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.6fZ")
        .unwrap_or_else(|e| panic!("`{text}` is not a stored timestamp: {e}"))
        .and_utc()
}

/// Tags as SQLite stores them: a JSON array of strings.
fn sqlite_tags(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("`{text}` is not a stored tag list: {e}"))
}

async fn row_count(storehaus: &StoreHaus, table: &str) -> i64 {
    raw::int(storehaus, &format!("SELECT COUNT(*) FROM \"{table}\"")).await
}

/// The clock writes are stamped with: PostgreSQL's `now()`; SQLite runs in this process, whose clock
/// it uses (to the microsecond, as it stores times).
async fn write_clock_now(storehaus: &StoreHaus) -> DateTime<Utc> {
    match storehaus.pool().as_postgres() {
        Some(pg) => sqlx::query_scalar("SELECT now()").fetch_one(pg).await.unwrap(),
        None => Utc::now().trunc_subsecs(6),
    }
}

fn assert_close(a: DateTime<Utc>, b: DateTime<Utc>) {
    assert!((a - b).num_seconds().abs() <= 5, "{a} and {b} are more than 5 seconds apart");
}

/// `now()` is the transaction's start time; a short pause makes consecutive writes distinguishable.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

fn doc(title: &str) -> Doc {
    Doc { id: Uuid::new_v4(), title: title.to_owned() }
}

async fn documents(storehaus: &StoreHaus) -> GenericStore<Doc> {
    storehaus.auto_migrate::<Doc>(false).await.unwrap();
    GenericStore::<Doc>::new(storehaus.pool().clone(), None, None)
}

/// `(title, __version__, __deleted_at__)` as stored.
async fn doc_row(storehaus: &StoreHaus, id: Uuid) -> (String, i64, Option<DateTime<Utc>>) {
    let pool = storehaus.pool();
    if let Some(pg) = pool.as_postgres() {
        return sqlx::query_as("SELECT title, __version__, __deleted_at__ FROM documents WHERE id = $1")
            .bind(id)
            .fetch_one(pg)
            .await
            .unwrap();
    }
    let lite = pool.as_sqlite().expect("every pool is PostgreSQL or SQLite");
    let (title, version, deleted_at): (String, i64, Option<String>) =
        sqlx::query_as("SELECT title, __version__, __deleted_at__ FROM documents WHERE id = ?")
            .bind(id.hyphenated().to_string())
            .fetch_one(lite)
            .await
            .unwrap();
    (title, version, deleted_at.as_deref().map(sqlite_time))
}

#[test]
fn generic_store_is_clone_send_sync() {
    fn assert_traits<S: Clone + Send + Sync + 'static>() {}
    assert_traits::<GenericStore<Person>>();
    assert_traits::<GenericStore<Item>>();
}

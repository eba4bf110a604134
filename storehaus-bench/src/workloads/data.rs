//! The data store: one key read, one key written, and 10 000 entries written at once.
//!
//! StoreHaus: `get::<serde_json::Value>(key)`, `set(key, value, None)` and `set_many(entries,
//! None)` on the scope of one user and namespace. sqlx: the very statements the data store sends
//! (`sql::DATA_GET`, `sql::DATA_SET`, `sql::DATA_SET_MANY`), with the same parameters; `set_many`
//! in one transaction of `DATA_SET_MANY_CHUNK` entries a statement, as the data store runs it.

use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::schema::truncate;
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use storehaus::Owner;
use storehaus::data::DataStore;

pub const GET: &str = "data_get";
pub const SET: &str = "data_set";
pub const SET_MANY: &str = "data_set_many";

const TABLE: &str = "storehaus_data";

/// Keys in the scope the reads and writes pick from.
const KEYS: usize = 10_000;
/// Entries of one `set_many`.
const MANY: usize = 10_000;

/// The scope every contender works in, as stored: owner kind, owner id, namespace.
const SCOPE: (&str, &str, &str) = ("user", "42", "prefs");

async fn scope(b: &Bench) -> Result<DataStore> {
    let data = b.storehaus.data_store().await?;
    Ok(data.for_owner(Owner::new(SCOPE.0, SCOPE.1)).in_namespace(SCOPE.2))
}

/// The key of sample `i`: every contender of a round uses the same one, rounds spread over the
/// scope.
fn key(i: usize) -> String {
    format!("setting.{}", i * 7_919 % KEYS)
}

/// A small preferences object, different for every sample so every write changes the row.
fn value(i: usize) -> Value {
    json!({"theme": if i.is_multiple_of(2) { "dark" } else { "light" }, "font_size": 12 + i % 8, "langs": ["en", "de"]})
}

/// A scope of [`KEYS`] entries, written through the data store (untimed).
async fn seed(b: &Bench, data: &DataStore) -> Result<()> {
    truncate(&b.setup, &[TABLE]).await?;
    data.set_many((0..KEYS).map(|i| (format!("setting.{i}"), value(i))), None).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE \"{TABLE}\""))).execute(&b.setup).await?;
    Ok(())
}

pub async fn get(b: &Bench) -> Result<Vec<Summary>> {
    let data = &scope(b).await?;
    seed(b, data).await?;
    let mut contenders = vec![
        Contender::new("storehaus", move |i| {
            Box::pin(async move {
                let key = key(i);
                let (t, found) = timed!(data.get::<Value>(&key).await?);
                expect_rows("storehaus", found.iter().len(), 1)?;
                Ok(t)
            })
        }),
        Contender::new("sqlx", move |i| {
            Box::pin(async move {
                let key = key(i);
                let (t, found) = timed!(
                    sqlx::query_as::<_, (Value, Option<DateTime<Utc>>)>(sql::DATA_GET)
                        .bind(SCOPE.0)
                        .bind(SCOPE.1)
                        .bind(SCOPE.2)
                        .bind(&key)
                        .fetch_optional(&b.sqlx)
                        .await?
                );
                expect_rows("sqlx", found.iter().len(), 1)?;
                Ok(t)
            })
        }),
    ];
    measure(GET, 1, b.mode.plan(Cost::Light), &mut contenders).await
}

pub async fn set(b: &Bench) -> Result<Vec<Summary>> {
    let data = &scope(b).await?;
    seed(b, data).await?;
    let mut contenders = vec![
        Contender::new("storehaus", move |i| {
            Box::pin(async move {
                let (key, value) = (key(i), value(i));
                let (t, _) = timed!(data.set(&key, &value, None).await?);
                Ok(t)
            })
        }),
        Contender::new("sqlx", move |i| {
            Box::pin(async move {
                let (key, value) = (key(i), value(i));
                let (t, written) = timed!(
                    sqlx::query_scalar::<_, String>(sql::DATA_SET)
                        .bind(SCOPE.0)
                        .bind(SCOPE.1)
                        .bind(SCOPE.2)
                        .bind(&key)
                        .bind(&value)
                        .bind(None::<i64>)
                        .fetch_all(&b.sqlx)
                        .await?
                );
                expect_rows("sqlx", written.len(), 1)?;
                Ok(t)
            })
        }),
    ];
    measure(SET, 1, b.mode.plan(Cost::Light), &mut contenders).await
}

/// [`MANY`] entries for an empty table (emptied before, untimed).
async fn fresh(b: &Bench, i: usize) -> Result<Vec<(String, Value)>> {
    truncate(&b.setup, &[TABLE]).await?;
    Ok((0..MANY).map(|n| (format!("bulk.{n}"), value(i + n))).collect())
}

/// `set_many`'s statements on raw sqlx: one transaction, one statement per chunk.
async fn sqlx_set_many(b: &Bench, entries: &[(String, Value)]) -> Result<usize> {
    let mut tx = b.sqlx.begin().await?;
    let mut written = 0;
    for chunk in entries.chunks(sql::DATA_SET_MANY_CHUNK) {
        let pairs: Vec<Value> = chunk.iter().map(|(k, v)| json!([k, v])).collect();
        let keys = sqlx::query_scalar::<_, String>(sql::DATA_SET_MANY)
            .bind(SCOPE.0)
            .bind(SCOPE.1)
            .bind(SCOPE.2)
            .bind(Value::Array(pairs))
            .bind(None::<i64>)
            .fetch_all(&mut *tx)
            .await?;
        written += keys.len();
    }
    tx.commit().await?;
    Ok(written)
}

pub async fn set_many(b: &Bench) -> Result<Vec<Summary>> {
    let data = &scope(b).await?;
    let mut contenders = vec![
        Contender::new("storehaus", move |i| {
            Box::pin(async move {
                let entries = fresh(b, i).await?;
                let (t, n) = timed!(data.set_many(entries, None).await?);
                expect_rows("storehaus", n as usize, MANY)?;
                Ok(t)
            })
        }),
        Contender::new("sqlx", move |i| {
            Box::pin(async move {
                let entries = fresh(b, i).await?;
                let (t, n) = timed!(sqlx_set_many(b, &entries).await?);
                expect_rows("sqlx", n, MANY)?;
                Ok(t)
            })
        }),
    ];
    let summaries = measure(SET_MANY, MANY as u64, b.mode.plan(Cost::Heavy), &mut contenders).await?;
    truncate(&b.setup, &[TABLE]).await?;
    Ok(summaries)
}

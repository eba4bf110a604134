//! The shared store on Redis: one key read, one key written, and a stream read by a group of two
//! consumers.
//!
//! StoreHaus (`storehaus`): `SharedStore` in the scope of one organization, on the bench's Redis
//! under a per-run prefix. Raw redis-rs (`redis-rs`, the reference of these workloads: their
//! ratio column is over its median, not sqlx's): one multiplexed connection sending the same
//! commands with the same keys and the same JSON bytes, encoded and decoded with serde_json as
//! the store does.
//!
//! - `shared_kv_get`: `kv().get::<Prefs>(key)` against `GET` and `serde_json::from_slice`.
//! - `shared_kv_set`: `kv().set(key, &prefs, None)` against `serde_json::to_vec` and `SET`.
//! - `stream_throughput`: [`MESSAGES`] messages appended one by one (`XADD … MAXLEN ~`), then
//!   read and acknowledged by two consumers of one group at once, [`READ_COUNT`] a read
//!   (`XREADGROUP`, `XACK`), until every message is acknowledged. A note gives messages/s.

use crate::Result;
use crate::runner::{Contender, Cost, expect_rows, measure, timed};
use crate::setup::Bench;
use crate::stats::Summary;
use redis::Value;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;
use storehaus::cache::shared::{BatchEntry, Namespace, SharedStore, StreamAppend, StreamGroup};

pub const GET: &str = "shared_kv_get";
pub const SET: &str = "shared_kv_set";
pub const STREAM: &str = "stream_throughput";

/// The contender every ratio of these workloads is taken against.
const REFERENCE: &str = "redis-rs";
/// Keys the reads and writes pick from.
const KEYS: usize = 1_000;
/// Messages of one stream sample, and how many one read asks for.
const MESSAGES: usize = 200;
const READ_COUNT: usize = 20;
/// The trim of every append, as `StreamAppend::max_len` sends it (`MAXLEN ~`).
const MAX_LEN: u64 = 10_000;
const GROUP: &str = "bench";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Prefs {
    theme: String,
    font_size: u32,
    langs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Job {
    id: u64,
    kind: String,
    attempts: u32,
}

/// The key of sample `i`: every contender of a round uses the same one.
fn key(i: usize) -> String {
    format!("prefs:{}", i * 7_919 % KEYS)
}

/// A small preferences object, different for every sample so every write changes the value.
fn prefs(i: usize) -> Prefs {
    Prefs {
        theme: if i.is_multiple_of(2) { "dark" } else { "light" }.to_owned(),
        font_size: 12 + (i % 8) as u32,
        langs: vec!["en".to_owned(), "de".to_owned()],
    }
}

/// The run's store (unscoped, for the clean-up) and its organization scope, and a raw
/// connection; `None` when Redis does not answer (the workload is skipped).
async fn connect(b: &Bench, workload: &str) -> Result<Option<(SharedStore, SharedStore, MultiplexedConnection)>> {
    let manager = match b.redis().await {
        Ok(manager) => manager,
        Err(e) => {
            eprintln!("{workload}: skipped, {e}");
            return Ok(None);
        }
    };
    let root =
        SharedStore::builder(Arc::new(manager)).service("bench").prefix(format!("{}:store", b.cache_prefix)).build()?;
    let org = root.scope("organization", "bench")?;
    let raw = redis::Client::open(b.redis_url.as_str())?.get_multiplexed_async_connection().await?;
    Ok(Some((root, org, raw)))
}

/// Deletes every key of this run's store.
async fn forget(root: &SharedStore) -> Result<()> {
    let mut cursor = 0;
    loop {
        let page = root.dev().scan("*", cursor, 1_000).await?;
        if !page.keys.is_empty() {
            root.adapter().delete(&page.keys).await?;
        }
        if page.cursor == 0 {
            return Ok(());
        }
        cursor = page.cursor;
    }
}

/// Sets the ratios of the group against raw redis-rs, and says so after the table.
fn against_redis(b: &Bench, workload: &str, mut summaries: Vec<Summary>) -> Vec<Summary> {
    b.note(format!("{workload}: the ratio column is over raw redis-rs's median, not sqlx's"));
    let reference = summaries.iter().find(|s| s.contender == REFERENCE).map(|s| s.median_us).filter(|&r| r > 0.0);
    for summary in &mut summaries {
        summary.ratio_to_sqlx = reference.map(|r| summary.median_us / r);
    }
    summaries
}

pub async fn get(b: &Bench) -> Result<Vec<Summary>> {
    let Some((root, org, raw)) = connect(b, GET).await? else { return Ok(Vec::new()) };
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(500) {
        let entries: Vec<_> = chunk.iter().map(|&i| (format!("prefs:{i}"), prefs(i))).collect();
        let entries: Vec<_> = entries.iter().map(|(k, v)| BatchEntry::new(k.as_str(), v)).collect();
        org.batch().set(&entries).await?;
    }
    let store = &org;
    let mut contenders = vec![
        Contender::new("storehaus", move |i| {
            Box::pin(async move {
                let key = key(i);
                let (t, found) = timed!(store.kv().get::<Prefs>(&key).await?);
                expect_rows("storehaus", found.iter().len(), 1)?;
                Ok(t)
            })
        }),
        Contender::new(REFERENCE, move |i| {
            let mut raw = raw.clone();
            Box::pin(async move {
                let key = store.key(Namespace::Kv, &key(i));
                let (t, found) = timed!({
                    let bytes: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query_async(&mut raw).await?;
                    bytes.map(|bytes| serde_json::from_slice::<Prefs>(&bytes)).transpose()?
                });
                expect_rows(REFERENCE, found.iter().len(), 1)?;
                Ok(t)
            })
        }),
    ];
    let summaries = measure(GET, 1, b.mode.plan(Cost::Light), &mut contenders).await;
    drop(contenders);
    forget(&root).await?;
    Ok(against_redis(b, GET, summaries?))
}

pub async fn set(b: &Bench) -> Result<Vec<Summary>> {
    let Some((root, org, raw)) = connect(b, SET).await? else { return Ok(Vec::new()) };
    let store = &org;
    let mut contenders = vec![
        Contender::new("storehaus", move |i| {
            Box::pin(async move {
                let (key, value) = (key(i), prefs(i));
                let (t, _) = timed!(store.kv().set(&key, &value, None).await?);
                Ok(t)
            })
        }),
        Contender::new(REFERENCE, move |i| {
            let mut raw = raw.clone();
            Box::pin(async move {
                let (key, value) = (store.key(Namespace::Kv, &key(i)), prefs(i));
                let (t, _) = timed!({
                    let bytes = serde_json::to_vec(&value)?;
                    redis::cmd("SET").arg(&key).arg(bytes).query_async::<()>(&mut raw).await?
                });
                Ok(t)
            })
        }),
    ];
    let summaries = measure(SET, 1, b.mode.plan(Cost::Light), &mut contenders).await;
    drop(contenders);
    // Both wrote the same JSON to the same key: the store reads back what redis-rs wrote.
    let last = store.kv().get::<Prefs>(&key(0)).await?;
    forget(&root).await?;
    if last.is_none() {
        return Err(format!("{SET}: nothing stored at {}", store.key(Namespace::Kv, &key(0))).into());
    }
    Ok(against_redis(b, SET, summaries?))
}

fn job(n: usize) -> Job {
    Job { id: n as u64, kind: "export".to_owned(), attempts: 0 }
}

pub async fn stream(b: &Bench) -> Result<Vec<Summary>> {
    let Some((root, org, raw)) = connect(b, STREAM).await? else { return Ok(Vec::new()) };
    let ours = "throughput";
    let theirs = org.key(Namespace::Streams, "throughput-raw");
    let consumers = [org.streams().group(GROUP, "worker-1"), org.streams().group(GROUP, "worker-2")];
    consumers[0].ensure(ours, "0").await?;
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&theirs)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<()>(&mut raw.clone())
        .await?;
    let (store, theirs) = (&org, theirs.as_str());
    let mut contenders = vec![
        Contender::new("storehaus", move |_| {
            let consumers = consumers.clone();
            Box::pin(async move {
                let started = Instant::now();
                for n in 0..MESSAGES {
                    store.streams().append(ours, &job(n), StreamAppend::max_len(MAX_LEN)).await?;
                }
                let tasks = consumers.map(|group| tokio::spawn(consume(group, ours)));
                let mut acked = 0;
                for task in tasks {
                    acked += task.await??;
                }
                let t = std::hint::black_box(started.elapsed());
                expect_rows("storehaus", acked, MESSAGES)?;
                Ok(t)
            })
        }),
        Contender::new(REFERENCE, move |_| {
            let mut conn = raw.clone();
            Box::pin(async move {
                let started = Instant::now();
                for n in 0..MESSAGES {
                    let bytes = serde_json::to_vec(&job(n))?;
                    redis::cmd("XADD")
                        .arg(theirs)
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(MAX_LEN)
                        .arg("*")
                        .arg("data")
                        .arg(bytes)
                        .query_async::<String>(&mut conn)
                        .await?;
                }
                let tasks = ["worker-1", "worker-2"]
                    .map(|name| tokio::spawn(consume_raw(conn.clone(), theirs.to_owned(), name)));
                let mut acked = 0;
                for task in tasks {
                    acked += task.await??;
                }
                let t = std::hint::black_box(started.elapsed());
                expect_rows(REFERENCE, acked, MESSAGES)?;
                Ok(t)
            })
        }),
    ];
    let summaries = measure(STREAM, MESSAGES as u64, b.mode.plan(Cost::Light), &mut contenders).await;
    drop(contenders);
    forget(&root).await?;
    let summaries = against_redis(b, STREAM, summaries?);
    let rate = |s: &Summary| MESSAGES as f64 / (s.median_us / 1e6);
    if let [ours, theirs] = &summaries[..] {
        b.note(format!(
            "{STREAM}: {MESSAGES} messages appended, then read and acknowledged by 2 consumers of one group, \
             {:.0} messages/s through SharedStore and {:.0} on raw redis-rs ({:.2}x its throughput)",
            rate(ours),
            rate(theirs),
            rate(ours) / rate(theirs)
        ));
    }
    Ok(summaries)
}

/// Reads and acknowledges `stream` through `group` until nothing new is left; returns how many.
async fn consume(group: StreamGroup, stream: &'static str) -> Result<usize> {
    let mut acked = 0;
    loop {
        let messages = group.read::<Job>(stream, READ_COUNT, None).await?;
        if messages.is_empty() {
            return Ok(acked);
        }
        let ids: Vec<String> = messages.into_iter().map(|message| message.id).collect();
        acked += group.ack(stream, &ids).await? as usize;
    }
}

/// [`consume`] on raw redis-rs: `XREADGROUP … COUNT n STREAMS key >`, decode, `XACK`.
async fn consume_raw(mut conn: MultiplexedConnection, stream: String, consumer: &'static str) -> Result<usize> {
    let mut acked = 0;
    loop {
        let reply: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("STREAMS")
            .arg(&stream)
            .arg(">")
            .query_async(&mut conn)
            .await?;
        let entries = entries(reply)?;
        if entries.is_empty() {
            return Ok(acked);
        }
        let mut ids = Vec::with_capacity(entries.len());
        for (id, data) in entries {
            std::hint::black_box(serde_json::from_slice::<Job>(&data)?);
            ids.push(id);
        }
        let n: usize = redis::cmd("XACK").arg(&stream).arg(GROUP).arg(&ids).query_async(&mut conn).await?;
        acked += n;
    }
}

/// The `(id, data)` of each entry of an `XREADGROUP` reply of one stream (RESP2 or RESP3).
fn entries(reply: Value) -> Result<Vec<(String, Vec<u8>)>> {
    let lists = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect(),
        Value::Map(streams) => streams.into_iter().map(|(_, list)| list).collect::<Vec<_>>(),
        other => return Err(format!("unexpected XREADGROUP reply {other:?}").into()),
    };
    let mut out = Vec::new();
    for list in lists {
        let Value::Array(items) = list else { return Err("XREADGROUP: entries are not a list".into()) };
        for item in items {
            let Value::Array(parts) = item else { return Err("XREADGROUP: an entry is not a list".into()) };
            let [Value::BulkString(id), Value::Array(fields)] = &parts[..] else {
                return Err("XREADGROUP: an entry is not [id, fields]".into());
            };
            let data = fields
                .chunks(2)
                .find_map(|pair| match pair {
                    [Value::BulkString(field), Value::BulkString(data)] if field == b"data" => Some(data.clone()),
                    _ => None,
                })
                .ok_or("XREADGROUP: an entry without a data field")?;
            out.push((String::from_utf8(id.clone())?, data));
        }
    }
    Ok(out)
}

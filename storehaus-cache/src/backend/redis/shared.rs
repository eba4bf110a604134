//! The Redis backend as a [`SharedAdapter`]: plain commands on the multiplexed connection,
//! pub/sub on connections of their own, blocking stream reads on pooled extra connections.

use std::time::Duration;

use redis::Value;
use redis::aio::MultiplexedConnection;

use super::pubsub::{self, Target};
use super::{RedisBackend, expiring_set};
use crate::backend::{BoxFuture, CacheBackend, millis};
use crate::error::{CacheError, CacheResult};
use crate::shared::{AutoClaimed, PendingSummary, RawEntry, SharedAdapter, StreamEntry, StreamTrim, Subscription};

/// Idle blocking-read connections kept for reuse.
const MAX_IDLE_BLOCKING: usize = 8;

impl SharedAdapter for RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Vec<u8>>>> {
        CacheBackend::get(self, key)
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<Option<Vec<u8>>>>> {
        CacheBackend::get_many(self, keys)
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<()>> {
        CacheBackend::set(self, key, value, ttl)
    }

    fn set_many<'a>(&'a self, entries: &'a [RawEntry]) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            if entries.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            pipe.atomic();
            for entry in entries {
                pipe.add_command(expiring_set(&entry.key, &entry.value, entry.ttl)).ignore();
            }
            self.pipeline(&pipe).await
        })
    }

    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move { Ok(self.query::<i64>(redis::cmd("EXISTS").arg(key)).await? == 1) })
    }

    fn delete<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<u64>> {
        CacheBackend::delete(self, keys)
    }

    fn expire<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move { Ok(self.query::<i64>(redis::cmd("PEXPIRE").arg(key).arg(millis(ttl))).await? == 1) })
    }

    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Duration>>> {
        CacheBackend::ttl(self, key)
    }

    fn incr_by<'a>(&'a self, key: &'a str, by: i64) -> BoxFuture<'a, CacheResult<i64>> {
        Box::pin(async move { self.query(redis::cmd("INCRBY").arg(key).arg(by)).await })
    }

    fn set_if_absent<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, CacheResult<bool>> {
        CacheBackend::set_if_absent(self, key, value, ttl)
    }

    fn compare_and_delete<'a>(&'a self, key: &'a str, expected: &'a [u8]) -> BoxFuture<'a, CacheResult<bool>> {
        CacheBackend::compare_and_delete(self, key, expected)
    }

    fn compare_and_expire<'a>(
        &'a self,
        key: &'a str,
        expected: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        CacheBackend::compare_and_expire(self, key, expected, ttl)
    }

    fn scan<'a>(
        &'a self,
        pattern: &'a str,
        cursor: u64,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<(u64, Vec<String>)>> {
        CacheBackend::scan(self, pattern, cursor, count)
    }

    fn publish<'a>(&'a self, channel: &'a str, payload: &'a [u8]) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move { self.query(redis::cmd("PUBLISH").arg(channel).arg(payload)).await })
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, CacheResult<Subscription>> {
        Box::pin(pubsub::subscribe(Target {
            client: self.client.clone(),
            channel: channel.to_owned(),
            connect_timeout: self.connect_timeout,
            max_delay: self.reconnect_max_delay,
        }))
    }

    fn stream_append<'a>(
        &'a self,
        stream: &'a str,
        fields: &'a [(&'a str, &'a [u8])],
        trim: Option<StreamTrim>,
    ) -> BoxFuture<'a, CacheResult<String>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("XADD");
            cmd.arg(stream);
            if let Some(trim) = trim {
                cmd.arg("MAXLEN").arg(if trim.approximate { "~" } else { "=" }).arg(trim.max_len);
            }
            cmd.arg("*");
            for (field, value) in fields {
                cmd.arg(*field).arg(*value);
            }
            self.query(&cmd).await
        })
    }

    fn stream_len<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move { self.query(redis::cmd("XLEN").arg(stream)).await })
    }

    fn group_create<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        start_id: &'a str,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let cmd = redis::cmd("XGROUP").arg("CREATE").arg(stream).arg(group).arg(start_id).arg("MKSTREAM").clone();
            match self.query::<()>(&cmd).await {
                Ok(()) => Ok(true),
                Err(CacheError::Backend(message)) if message.contains("BUSYGROUP") => Ok(false),
                Err(error) => Err(error),
            }
        })
    }

    fn group_read<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        consumer: &'a str,
        count: usize,
        block: Option<Duration>,
    ) -> BoxFuture<'a, CacheResult<Vec<StreamEntry>>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP").arg(group).arg(consumer).arg("COUNT").arg(count.max(1));
            if let Some(block) = block {
                cmd.arg("BLOCK").arg(millis(block));
            }
            cmd.arg("STREAMS").arg(stream).arg(">");
            let reply = match block {
                None => self.query::<Value>(&cmd).await?,
                Some(_) => self.blocking_query(&cmd).await?,
            };
            read_reply(reply)
        })
    }

    fn group_ack<'a>(&'a self, stream: &'a str, group: &'a str, ids: &'a [String]) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(0);
            }
            self.query(redis::cmd("XACK").arg(stream).arg(group).arg(ids)).await
        })
    }

    fn group_pending<'a>(&'a self, stream: &'a str, group: &'a str) -> BoxFuture<'a, CacheResult<PendingSummary>> {
        Box::pin(async move {
            let reply: Value = self.query(redis::cmd("XPENDING").arg(stream).arg(group)).await?;
            pending_reply(reply)
        })
    }

    fn group_autoclaim<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        consumer: &'a str,
        min_idle: Duration,
        start: &'a str,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<AutoClaimed>> {
        Box::pin(async move {
            let idle = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX);
            let cmd = redis::cmd("XAUTOCLAIM")
                .arg(stream)
                .arg(group)
                .arg(consumer)
                .arg(idle)
                .arg(start)
                .arg("COUNT")
                .arg(count.max(1))
                .clone();
            autoclaim_reply(self.query(&cmd).await?)
        })
    }
}

impl RedisBackend {
    /// Runs a blocking command on a connection of its own, so that it holds up nothing else.
    /// A connection whose command was cancelled is dropped, never reused mid-command.
    async fn blocking_query(&self, cmd: &redis::Cmd) -> CacheResult<Value> {
        let idle = self.blocking.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => self.blocking_connection().await?,
        };
        let result = cmd.query_async::<Value>(&mut conn).await;
        match result {
            Ok(value) => {
                let mut idle = self.blocking.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if idle.len() < MAX_IDLE_BLOCKING {
                    idle.push(conn);
                }
                Ok(value)
            }
            Err(error) => Err(self.cache_error(error)),
        }
    }

    async fn blocking_connection(&self) -> CacheResult<MultiplexedConnection> {
        // No response timeout: the caller bounds the command by its block time plus its timeout.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(None);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|error| CacheError::Unavailable(error.to_string()))
    }
}

fn malformed(what: &str) -> CacheError {
    CacheError::Backend(format!("unexpected reply to {what}"))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

/// The items of an array, or the key-value pairs of a map flattened (RESP3 replies).
fn items(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) | Value::Set(items) => Some(items),
        Value::Map(pairs) => Some(pairs.into_iter().flat_map(|(key, value)| [key, value]).collect()),
        Value::Attribute { data, .. } => items(*data),
        _ => None,
    }
}

/// `[id, [field, value, ...]]`; the fields are nil for an entry deleted since delivery.
fn entry(value: Value) -> CacheResult<StreamEntry> {
    let mut parts = items(value).ok_or_else(|| malformed("a stream entry"))?.into_iter();
    let id = parts.next().as_ref().and_then(text).ok_or_else(|| malformed("a stream entry id"))?;
    let mut fields = Vec::new();
    if let Some(raw) = parts.next().and_then(items) {
        let mut raw = raw.into_iter();
        while let (Some(field), Some(value)) = (raw.next(), raw.next()) {
            let field = text(&field).ok_or_else(|| malformed("a stream field"))?;
            fields.push((field, bytes(value).ok_or_else(|| malformed("a stream value"))?));
        }
    }
    Ok(StreamEntry { id, fields })
}

fn entries(value: Value) -> CacheResult<Vec<StreamEntry>> {
    items(value).ok_or_else(|| malformed("stream entries"))?.into_iter().map(entry).collect()
}

/// `XREADGROUP` answers nil on timeout, else `[[stream, entries]]` (a map in RESP3).
fn read_reply(reply: Value) -> CacheResult<Vec<StreamEntry>> {
    if matches!(reply, Value::Nil) {
        return Ok(Vec::new());
    }
    let mut streams = items(reply).ok_or_else(|| malformed("XREADGROUP"))?.into_iter();
    let first = streams.next();
    // RESP2: [[name, entries]]; RESP3 map flattened: [name, entries].
    let stream_entries = match first.map(items) {
        Some(Some(pair)) => pair.into_iter().nth(1),
        Some(None) => streams.next(),
        None => return Ok(Vec::new()),
    };
    stream_entries.map_or(Ok(Vec::new()), entries)
}

/// `XPENDING key group`: `[count, lowest, highest, [[consumer, count], ...]]`.
fn pending_reply(reply: Value) -> CacheResult<PendingSummary> {
    let mut parts = items(reply).ok_or_else(|| malformed("XPENDING"))?.into_iter();
    let count =
        parts.next().as_ref().and_then(text).and_then(|n| n.parse().ok()).ok_or_else(|| malformed("XPENDING"))?;
    let lowest = parts.next().as_ref().and_then(text);
    let highest = parts.next().as_ref().and_then(text);
    let mut consumers = Vec::new();
    for consumer in parts.next().and_then(items).unwrap_or_default() {
        let pair = items(consumer).ok_or_else(|| malformed("XPENDING consumers"))?;
        let name = pair.first().and_then(text).ok_or_else(|| malformed("XPENDING consumers"))?;
        let n =
            pair.get(1).and_then(text).and_then(|n| n.parse().ok()).ok_or_else(|| malformed("XPENDING consumers"))?;
        consumers.push((name, n));
    }
    consumers.sort();
    Ok(PendingSummary { count, lowest, highest, consumers })
}

/// `XAUTOCLAIM`: `[next, entries, deleted ids]`.
fn autoclaim_reply(reply: Value) -> CacheResult<AutoClaimed> {
    let mut parts = items(reply).ok_or_else(|| malformed("XAUTOCLAIM"))?.into_iter();
    let next = parts.next().as_ref().and_then(text).ok_or_else(|| malformed("XAUTOCLAIM"))?;
    let claimed = parts.next().map_or(Ok(Vec::new()), entries)?;
    let deleted = parts.next().and_then(items).unwrap_or_default().iter().filter_map(text).collect();
    // Entries deleted since delivery come back with nil fields on older servers; they are gone.
    let (entries, gone): (Vec<_>, Vec<_>) = claimed.into_iter().partition(|entry| !entry.fields.is_empty());
    let mut deleted: Vec<String> = deleted;
    deleted.extend(gone.into_iter().map(|entry| entry.id));
    Ok(AutoClaimed { next, entries, deleted })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn reads_resp2_and_resp3_group_replies() {
        let entry = Value::Array(vec![bulk("1-0"), Value::Array(vec![bulk("data"), bulk("{}")])]);
        let resp2 = Value::Array(vec![Value::Array(vec![bulk("s"), Value::Array(vec![entry.clone()])])]);
        let resp3 = Value::Map(vec![(bulk("s"), Value::Array(vec![entry]))]);
        for reply in [resp2, resp3] {
            let entries = read_reply(reply).unwrap();
            assert_eq!(entries, [StreamEntry { id: "1-0".into(), fields: vec![("data".into(), b"{}".to_vec())] }]);
        }
        assert!(read_reply(Value::Nil).unwrap().is_empty());
    }

    #[test]
    fn reads_pending_summaries() {
        let reply = Value::Array(vec![
            Value::Int(3),
            bulk("1-0"),
            bulk("3-0"),
            Value::Array(vec![Value::Array(vec![bulk("w2"), bulk("1")]), Value::Array(vec![bulk("w1"), bulk("2")])]),
        ]);
        let summary = pending_reply(reply).unwrap();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.consumers, [("w1".to_owned(), 2), ("w2".to_owned(), 1)]);
        let empty = pending_reply(Value::Array(vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil])).unwrap();
        assert_eq!(empty, PendingSummary::default());
    }
}

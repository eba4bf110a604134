//! [`Streams`]: durable streams read by consumer groups.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::adapter::{PendingSummary, StreamEntry, StreamTrim};
use super::error::{SharedResult, SharedStoreError};
use super::keys::{Namespace, check_name};
use super::{MAX_TTL, SharedStore, check_count};

/// The field that holds a message's JSON.
const DATA_FIELD: &str = "data";

/// How [`Streams::append`] trims the stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamAppend {
    trim: Option<StreamTrim>,
}

impl StreamAppend {
    /// Keeps about the newest `max_len` entries (`MAXLEN ~`: Redis trims whole nodes, so a few
    /// more may stay, at a fraction of the cost of an exact trim).
    pub fn max_len(max_len: u64) -> Self {
        StreamAppend { trim: Some(StreamTrim { max_len, approximate: true }) }
    }

    /// Trims to exactly the length given to [`max_len`](Self::max_len).
    pub fn exact(mut self) -> Self {
        if let Some(trim) = &mut self.trim {
            trim.approximate = false;
        }
        self
    }
}

/// A message read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamMessage<T> {
    /// The entry id; acknowledge it with [`StreamGroup::ack`].
    pub id: String,
    /// The message.
    pub data: T,
}

/// Streams of a [`SharedStore`], under `<…>:streams:<stream>`, each entry holding the
/// message's JSON in the field `data`.
#[derive(Debug, Clone, Copy)]
pub struct Streams<'a> {
    store: &'a SharedStore,
}

impl<'a> Streams<'a> {
    pub(super) fn new(store: &'a SharedStore) -> Self {
        Streams { store }
    }

    /// Appends `data` to `stream` (creating it) and returns the entry id.
    pub async fn append<T: Serialize + ?Sized>(
        &self,
        stream: &str,
        data: &T,
        options: StreamAppend,
    ) -> SharedResult<String> {
        let full = self.store.key_for("stream", Namespace::Streams, stream)?;
        let json = serde_json::to_vec(data).map_err(|error| SharedStoreError::payload(stream, error))?;
        let fields = [(DATA_FIELD, json.as_slice())];
        self.store.call("streams.append", self.store.inner.adapter.stream_append(&full, &fields, options.trim)).await
    }

    /// How many entries `stream` holds.
    pub async fn len(&self, stream: &str) -> SharedResult<u64> {
        let full = self.store.key_for("stream", Namespace::Streams, stream)?;
        self.store.call("streams.len", self.store.inner.adapter.stream_len(&full)).await
    }

    /// Consumer `consumer` of group `group`. Each entry goes to one consumer of the group, and
    /// stays pending until acknowledged, so a crashed consumer's entries can be taken over.
    pub fn group(&self, group: impl Into<String>, consumer: impl Into<String>) -> StreamGroup {
        StreamGroup { store: self.store.clone(), group: group.into(), consumer: consumer.into() }
    }
}

/// One consumer of a consumer group, made by [`Streams::group`].
///
/// Delivery is at least once: a message is delivered to one consumer and stays pending until
/// acknowledged with [`ack`](Self::ack); [`claim_stale`](Self::claim_stale) hands the messages
/// of a consumer that stopped to another. A message that does not decode is not returned: it
/// is counted in [`SharedStats::invalid_payloads`](super::SharedStats::invalid_payloads) and
/// stays pending, visible in [`pending`](Self::pending).
#[derive(Debug, Clone)]
pub struct StreamGroup {
    store: SharedStore,
    group: String,
    consumer: String,
}

impl StreamGroup {
    /// The group name.
    pub fn name(&self) -> &str {
        &self.group
    }

    /// The consumer name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Creates the group on `stream` (and the stream) delivering entries after `start_id`
    /// (`"0"`: all, `"$"`: only new ones); returns whether it created it (`false`: it existed
    /// and is left as it is).
    pub async fn ensure(&self, stream: &str, start_id: &str) -> SharedResult<bool> {
        let full = self.key(stream)?;
        check_name("start id", start_id)?;
        self.store.call("streams.ensure", self.store.inner.adapter.group_create(&full, &self.group, start_id)).await
    }

    /// Up to `count` messages of `stream` new to the group, now pending for this consumer;
    /// waits up to `block` for one when there is none.
    pub async fn read<T: DeserializeOwned>(
        &self,
        stream: &str,
        count: usize,
        block: Option<Duration>,
    ) -> SharedResult<Vec<StreamMessage<T>>> {
        let full = self.key(stream)?;
        check_count(count)?;
        check_duration("block", block.unwrap_or_default())?;
        let call = self.store.inner.adapter.group_read(&full, &self.group, &self.consumer, count, block);
        let entries = self.store.call_within("streams.read", block.unwrap_or_default(), call).await?;
        Ok(self.decode(stream, entries))
    }

    /// Acknowledges `ids`; returns how many were pending.
    pub async fn ack(&self, stream: &str, ids: &[String]) -> SharedResult<u64> {
        let full = self.key(stream)?;
        if ids.is_empty() {
            return Ok(0);
        }
        for id in ids {
            check_name("entry id", id)?;
        }
        self.store.call("streams.ack", self.store.inner.adapter.group_ack(&full, &self.group, ids)).await
    }

    /// The group's pending entries on `stream`, summed up.
    pub async fn pending(&self, stream: &str) -> SharedResult<PendingSummary> {
        let full = self.key(stream)?;
        self.store.call("streams.pending", self.store.inner.adapter.group_pending(&full, &self.group)).await
    }

    /// Takes over up to `count` messages pending in the group for at least `min_idle` (a
    /// consumer that died or hangs), as `XAUTOCLAIM` from the start of the pending list. They
    /// are now this consumer's, to process and acknowledge.
    pub async fn claim_stale<T: DeserializeOwned>(
        &self,
        stream: &str,
        min_idle: Duration,
        count: usize,
    ) -> SharedResult<Vec<StreamMessage<T>>> {
        let full = self.key(stream)?;
        check_count(count)?;
        check_duration("min_idle", min_idle)?;
        let call = self.store.inner.adapter.group_autoclaim(&full, &self.group, &self.consumer, min_idle, "0-0", count);
        let claimed = self.store.call("streams.claim_stale", call).await?;
        Ok(self.decode(stream, claimed.entries))
    }

    fn key(&self, stream: &str) -> SharedResult<String> {
        let full = self.store.key_for("stream", Namespace::Streams, stream)?;
        check_name("group", &self.group)?;
        check_name("consumer", &self.consumer)?;
        Ok(full)
    }

    fn decode<T: DeserializeOwned>(&self, stream: &str, entries: Vec<StreamEntry>) -> Vec<StreamMessage<T>> {
        let stats = &self.store.inner.stats;
        let messages: Vec<_> = entries
            .into_iter()
            .filter_map(|entry| match decode_entry(&entry) {
                Ok(data) => Some(StreamMessage { id: entry.id, data }),
                Err(error) => {
                    stats.invalid();
                    tracing::warn!(stream, id = entry.id, %error, "left a stream entry that does not decode pending");
                    None
                }
            })
            .collect();
        stats.delivered(messages.len() as u64);
        messages
    }
}

/// The message of an entry: its `data` field, or (for entries written by other clients) an
/// object of all its fields as strings.
fn decode_entry<T: DeserializeOwned>(entry: &StreamEntry) -> Result<T, serde_json::Error> {
    if let Some((_, data)) = entry.fields.iter().find(|(field, _)| field == DATA_FIELD) {
        return serde_json::from_slice(data);
    }
    let object = entry
        .fields
        .iter()
        .map(|(field, value)| (field.clone(), serde_json::Value::String(String::from_utf8_lossy(value).into_owned())))
        .collect();
    T::deserialize(serde_json::Value::Object(object))
}

fn check_duration(what: &'static str, duration: Duration) -> SharedResult<()> {
    if duration > MAX_TTL {
        return Err(SharedStoreError::input(what, "must be at most 100 years"));
    }
    Ok(())
}

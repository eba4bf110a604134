//! Streams of the memory backend: entries with Redis ids and consumer groups, in a plain map
//! beside the bounded cache (so a stream is never evicted), under one lock, so each operation is
//! atomic like its Redis command.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use crate::error::{CacheError, CacheResult};
use crate::shared::{AutoClaimed, PendingSummary, StreamEntry, StreamTrim};

/// How many pending entries `XAUTOCLAIM` looks at per entry it may return.
const AUTOCLAIM_ATTEMPTS: usize = 10;

/// The wait of a blocking read asked to wait longer than a clock can count.
const ENDLESS: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// A stream id, `<ms>-<seq>`, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct StreamId {
    ms: u64,
    seq: u64,
}

impl StreamId {
    /// `"<ms>-<seq>"`, `"<ms>"` (sequence 0) or `"-"` (the smallest id).
    fn parse(text: &str) -> CacheResult<Self> {
        let invalid = || CacheError::Backend("ERR Invalid stream ID specified as stream command argument".to_owned());
        if text == "-" {
            return Ok(StreamId::default());
        }
        let (ms, seq) = text.split_once('-').unwrap_or((text, "0"));
        Ok(StreamId { ms: ms.parse().map_err(|_| invalid())?, seq: seq.parse().map_err(|_| invalid())? })
    }

    /// The id of an entry appended at `now_ms` after `self`: strictly greater, even within one
    /// millisecond or when the clock went back.
    fn next(self, now_ms: u64) -> Option<Self> {
        if now_ms > self.ms {
            return Some(StreamId { ms: now_ms, seq: 0 });
        }
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => Some(StreamId { ms: self.ms.checked_add(1)?, seq: 0 }),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

type Fields = Vec<(String, Vec<u8>)>;

/// An entry delivered to a consumer and not acknowledged yet.
struct Pending {
    consumer: String,
    delivered_at: Instant,
    /// How many times it was delivered, as Redis counts them; no adapter call reports it.
    #[cfg_attr(not(test), allow(dead_code))]
    deliveries: u64,
}

#[derive(Default)]
struct Group {
    last_delivered: StreamId,
    pending: BTreeMap<StreamId, Pending>,
}

#[derive(Default)]
struct Stream {
    entries: BTreeMap<StreamId, Fields>,
    last_id: StreamId,
    groups: HashMap<String, Group>,
    /// Wakes the group reads waiting on this stream.
    appended: Arc<Notify>,
}

impl Stream {
    /// Hands up to `count` undelivered entries to `consumer`; `None` when the group is missing.
    fn deliver(&mut self, group: &str, consumer: &str, count: usize) -> Option<Vec<StreamEntry>> {
        let group = self.groups.get_mut(group)?;
        let now = Instant::now();
        let mut delivered = Vec::new();
        for (id, fields) in self.entries.range((Bound::Excluded(group.last_delivered), Bound::Unbounded)).take(count) {
            group.pending.insert(*id, Pending { consumer: consumer.to_owned(), delivered_at: now, deliveries: 1 });
            group.last_delivered = *id;
            delivered.push(entry(*id, fields));
        }
        Some(delivered)
    }
}

fn entry(id: StreamId, fields: &Fields) -> StreamEntry {
    StreamEntry { id: id.to_string(), fields: fields.clone() }
}

fn no_group(stream: &str, group: &str) -> CacheError {
    CacheError::Backend(format!("NOGROUP No such key '{stream}' or consumer group '{group}'"))
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[derive(Default)]
pub(super) struct Streams {
    inner: Mutex<HashMap<String, Stream>>,
}

impl Streams {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Stream>> {
        // Every change is made whole before anything can panic, so a poisoned lock is consistent.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn append(&self, name: &str, fields: &[(&str, &[u8])], trim: Option<StreamTrim>) -> CacheResult<String> {
        let mut streams = self.lock();
        let stream = streams.entry(name.to_owned()).or_default();
        let id = stream.last_id.next(now_millis()).ok_or_else(|| {
            CacheError::Backend(
                "ERR The stream has exhausted the last possible ID, unable to add more items".to_owned(),
            )
        })?;
        let fields = fields.iter().map(|(field, value)| ((*field).to_owned(), value.to_vec())).collect();
        stream.entries.insert(id, fields);
        stream.last_id = id;
        if let Some(trim) = trim {
            // Exact even when approximate is allowed: trimming a map costs nothing extra.
            let keep = usize::try_from(trim.max_len).unwrap_or(usize::MAX);
            while stream.entries.len() > keep {
                stream.entries.pop_first();
            }
        }
        stream.appended.notify_waiters();
        Ok(id.to_string())
    }

    pub(super) fn len(&self, name: &str) -> u64 {
        self.lock().get(name).map_or(0, |stream| stream.entries.len() as u64)
    }

    pub(super) fn group_create(&self, name: &str, group: &str, start_id: &str) -> CacheResult<bool> {
        let start = match start_id {
            "$" => None,
            id => Some(StreamId::parse(id)?),
        };
        let mut streams = self.lock();
        let stream = streams.entry(name.to_owned()).or_default();
        if stream.groups.contains_key(group) {
            return Ok(false);
        }
        let last_delivered = start.unwrap_or(stream.last_id);
        stream.groups.insert(group.to_owned(), Group { last_delivered, pending: BTreeMap::new() });
        Ok(true)
    }

    pub(super) async fn group_read(
        &self,
        name: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Option<Duration>,
    ) -> CacheResult<Vec<StreamEntry>> {
        // At least one, as the Redis adapter asks for.
        let count = count.max(1);
        let deadline = block.map(|block| {
            let now = tokio::time::Instant::now();
            // A wait beyond what `Instant` can hold is as good as endless.
            now.checked_add(block).unwrap_or_else(|| now + ENDLESS)
        });
        loop {
            let appended;
            let woken;
            let until = {
                let mut streams = self.lock();
                let stream = streams.get_mut(name).ok_or_else(|| no_group(name, group))?;
                let delivered = stream.deliver(group, consumer, count).ok_or_else(|| no_group(name, group))?;
                let Some(until) = deadline.filter(|_| delivered.is_empty()) else {
                    return Ok(delivered);
                };
                // Registered before the lock is released, so an append right after it wakes us.
                appended = Arc::clone(&stream.appended);
                woken = appended.notified();
                until
            };
            // Waiting holds no state: a dropped read leaves nothing behind.
            if tokio::time::timeout_at(until, woken).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    /// As `XACK`: nothing is pending in a missing group or stream, so that acknowledges none.
    pub(super) fn group_ack(&self, name: &str, group: &str, ids: &[String]) -> CacheResult<u64> {
        let mut streams = self.lock();
        let Some(group) = streams.get_mut(name).and_then(|s| s.groups.get_mut(group)) else {
            return Ok(0);
        };
        let ids = ids.iter().map(|id| StreamId::parse(id)).collect::<CacheResult<Vec<_>>>()?;
        Ok(ids.iter().filter(|id| group.pending.remove(id).is_some()).count() as u64)
    }

    pub(super) fn group_pending(&self, name: &str, group: &str) -> CacheResult<PendingSummary> {
        let streams = self.lock();
        let group = streams.get(name).and_then(|s| s.groups.get(group)).ok_or_else(|| no_group(name, group))?;
        let mut consumers = BTreeMap::<&str, u64>::new();
        for pending in group.pending.values() {
            *consumers.entry(&pending.consumer).or_default() += 1;
        }
        Ok(PendingSummary {
            count: group.pending.len() as u64,
            lowest: group.pending.first_key_value().map(|(id, _)| id.to_string()),
            highest: group.pending.last_key_value().map(|(id, _)| id.to_string()),
            consumers: consumers.into_iter().map(|(name, count)| (name.to_owned(), count)).collect(),
        })
    }

    /// `XAUTOCLAIM`: looks at up to `count * 10` pending entries from `start`; an entry that is
    /// gone (trimmed) counts towards `count` like a claimed one.
    pub(super) fn group_autoclaim(
        &self,
        name: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        start: &str,
        count: usize,
    ) -> CacheResult<AutoClaimed> {
        // At least one, as the Redis adapter asks for.
        let count = count.max(1);
        let start = StreamId::parse(start)?;
        let mut streams = self.lock();
        let stream = streams.get_mut(name).ok_or_else(|| no_group(name, group))?;
        let Stream { entries, groups, .. } = stream;
        let group = groups.get_mut(group).ok_or_else(|| no_group(name, group))?;
        let attempts = count.saturating_mul(AUTOCLAIM_ATTEMPTS);
        // One more than can be looked at, to know where the next call starts.
        let candidates: Vec<StreamId> =
            group.pending.range(start..).map(|(id, _)| *id).take(attempts.saturating_add(1)).collect();
        let now = Instant::now();
        let mut claimed = AutoClaimed::default();
        let (mut left, mut scanned) = (count, 0);
        for id in candidates.iter().take(attempts) {
            if left == 0 {
                break;
            }
            scanned += 1;
            let Some(fields) = entries.get(id) else {
                group.pending.remove(id);
                claimed.deleted.push(id.to_string());
                left -= 1;
                continue;
            };
            let Some(pending) = group.pending.get_mut(id) else { continue };
            if now.saturating_duration_since(pending.delivered_at) < min_idle {
                continue;
            }
            consumer.clone_into(&mut pending.consumer);
            pending.delivered_at = now;
            pending.deliveries += 1;
            claimed.entries.push(entry(*id, fields));
            left -= 1;
        }
        claimed.next = candidates.get(scanned).map_or_else(|| StreamId::default().to_string(), ToString::to_string);
        Ok(claimed)
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    /// Removes the streams among `names`, waking their waiting readers; returns how many existed.
    pub(super) fn remove(&self, names: &[String]) -> u64 {
        let mut streams = self.lock();
        let mut removed = 0;
        for name in names {
            if let Some(stream) = streams.remove(name) {
                stream.appended.notify_waiters();
                removed += 1;
            }
        }
        removed
    }

    /// The stream names matching `pattern`.
    pub(super) fn keys_matching(&self, pattern: &str) -> Vec<String> {
        self.lock().keys().filter(|name| crate::glob::glob_match(pattern, name)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &[(&str, &[u8])] = &[("data", b"{}")];

    fn ids_of(entries: &[StreamEntry]) -> Vec<String> {
        entries.iter().map(|entry| entry.id.clone()).collect()
    }

    fn filled(count: usize) -> (Streams, Vec<String>) {
        let streams = Streams::default();
        let ids = (0..count).map(|_| streams.append("s", DATA, None).unwrap()).collect();
        (streams, ids)
    }

    fn deliveries(streams: &Streams, id: &str) -> u64 {
        let id = StreamId::parse(id).unwrap();
        streams.lock()["s"].groups["g"].pending[&id].deliveries
    }

    #[test]
    fn ids_increase_within_one_millisecond() {
        let (streams, ids) = filled(500);
        let parsed: Vec<StreamId> = ids.iter().map(|id| StreamId::parse(id).unwrap()).collect();
        assert!(parsed.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(parsed.windows(2).any(|pair| pair[0].ms == pair[1].ms), "ids share a millisecond");
        assert_eq!(streams.len("s"), 500);
        let last = StreamId { ms: u64::MAX, seq: 7 };
        assert_eq!(last.next(5), Some(StreamId { ms: u64::MAX, seq: 8 }));
        assert_eq!(StreamId { ms: 9, seq: u64::MAX }.next(3), Some(StreamId { ms: 10, seq: 0 }));
        assert_eq!(StreamId { ms: u64::MAX, seq: u64::MAX }.next(3), None);
        assert_eq!(StreamId::parse("12").unwrap(), StreamId { ms: 12, seq: 0 });
        assert!(StreamId::parse("1-x").is_err());
    }

    #[test]
    fn trim_keeps_the_newest() {
        let (streams, ids) = filled(5);
        let trim = StreamTrim { max_len: 3, approximate: true };
        let newest = streams.append("s", DATA, Some(trim)).unwrap();
        assert_eq!(streams.len("s"), 3);
        let kept: Vec<String> = streams.lock()["s"].entries.keys().map(ToString::to_string).collect();
        assert_eq!(kept, vec![ids[3].clone(), ids[4].clone(), newest]);
        assert_eq!(streams.len("missing"), 0);
    }

    #[tokio::test]
    async fn group_read_ack_and_pending() {
        let (streams, ids) = filled(3);
        assert!(streams.group_create("s", "g", "0").unwrap());
        assert!(!streams.group_create("s", "g", "$").unwrap());
        let first = streams.group_read("s", "g", "alice", 2, None).await.unwrap();
        assert_eq!(ids_of(&first), ids[..2]);
        assert_eq!(first[0].fields, vec![("data".to_owned(), b"{}".to_vec())]);
        let second = streams.group_read("s", "g", "bob", 10, None).await.unwrap();
        assert_eq!(ids_of(&second), ids[2..]);
        assert!(streams.group_read("s", "g", "bob", 10, None).await.unwrap().is_empty());
        let summary = streams.group_pending("s", "g").unwrap();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.lowest.as_deref(), Some(ids[0].as_str()));
        assert_eq!(summary.highest.as_deref(), Some(ids[2].as_str()));
        assert_eq!(summary.consumers, vec![("alice".to_owned(), 2), ("bob".to_owned(), 1)]);
        assert_eq!(deliveries(&streams, &ids[0]), 1);
        let acked = [ids[0].clone(), ids[0].clone(), "1-1".to_owned()];
        assert_eq!(streams.group_ack("s", "g", &acked).unwrap(), 1);
        assert_eq!(streams.group_pending("s", "g").unwrap().count, 2);
        assert!(streams.group_ack("s", "g", &["bad".to_owned()]).is_err());
        streams.append("s", DATA, None).unwrap();
        streams.append("s", DATA, None).unwrap();
        assert_eq!(streams.group_read("s", "g", "bob", 0, None).await.unwrap().len(), 1, "count 0 reads one");
    }

    #[tokio::test]
    async fn group_start_ids() {
        let (streams, ids) = filled(2);
        assert!(streams.group_create("s", "new", "$").unwrap());
        assert!(streams.group_create("s", "after", &ids[0]).unwrap());
        assert!(streams.group_create("fresh", "g", "0-0").unwrap());
        assert!(streams.group_read("s", "new", "c", 10, None).await.unwrap().is_empty());
        assert_eq!(ids_of(&streams.group_read("s", "after", "c", 10, None).await.unwrap()), ids[1..]);
        assert_eq!(streams.len("fresh"), 0);
        assert!(streams.group_create("s", "bad", "nope").is_err());
    }

    #[tokio::test]
    async fn missing_group_or_stream_is_nogroup() {
        let (streams, _) = filled(1);
        let nogroup = |error: CacheError| matches!(error, CacheError::Backend(text) if text.starts_with("NOGROUP"));
        assert!(nogroup(streams.group_read("s", "g", "c", 1, None).await.unwrap_err()));
        assert!(nogroup(streams.group_read("none", "g", "c", 1, Some(Duration::from_secs(5))).await.unwrap_err()));
        assert_eq!(streams.group_ack("s", "g", &["1-1".to_owned(), "bad".to_owned()]).unwrap(), 0);
        assert_eq!(streams.group_ack("none", "g", &["1-1".to_owned()]).unwrap(), 0);
        assert!(nogroup(streams.group_pending("none", "g").unwrap_err()));
        assert!(nogroup(streams.group_autoclaim("s", "g", "c", Duration::ZERO, "0-0", 1).unwrap_err()));
    }

    #[tokio::test]
    async fn blocking_read_is_woken_by_an_append() {
        let streams = Arc::new(Streams::default());
        streams.group_create("s", "g", "$").unwrap();
        let reader = {
            let streams = Arc::clone(&streams);
            tokio::spawn(async move { streams.group_read("s", "g", "c", 10, Some(Duration::from_secs(10))).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let id = streams.append("s", DATA, None).unwrap();
        let read = reader.await.unwrap().unwrap();
        assert_eq!(ids_of(&read), vec![id]);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(streams.group_pending("s", "g").unwrap().count, 1);
    }

    #[tokio::test]
    async fn blocking_read_times_out_and_leaves_nothing() {
        let streams = Streams::default();
        streams.group_create("s", "g", "$").unwrap();
        let started = Instant::now();
        let read = streams.group_read("s", "g", "c", 10, Some(Duration::from_millis(80))).await.unwrap();
        assert!(read.is_empty());
        assert!(started.elapsed() >= Duration::from_millis(80));
        // A read dropped while waiting takes nothing: the next append is still undelivered.
        let dropped =
            tokio::time::timeout(Duration::from_millis(20), streams.group_read("s", "g", "c", 10, Some(Duration::MAX)));
        assert!(dropped.await.is_err());
        let id = streams.append("s", DATA, None).unwrap();
        assert_eq!(streams.group_pending("s", "g").unwrap().count, 0);
        assert_eq!(ids_of(&streams.group_read("s", "g", "c", 10, None).await.unwrap()), vec![id]);
    }

    #[tokio::test]
    async fn autoclaim_takes_idle_entries_and_reports_trimmed_ones() {
        let (streams, ids) = filled(4);
        streams.group_create("s", "g", "0").unwrap();
        streams.group_read("s", "g", "alice", 4, None).await.unwrap();
        let idle = Duration::from_millis(60);
        let early = streams.group_autoclaim("s", "g", "bob", idle, "0-0", 10).unwrap();
        assert!(early.entries.is_empty() && early.deleted.is_empty());
        assert_eq!(early.next, "0-0");
        tokio::time::sleep(idle).await;
        // Trimming drops entries, not their pending records.
        streams.append("s", DATA, Some(StreamTrim { max_len: 4, approximate: false })).unwrap();
        let claimed = streams.group_autoclaim("s", "g", "bob", idle, "0-0", 2).unwrap();
        assert_eq!(claimed.deleted, vec![ids[0].clone()]);
        assert_eq!(ids_of(&claimed.entries), vec![ids[1].clone()]);
        assert_eq!(claimed.next, ids[2]);
        assert_eq!(deliveries(&streams, &ids[1]), 2);
        let rest = streams.group_autoclaim("s", "g", "bob", idle, &claimed.next, 10).unwrap();
        assert_eq!(ids_of(&rest.entries), ids[2..]);
        assert_eq!(rest.next, "0-0");
        // Claimed entries are idle again.
        let again = streams.group_autoclaim("s", "g", "carol", idle, "0-0", 10).unwrap();
        assert!(again.entries.is_empty());
        let summary = streams.group_pending("s", "g").unwrap();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.consumers, vec![("bob".to_owned(), 3)]);
        assert_eq!(streams.group_autoclaim("s", "g", "bob", Duration::ZERO, "0-0", 0).unwrap().entries.len(), 1);
    }
}

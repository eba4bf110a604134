//! Batches take one round trip: a store on an adapter that counts its calls, wrapped around the
//! test's storage (`builder_with_adapter`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use storehaus::cache::shared::{
    AutoClaimed, BatchEntry, PendingSummary, RawEntry, SharedAdapter, SharedStore, StreamEntry, StreamTrim,
    Subscription,
};
use storehaus::cache::{BoxFuture, CacheResult};

use crate::env::SERVICE;
use crate::on_both;

/// Another adapter's calls, counted by method.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn SharedAdapter>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counting {
    fn count(&self, method: &'static str) {
        *self.calls.lock().unwrap().entry(method).or_default() += 1;
    }

    /// The calls since the last look, and starts counting afresh.
    fn take(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl SharedAdapter for Counting {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Vec<u8>>>> {
        self.count("get");
        self.inner.get(key)
    }
    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<Option<Vec<u8>>>>> {
        self.count("get_many");
        self.inner.get_many(keys)
    }
    fn set<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<()>> {
        self.count("set");
        self.inner.set(key, value, ttl)
    }
    fn set_many<'a>(&'a self, entries: &'a [RawEntry]) -> BoxFuture<'a, CacheResult<()>> {
        self.count("set_many");
        self.inner.set_many(entries)
    }
    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<bool>> {
        self.count("exists");
        self.inner.exists(key)
    }
    fn delete<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<u64>> {
        self.count("delete");
        self.inner.delete(keys)
    }
    fn expire<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, CacheResult<bool>> {
        self.count("expire");
        self.inner.expire(key, ttl)
    }
    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Duration>>> {
        self.count("ttl");
        self.inner.ttl(key)
    }
    fn incr_by<'a>(&'a self, key: &'a str, by: i64) -> BoxFuture<'a, CacheResult<i64>> {
        self.count("incr_by");
        self.inner.incr_by(key, by)
    }
    fn set_if_absent<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, CacheResult<bool>> {
        self.count("set_if_absent");
        self.inner.set_if_absent(key, value, ttl)
    }
    fn compare_and_delete<'a>(&'a self, key: &'a str, expected: &'a [u8]) -> BoxFuture<'a, CacheResult<bool>> {
        self.count("compare_and_delete");
        self.inner.compare_and_delete(key, expected)
    }
    fn compare_and_expire<'a>(
        &'a self,
        key: &'a str,
        expected: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        self.count("compare_and_expire");
        self.inner.compare_and_expire(key, expected, ttl)
    }
    fn scan<'a>(
        &'a self,
        pattern: &'a str,
        cursor: u64,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<(u64, Vec<String>)>> {
        self.count("scan");
        self.inner.scan(pattern, cursor, count)
    }
    fn publish<'a>(&'a self, channel: &'a str, payload: &'a [u8]) -> BoxFuture<'a, CacheResult<u64>> {
        self.count("publish");
        self.inner.publish(channel, payload)
    }
    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, CacheResult<Subscription>> {
        self.count("subscribe");
        self.inner.subscribe(channel)
    }
    fn stream_append<'a>(
        &'a self,
        stream: &'a str,
        fields: &'a [(&'a str, &'a [u8])],
        trim: Option<StreamTrim>,
    ) -> BoxFuture<'a, CacheResult<String>> {
        self.count("stream_append");
        self.inner.stream_append(stream, fields, trim)
    }
    fn stream_len<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, CacheResult<u64>> {
        self.count("stream_len");
        self.inner.stream_len(stream)
    }
    fn group_create<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        start_id: &'a str,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        self.count("group_create");
        self.inner.group_create(stream, group, start_id)
    }
    fn group_read<'a>(
        &'a self,
        stream: &'a str,
        group: &'a str,
        consumer: &'a str,
        count: usize,
        block: Option<Duration>,
    ) -> BoxFuture<'a, CacheResult<Vec<StreamEntry>>> {
        self.count("group_read");
        self.inner.group_read(stream, group, consumer, count, block)
    }
    fn group_ack<'a>(&'a self, stream: &'a str, group: &'a str, ids: &'a [String]) -> BoxFuture<'a, CacheResult<u64>> {
        self.count("group_ack");
        self.inner.group_ack(stream, group, ids)
    }
    fn group_pending<'a>(&'a self, stream: &'a str, group: &'a str) -> BoxFuture<'a, CacheResult<PendingSummary>> {
        self.count("group_pending");
        self.inner.group_pending(stream, group)
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
        self.count("group_autoclaim");
        self.inner.group_autoclaim(stream, group, consumer, min_idle, start, count)
    }
}

fn calls(entries: &[(&'static str, u64)]) -> BTreeMap<&'static str, u64> {
    entries.iter().copied().collect()
}

on_both! {
    /// A batch of 500 keys is one adapter call each way, whatever the TTLs.
    async fn batches_are_one_call(env) {
        let counting = Arc::new(Counting { inner: Arc::clone(env.store().adapter()), calls: Mutex::default() });
        let store = SharedStore::builder_with_adapter(Arc::clone(&counting) as Arc<dyn SharedAdapter>)
            .service(SERVICE)
            .prefix(env.prefix.as_str())
            .build()
            .unwrap();
        let entries: Vec<BatchEntry<u32>> = (0..500_u32)
            .map(|n| {
                let entry = BatchEntry::new(format!("k{n}"), n);
                if n % 2 == 0 { entry.ttl(Duration::from_secs(60)) } else { entry }
            })
            .collect();
        store.batch().set(&entries).await.unwrap();
        assert_eq!(counting.take(), calls(&[("set_many", 1)]));

        let mut keys: Vec<String> = (0..500).map(|n| format!("k{n}")).collect();
        keys.push("missing".into());
        let values = store.batch().get::<u32>(&keys).await.unwrap();
        assert_eq!(counting.take(), calls(&[("get_many", 1)]));
        let mut expected: Vec<Option<u32>> = (0..500).map(Some).collect();
        expected.push(None);
        assert_eq!(values, expected);
        assert_eq!(env.raw_ttl(&store.key(storehaus::cache::shared::Namespace::Kv, "k1")).await, None);
        assert!(env.raw_ttl(&store.key(storehaus::cache::shared::Namespace::Kv, "k0")).await.is_some());

        // A refused batch makes no call at all.
        let invalid = [BatchEntry::new("ok", 1_u32), BatchEntry::new("", 2_u32)];
        crate::expect_code(store.batch().set(&invalid).await, "STORE_INVALID_INPUT");
        assert_eq!(counting.take(), calls(&[]));
        assert!(!store.kv().exists("ok").await.unwrap(), "half of a refused batch was written");
    }
}

//! A backend that passes every call to Redis or the in-memory backend and records the largest
//! key and value written, so a test can bound what the cache keeps on either.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use storehaus::cache::{BoxFuture, CacheBackend, CacheError, EpochKey, GuardedRead};

use super::*;

#[derive(Debug)]
pub(crate) struct Recording {
    inner: Arc<dyn CacheBackend>,
    largest_key: AtomicUsize,
    largest_value: AtomicUsize,
}

type Result<T> = std::result::Result<T, CacheError>;

impl Recording {
    pub(crate) fn new(inner: Arc<dyn CacheBackend>) -> Self {
        Recording { inner, largest_key: AtomicUsize::new(0), largest_value: AtomicUsize::new(0) }
    }

    /// The longest key written or created so far, in bytes.
    pub(crate) fn largest_key(&self) -> usize {
        self.largest_key.load(Ordering::SeqCst)
    }

    /// The largest value written so far, in bytes.
    pub(crate) fn largest_value(&self) -> usize {
        self.largest_value.load(Ordering::SeqCst)
    }

    fn key(&self, key: &str) {
        self.largest_key.fetch_max(key.len(), Ordering::SeqCst);
    }

    fn value(&self, key: &str, value: &[u8]) {
        self.key(key);
        self.largest_value.fetch_max(value.len(), Ordering::SeqCst);
    }
}

impl CacheBackend for Recording {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn ping(&self) -> BoxFuture<'_, Result<()>> {
        self.inner.ping()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        self.inner.get(key)
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>>> {
        self.inner.get_many(keys)
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Option<Duration>) -> BoxFuture<'a, Result<()>> {
        self.value(key, value);
        self.inner.set(key, value, ttl)
    }

    fn set_many<'a>(&'a self, entries: &'a [(String, Vec<u8>)], ttl: Option<Duration>) -> BoxFuture<'a, Result<()>> {
        entries.iter().for_each(|(key, value)| self.value(key, value));
        self.inner.set_many(entries, ttl)
    }

    fn delete<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<u64>> {
        self.inner.delete(keys)
    }

    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Duration>>> {
        self.inner.ttl(key)
    }

    fn take_token<'a>(&'a self, key: &'a str, per_second: f64, burst: u32) -> BoxFuture<'a, Result<Option<Duration>>> {
        self.key(key);
        self.inner.take_token(key, per_second, burst)
    }

    fn incr_by<'a>(&'a self, key: &'a str, by: i64, ttl: Option<Duration>) -> BoxFuture<'a, Result<i64>> {
        self.key(key);
        self.inner.incr_by(key, by, ttl)
    }

    fn set_if_absent<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, Result<bool>> {
        self.value(key, value);
        self.inner.set_if_absent(key, value, ttl)
    }

    fn compare_and_delete<'a>(&'a self, key: &'a str, expected: &'a [u8]) -> BoxFuture<'a, Result<bool>> {
        self.inner.compare_and_delete(key, expected)
    }

    fn compare_and_expire<'a>(
        &'a self,
        key: &'a str,
        expected: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool>> {
        self.inner.compare_and_expire(key, expected, ttl)
    }

    fn read_with_epochs<'a>(
        &'a self,
        key: Option<&'a str>,
        epochs: &'a [EpochKey],
    ) -> BoxFuture<'a, Result<GuardedRead>> {
        epochs.iter().for_each(|epoch| self.key(&epoch.key));
        self.inner.read_with_epochs(key, epochs)
    }

    fn set_if_epochs<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Duration,
        epochs: &'a [(EpochKey, i64)],
    ) -> BoxFuture<'a, Result<bool>> {
        self.value(key, value);
        self.inner.set_if_epochs(key, value, ttl, epochs)
    }

    fn bump_epochs<'a>(&'a self, epochs: &'a [String], delete: &'a [String]) -> BoxFuture<'a, Result<()>> {
        self.inner.bump_epochs(epochs, delete)
    }

    fn connect_attempts(&self) -> u64 {
        self.inner.connect_attempts()
    }
}

//! Counter buffers and key scans, under the manager's timeout. See
//! [`CacheBackend::buffer_take`](crate::CacheBackend::buffer_take) for the hand-over they serve.

use std::time::Duration;

use crate::backend::{BufferOp, BufferState};
use crate::error::CacheResult;
use crate::manager::CacheManager;

impl CacheManager {
    /// Adds `by` to the buffer at `key` once for the id `op.id`; returns its state
    /// ([`CacheBackend::buffer_add`](crate::CacheBackend::buffer_add)).
    pub async fn buffer_add(&self, key: &str, by: i64, op: BufferOp<'_>) -> CacheResult<BufferState> {
        self.call(self.backend().buffer_add(key, by, op)).await
    }

    /// The states of the buffers at `keys`, in order.
    pub async fn buffer_read(&self, keys: &[String]) -> CacheResult<Vec<BufferState>> {
        self.call(self.backend().buffer_read(keys)).await
    }

    /// Takes from the buffers at `keys` (one hash slot on a cluster) or, with `absolute`, sets
    /// one ([`CacheBackend::buffer_take`](crate::CacheBackend::buffer_take)).
    pub async fn buffer_take(&self, keys: &[String], absolute: Option<i64>) -> CacheResult<Vec<BufferState>> {
        self.call(self.backend().buffer_take(keys, absolute)).await
    }

    /// Ends the hand-over `seq` of the buffer at `key`, recording `base`; whether it was pending.
    pub async fn buffer_finish(&self, key: &str, seq: i64, base: i64) -> CacheResult<bool> {
        self.call(self.backend().buffer_finish(key, seq, base)).await
    }

    /// Records `base` for the buffer at `key` if nothing was taken since `seq` was read.
    pub async fn buffer_set_base(&self, key: &str, seq: i64, base: i64) -> CacheResult<bool> {
        self.call(self.backend().buffer_set_base(key, seq, base)).await
    }

    /// Forgets the bases of the buffers at `keys`.
    pub async fn buffer_forget_base(&self, keys: &[String]) -> CacheResult<()> {
        self.call(self.backend().buffer_forget_base(keys)).await
    }

    /// Undoes the add of `by` recorded as `op` in `ops` to the buffer at `key`, if it took
    /// place, and makes sure it never does later
    /// ([`CacheBackend::buffer_settle`](crate::CacheBackend::buffer_settle)).
    pub async fn buffer_settle(&self, key: &str, ops: &str, op: &str, by: i64, ttl: Duration) -> CacheResult<bool> {
        self.call(self.backend().buffer_settle(key, ops, op, by, ttl)).await
    }

    /// Drops acknowledged ids from hashes of adds in doubt.
    pub async fn buffer_acknowledge(&self, acked: &[(String, Vec<String>)]) -> CacheResult<()> {
        self.call(self.backend().buffer_acknowledge(acked)).await
    }

    /// One step of a scan over the keys matching `pattern`: the next cursor (0 when done) and
    /// the keys found. Never `KEYS`: each step is bounded by about `count` keys examined.
    pub async fn scan(&self, pattern: &str, cursor: u64, count: usize) -> CacheResult<(u64, Vec<String>)> {
        self.call(self.backend().scan(pattern, cursor, count)).await
    }
}

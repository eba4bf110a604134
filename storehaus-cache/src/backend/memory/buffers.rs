//! Counter buffers of the memory backend: a plain map beside the bounded cache, so a buffer is
//! never evicted, under one lock, so each operation is atomic like its Redis script.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::backend::buffer::{BufferOp, BufferPending, BufferState, next_seq};
use crate::error::{CacheError, CacheResult};

/// Hashes of adds in doubt kept before expired ones are swept out.
const OPS_SWEEP_AT: usize = 4096;

#[derive(Default)]
pub(super) struct Buffers {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    buffers: BTreeMap<String, BufferState>,
    /// Hashes of adds in doubt: their ids (`true` when made, `false` when void) and when the
    /// hash expires.
    ops: HashMap<String, (HashMap<String, bool>, Instant)>,
    sweep_at: usize,
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn overflow() -> CacheError {
    CacheError::Backend("increment or decrement would overflow".to_owned())
}

impl Buffers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves whole states behind (every change is one
        // assignment), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn add(&self, key: &str, by: i64, op: BufferOp<'_>) -> CacheResult<BufferState> {
        let mut inner = self.lock();
        let now = Instant::now();
        let recorded = inner.ops.get(op.ops).is_some_and(|(ids, until)| *until > now && ids.contains_key(op.id));
        if !recorded {
            let state = inner.buffers.entry(key.to_owned()).or_default();
            state.delta = state.delta.checked_add(by).ok_or_else(overflow)?;
        }
        let entry = inner.ops.entry(op.ops.to_owned()).or_insert_with(|| (HashMap::new(), now));
        if entry.1 <= now {
            entry.0.clear();
        }
        entry.0.entry(op.id.to_owned()).or_insert(true);
        for acked in op.acked {
            entry.0.remove(acked);
        }
        entry.1 = now + op.ttl;
        if inner.ops.len() >= inner.sweep_at.max(OPS_SWEEP_AT) {
            inner.ops.retain(|_, (_, until)| *until > now);
            inner.sweep_at = inner.ops.len() * 2;
        }
        Ok(inner.buffers.get(key).copied().unwrap_or_default())
    }

    pub(super) fn read(&self, keys: &[String]) -> Vec<BufferState> {
        let inner = self.lock();
        keys.iter().map(|key| inner.buffers.get(key).copied().unwrap_or_default()).collect()
    }

    pub(super) fn take(&self, keys: &[String], absolute: Option<i64>) -> Vec<BufferState> {
        let mut inner = self.lock();
        let now = now_micros();
        keys.iter()
            .map(|key| {
                let existing = inner.buffers.get(key).copied().unwrap_or_default();
                if existing.pending.is_some() || (absolute.is_none() && existing.delta == 0) {
                    return existing;
                }
                let seq = next_seq(existing.seq, now);
                let pending = match absolute {
                    Some(value) => BufferPending { seq, value, absolute: true },
                    None => BufferPending { seq, value: existing.delta, absolute: false },
                };
                let state = BufferState { delta: 0, pending: Some(pending), seq, base: existing.base };
                inner.buffers.insert(key.clone(), state);
                state
            })
            .collect()
    }

    pub(super) fn finish(&self, key: &str, seq: i64, base: i64) -> bool {
        let mut inner = self.lock();
        match inner.buffers.get_mut(key) {
            Some(state) if state.pending.is_some_and(|pending| pending.seq == seq) => {
                state.pending = None;
                state.base = Some(base);
                true
            }
            _ => false,
        }
    }

    pub(super) fn set_base(&self, key: &str, seq: i64, base: i64) -> bool {
        let mut inner = self.lock();
        let Some(state) = inner.buffers.get_mut(key) else {
            return false;
        };
        if state.seq != seq || state.pending.is_some() {
            return false;
        }
        state.base = Some(base);
        true
    }

    pub(super) fn forget_base(&self, keys: &[String]) {
        let mut inner = self.lock();
        for key in keys {
            if let Some(state) = inner.buffers.get_mut(key) {
                state.base = None;
            }
        }
    }

    pub(super) fn settle(&self, key: &str, ops: &str, op: &str, by: i64, ttl: Duration) -> CacheResult<bool> {
        let mut inner = self.lock();
        let now = Instant::now();
        let entry = inner.ops.entry(ops.to_owned()).or_insert_with(|| (HashMap::new(), now + ttl));
        if entry.1 <= now {
            entry.0.clear();
            entry.1 = now + ttl;
        }
        let made = entry.0.insert(op.to_owned(), false) == Some(true);
        if made {
            let state = inner.buffers.entry(key.to_owned()).or_default();
            state.delta = state.delta.checked_sub(by).ok_or_else(overflow)?;
        }
        Ok(made)
    }

    pub(super) fn acknowledge(&self, acked: &[(String, Vec<String>)]) {
        let mut inner = self.lock();
        for (ops, ids) in acked {
            if let Some((recorded, _)) = inner.ops.get_mut(ops) {
                for id in ids {
                    if recorded.get(id) == Some(&true) {
                        recorded.remove(id);
                    }
                }
                if recorded.is_empty() {
                    inner.ops.remove(ops);
                }
            }
        }
    }

    /// The buffer keys matching `pattern`.
    pub(super) fn keys_matching(&self, pattern: &str) -> Vec<String> {
        let inner = self.lock();
        inner.buffers.keys().filter(|key| crate::glob::glob_match(pattern, key)).cloned().collect()
    }
}

//! Invalidations seen by this process, for single flight and near caches.
//!
//! A caller joins a load only if no invalidation of its key happened in this process since the
//! load started; the count per key (striped, so it stays small) is part of the flight's key.
//! This holds even when the backend is down and its epochs cannot be read. A near entry is used
//! only while the counts of its row and table are those it was read under.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Enough that a write seldom voids a near entry of another row sharing its stripe.
const STRIPES: usize = 1024;

#[derive(Debug)]
pub(super) struct LocalEpochs {
    stripes: [AtomicU64; STRIPES],
}

impl Default for LocalEpochs {
    fn default() -> Self {
        LocalEpochs { stripes: std::array::from_fn(|_| AtomicU64::new(0)) }
    }
}

impl LocalEpochs {
    pub(super) fn of(&self, key: &str) -> u64 {
        self.stripe(key).load(Ordering::Acquire)
    }

    pub(super) fn bump(&self, key: &str) {
        self.stripe(key).fetch_add(1, Ordering::AcqRel);
    }

    fn stripe(&self, key: &str) -> &AtomicU64 {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        &self.stripes[(hasher.finish() % STRIPES as u64) as usize]
    }
}

//! Counter buffers: integers kept in the cache on their way to a database, moved there by a
//! two-step hand-over that a crash at any point cannot make lose or repeat a delta.
//!
//! A buffer holds a `delta` (added to since the last hand-over), at most one `pending` amount
//! (taken out of the delta, tagged with a sequence number, waiting to be applied), the last
//! sequence number handed out, and optionally a `base` (the database's value as the last
//! finished hand-over left it). Sequence numbers of one buffer only grow, and each is at least
//! the server's clock in microseconds, so they keep growing across a restart that lost them.
//!
//! Buffers are never evicted: the memory backend keeps them apart from its bounded cache.

/// An amount taken out of a buffer by [`CacheBackend::buffer_take`](super::CacheBackend::buffer_take),
/// waiting to be applied to the database and then finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferPending {
    /// The hand-over's sequence number: applied at most once per buffer, in increasing order.
    pub seq: i64,
    /// The amount to add, or with `absolute` the value to set.
    pub value: i64,
    /// Whether `value` replaces the database's value instead of adding to it.
    pub absolute: bool,
}

/// How an add to a buffer is recorded, so that an add whose answer was lost can be settled.
#[derive(Debug, Clone, Copy)]
pub struct BufferOp<'a> {
    /// The hash of adds in doubt (one per buffer owner and process, say).
    pub ops: &'a str,
    /// This add's id in it.
    pub id: &'a str,
    /// Ids of earlier adds, recorded in `ops`, whose answers arrived: dropped from it.
    pub acked: &'a [String],
    /// How long `ops` lives after this add.
    pub ttl: std::time::Duration,
}

/// One buffer as an operation left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferState {
    /// Added since the last take.
    pub delta: i64,
    /// Taken and not yet finished.
    pub pending: Option<BufferPending>,
    /// The last sequence number handed out; 0 for a buffer never taken from.
    pub seq: i64,
    /// The database's value after the last finished hand-over, when known.
    pub base: Option<i64>,
}

impl BufferState {
    /// The total a reader sees when `base` is known: the base, then the pending amount (added or
    /// set), then the delta. `None` when the base is unknown or the sum overflows.
    pub fn total(&self) -> Option<i64> {
        let base = self.base?;
        let after_pending = match self.pending {
            Some(pending) if pending.absolute => pending.value,
            Some(pending) => base.checked_add(pending.value)?,
            None => base,
        };
        after_pending.checked_add(self.delta)
    }

    /// Whether the buffer has nothing to hand over.
    pub fn is_settled(&self) -> bool {
        self.delta == 0 && self.pending.is_none()
    }
}

/// A sequence number for a new take: above `last`, and at least the clock in microseconds.
pub(crate) fn next_seq(last: i64, now_micros: i64) -> i64 {
    last.saturating_add(1).max(now_micros)
}

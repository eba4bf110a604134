//! Counter buffers: the two-step hand-over of an integer from the cache to a database.
//!
//! Each test drives one buffer through `buffer_add` / `buffer_take` / `buffer_finish` and checks
//! the state every step returns and what `buffer_read` sees afterwards.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use storehaus_cache::{BufferOp, BufferPending, BufferState, CacheManager};

use crate::{Backend, Setup};

crate::on_both_backends!(
    an_add_counts_once_per_id,
    a_take_moves_the_delta_to_a_pending_amount,
    an_absolute_take_drops_the_delta,
    finish_ends_only_the_pending_hand_over,
    set_base_is_refused_once_something_was_taken,
    settle_undoes_only_a_recorded_add,
    scan_finds_exactly_the_matching_keys,
);

/// Long enough that no record of an add expires during a test.
const OPS_TTL: Duration = Duration::from_secs(60);

/// Buffer and marker keys under the test's own prefix, deleted from Redis at the end.
struct Keys {
    prefix: String,
    made: Vec<String>,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Keys { prefix: prefix.to_owned(), made: Vec::new() }
    }

    fn key(&mut self, name: &str) -> String {
        let key = format!("{}:buf:{name}", self.prefix);
        self.made.push(key.clone());
        key
    }

    /// The hash recording the adds in doubt.
    fn ops(&mut self) -> String {
        let key = format!("{}:ops", self.prefix);
        self.made.push(key.clone());
        key
    }

    async fn cleanup(self, setup: &Setup, cache: &CacheManager) {
        if matches!(setup.backend, Backend::Redis) {
            for key in &self.made {
                let _ = cache.delete(key).await;
            }
        }
    }
}

/// The add `id` recorded in `ops`, acknowledging no earlier one.
fn op<'a>(ops: &'a str, id: &'a str) -> BufferOp<'a> {
    BufferOp { ops, id, acked: &[], ttl: OPS_TTL }
}

async fn read(cache: &CacheManager, key: &str) -> BufferState {
    cache.buffer_read(&[key.to_owned()]).await.unwrap().remove(0)
}

async fn take(cache: &CacheManager, key: &str, absolute: Option<i64>) -> BufferState {
    cache.buffer_take(&[key.to_owned()], absolute).await.unwrap().remove(0)
}

/// The pending amount of `state`, which must have one.
#[track_caller]
fn pending(state: &BufferState) -> BufferPending {
    state.pending.unwrap_or_else(|| panic!("expected a pending amount: {state:?}"))
}

fn now_micros() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros()).unwrap()
}

async fn an_add_counts_once_per_id(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let mut keys = Keys::new(ctx.space.prefix());
    let ops = keys.ops();
    let key = keys.key("hits");

    assert_eq!(read(cache, &key).await, BufferState::default(), "a missing buffer reads as empty");
    assert_eq!(cache.buffer_add(&key, 5, op(&ops, "first")).await.unwrap().delta, 5);
    // The same id again: a retry of an add whose answer was lost.
    let again = cache.buffer_add(&key, 5, op(&ops, "first")).await.unwrap();
    assert_eq!(again.delta, 5, "a repeated add counted twice: {again:?}");
    assert_eq!(cache.buffer_add(&key, -2, op(&ops, "second")).await.unwrap().delta, 3);
    assert_eq!(read(cache, &key).await, BufferState { delta: 3, pending: None, seq: 0, base: None });
    keys.cleanup(&setup, cache).await;
}

async fn a_take_moves_the_delta_to_a_pending_amount(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let mut keys = Keys::new(ctx.space.prefix());
    let ops = keys.ops();
    let (key, idle) = (keys.key("hits"), keys.key("idle"));
    let before = now_micros();
    cache.buffer_add(&key, 5, op(&ops, "a")).await.unwrap();

    let states = cache.buffer_take(&[key.clone(), idle.clone()], None).await.unwrap();
    assert_eq!(states.len(), 2, "one state per key, in order");
    let first = pending(&states[0]);
    assert_eq!((states[0].delta, first.value, first.absolute), (0, 5, false), "{:?}", states[0]);
    assert_eq!(states[0].seq, first.seq, "the buffer records the sequence number it handed out");
    // Sequence numbers start at the clock in microseconds, so they keep growing after a restart.
    assert!(first.seq >= before - 5_000_000, "seq {} is far behind the clock {before}", first.seq);
    assert_eq!(states[1], BufferState::default(), "an empty buffer has nothing to take");

    // More adds, then a take while the first hand-over is still pending: it is kept as it was.
    cache.buffer_add(&key, 2, op(&ops, "b")).await.unwrap();
    let kept = take(cache, &key, None).await;
    assert_eq!((kept.delta, kept.pending, kept.seq), (2, Some(first), first.seq), "{kept:?}");

    assert!(cache.buffer_finish(&key, first.seq, 5).await.unwrap());
    let second = take(cache, &key, None).await;
    let next = pending(&second);
    assert_eq!((second.delta, next.value, next.absolute, second.base), (0, 2, false, Some(5)), "{second:?}");
    assert!(next.seq > first.seq, "sequence numbers only grow: {} then {}", first.seq, next.seq);
    assert_eq!(second.total(), Some(7), "base 5 plus the pending 2");
    keys.cleanup(&setup, cache).await;
}

async fn an_absolute_take_drops_the_delta(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let mut keys = Keys::new(ctx.space.prefix());
    let ops = keys.ops();
    let key = keys.key("score");
    cache.buffer_add(&key, 7, op(&ops, "a")).await.unwrap();

    let state = take(cache, &key, Some(100)).await;
    let set = pending(&state);
    assert_eq!((state.delta, set.value, set.absolute), (0, 100, true), "{state:?}");
    cache.buffer_add(&key, 3, op(&ops, "b")).await.unwrap();
    // An absolute take behind a pending one keeps the pending one and the delta.
    let kept = take(cache, &key, Some(1)).await;
    assert_eq!((kept.delta, kept.pending), (3, Some(set)), "{kept:?}");

    assert!(cache.buffer_finish(&key, set.seq, 100).await.unwrap());
    let after = read(cache, &key).await;
    assert_eq!((after.delta, after.pending, after.base), (3, None, Some(100)), "{after:?}");
    assert_eq!(after.total(), Some(103));

    // Setting a buffer with no delta still hands the value over.
    let empty = keys.key("empty");
    let state = take(cache, &empty, Some(-4)).await;
    assert_eq!(state.pending.map(|p| (p.value, p.absolute)), Some((-4, true)), "{state:?}");
    keys.cleanup(&setup, cache).await;
}

async fn finish_ends_only_the_pending_hand_over(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let mut keys = Keys::new(ctx.space.prefix());
    let ops = keys.ops();
    let key = keys.key("hits");
    assert!(!cache.buffer_finish(&key, 1, 0).await.unwrap(), "nothing is pending on a missing buffer");
    cache.buffer_add(&key, 4, op(&ops, "a")).await.unwrap();
    let seq = pending(&take(cache, &key, None).await).seq;

    for wrong in [seq - 1, seq + 1, 0] {
        assert!(!cache.buffer_finish(&key, wrong, 99).await.unwrap(), "finished with seq {wrong} instead of {seq}");
    }
    let still = read(cache, &key).await;
    assert_eq!((pending(&still).value, still.base), (4, None), "a refused finish changed the buffer: {still:?}");

    assert!(cache.buffer_finish(&key, seq, 4).await.unwrap());
    assert!(!cache.buffer_finish(&key, seq, 8).await.unwrap(), "a hand-over ends once");
    let done = read(cache, &key).await;
    assert_eq!(done, BufferState { delta: 0, pending: None, seq, base: Some(4) });
    keys.cleanup(&setup, cache).await;
}

async fn set_base_is_refused_once_something_was_taken(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let mut keys = Keys::new(ctx.space.prefix());
    let ops = keys.ops();
    let key = keys.key("hits");
    cache.buffer_add(&key, 1, op(&ops, "a")).await.unwrap();
    let seen = read(cache, &key).await.seq;
    assert!(cache.buffer_set_base(&key, seen, 10).await.unwrap());
    assert_eq!(read(cache, &key).await.total(), Some(11));

    let seq = pending(&take(cache, &key, None).await).seq;
    // A reader that saw the buffer before the take must not record its (now stale) value.
    assert!(!cache.buffer_set_base(&key, seen, 20).await.unwrap(), "set_base after a take");
    assert!(!cache.buffer_set_base(&key, seq, 20).await.unwrap(), "set_base while a hand-over is pending");
    assert_eq!(read(cache, &key).await.base, Some(10));

    assert!(cache.buffer_finish(&key, seq, 11).await.unwrap());
    assert!(!cache.buffer_set_base(&key, seen, 30).await.unwrap(), "set_base with a seq read before the take");
    assert!(cache.buffer_set_base(&key, seq, 12).await.unwrap());
    assert_eq!(read(cache, &key).await.base, Some(12));

    cache.buffer_forget_base(std::slice::from_ref(&key)).await.unwrap();
    let forgotten = read(cache, &key).await;
    assert_eq!((forgotten.base, forgotten.total(), forgotten.seq), (None, None, seq), "{forgotten:?}");
    keys.cleanup(&setup, cache).await;
}

async fn settle_undoes_only_a_recorded_add(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let mut keys = Keys::new(ctx.space.prefix());
    let ops = keys.ops();
    let key = keys.key("hits");
    cache.buffer_add(&key, 5, op(&ops, "lost")).await.unwrap();
    cache.buffer_add(&key, 2, op(&ops, "kept")).await.unwrap();

    assert!(!cache.buffer_settle(&key, &ops, "never", 3, OPS_TTL).await.unwrap(), "settled an add never made");
    assert_eq!(read(cache, &key).await.delta, 7);
    // The settled id is void: if its add still arrives (sent before a timeout), it is not made.
    assert_eq!(cache.buffer_add(&key, 3, op(&ops, "never")).await.unwrap().delta, 7, "a void add was made");
    assert!(cache.buffer_settle(&key, &ops, "lost", 5, OPS_TTL).await.unwrap());
    assert_eq!(read(cache, &key).await.delta, 2, "the recorded add is undone, the other one stays");
    assert!(!cache.buffer_settle(&key, &ops, "lost", 5, OPS_TTL).await.unwrap(), "an add is undone once");
    assert_eq!(read(cache, &key).await.delta, 2);

    // An add whose answer arrived is acknowledged (by the next add, or on its own) and can no
    // longer be undone.
    let acked = ["kept".to_owned()];
    let next = BufferOp { ops: &ops, id: "next", acked: &acked, ttl: OPS_TTL };
    assert_eq!(cache.buffer_add(&key, 1, next).await.unwrap().delta, 3);
    assert!(!cache.buffer_settle(&key, &ops, "kept", 2, OPS_TTL).await.unwrap(), "settled an acknowledged add");
    cache.buffer_acknowledge(&[(ops.clone(), vec!["next".to_owned()])]).await.unwrap();
    assert!(!cache.buffer_settle(&key, &ops, "next", 1, OPS_TTL).await.unwrap(), "settled an acknowledged add");
    assert_eq!(read(cache, &key).await.delta, 3);

    // An add is undone from the delta even after a take moved it to a pending amount.
    let other = keys.key("other");
    cache.buffer_add(&other, 6, op(&ops, "taken")).await.unwrap();
    let taken = take(cache, &other, None).await;
    assert!(cache.buffer_settle(&other, &ops, "taken", 6, OPS_TTL).await.unwrap());
    let after = read(cache, &other).await;
    assert_eq!((after.delta, after.pending), (-6, taken.pending), "{after:?}");
    keys.cleanup(&setup, cache).await;
}

async fn scan_finds_exactly_the_matching_keys(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let mut keys = Keys::new(ctx.space.prefix());
    let ops = keys.ops();
    let mut users = BTreeSet::new();
    for id in 0..30 {
        let key = keys.key(&format!("{{user:{id}}}:downloads"));
        cache.buffer_add(&key, 1, op(&ops, &format!("u{id}"))).await.unwrap();
        users.insert(key);
    }
    let team = keys.key("{team:1}:downloads");
    let views = keys.key("{user:3}:views");
    for (n, key) in [&team, &views].into_iter().enumerate() {
        cache.buffer_add(key, 1, op(&ops, &format!("o{n}"))).await.unwrap();
    }

    let all_users = scan_all(cache, &format!("{}:buf:{{user:*}}:downloads", ctx.space.prefix())).await;
    assert_eq!(all_users, users);
    let user_3 = scan_all(cache, &format!("{}:buf:{{user:3}}:*", ctx.space.prefix())).await;
    assert_eq!(user_3, BTreeSet::from([keys_of(&users, "{user:3}:"), views.clone()]));
    let single_digit = scan_all(cache, &format!("{}:buf:{{user:?}}:downloads", ctx.space.prefix())).await;
    assert_eq!(single_digit.len(), 10, "{single_digit:?}");
    let class = scan_all(cache, &format!("{}:buf:{{[tu]*:1}}:*", ctx.space.prefix())).await;
    assert_eq!(class, BTreeSet::from([keys_of(&users, "{user:1}:"), team.clone()]));
    let none = scan_all(cache, &format!("{}:buf:{{nobody:*", ctx.space.prefix())).await;
    assert!(none.is_empty(), "{none:?}");
    keys.cleanup(&setup, cache).await;
}

/// The one key of `keys` containing `part`.
fn keys_of(keys: &BTreeSet<String>, part: &str) -> String {
    let found: Vec<&String> = keys.iter().filter(|key| key.contains(part)).collect();
    assert_eq!(found.len(), 1, "{part}: {found:?}");
    found[0].clone()
}

/// Every key a full scan of `pattern` returns (a key may come back more than once).
async fn scan_all(cache: &CacheManager, pattern: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut cursor = 0;
    for _ in 0..100_000 {
        let (next, keys) = cache.scan(pattern, cursor, 1000).await.unwrap();
        found.extend(keys);
        if next == 0 {
            return found;
        }
        cursor = next;
    }
    panic!("the scan of {pattern} did not end");
}

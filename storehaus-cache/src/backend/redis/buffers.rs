//! Counter buffers on Redis: one hash per buffer, with the fields `d` (delta), `p`, `pa`, `ps`
//! (pending amount, whether it is absolute, its sequence number), `s` (last sequence number)
//! and `b` (base). Every operation is one script, so it is atomic.

use std::sync::LazyLock;

use redis::Script;

use crate::backend::{BufferPending, BufferState};
use crate::error::{CacheError, CacheResult};

/// Fields of a buffer in the order the scripts return them.
const FIELDS: usize = 6;

/// Adds `ARGV[1]` to the delta unless the id `ARGV[2]` is recorded in the hash `KEYS[2]`, records
/// it, drops the acknowledged ids `ARGV[4..]` and makes the hash live `ARGV[3]` ms. The add
/// comes first so that an add that fails (overflow) records nothing.
pub(super) static ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then
  redis.call('HINCRBY', KEYS[1], 'd', ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[2], '1')
end
if #ARGV > 3 then
  redis.call('HDEL', KEYS[2], unpack(ARGV, 4))
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return redis.call('HMGET', KEYS[1], 'd', 'p', 'pa', 'ps', 's', 'b')
",
    )
});

pub(super) static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'd', 'p', 'pa', 'ps', 's', 'b')
  for j = 1, 6 do out[#out + 1] = state[j] end
end
return out
",
    )
});

/// `ARGV[1]` is `add` or `set`; with `set`, `ARGV[2]` is the value. A sequence number is
/// above the last one and at least the server's clock in microseconds.
pub(super) static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local out = {}
for _, key in ipairs(KEYS) do
  if redis.call('HEXISTS', key, 'ps') == 0 then
    local d = redis.call('HGET', key, 'd')
    if ARGV[1] == 'set' or (d and d ~= '0') then
      local last = tonumber(redis.call('HGET', key, 's') or '0')
      local seq = string.format('%.0f', math.max(last + 1, now))
      if ARGV[1] == 'set' then
        redis.call('HSET', key, 'p', ARGV[2], 'pa', '1', 'ps', seq, 's', seq)
      else
        redis.call('HSET', key, 'p', d, 'pa', '0', 'ps', seq, 's', seq)
      end
      redis.call('HDEL', key, 'd')
    end
  end
  local state = redis.call('HMGET', key, 'd', 'p', 'pa', 'ps', 's', 'b')
  for j = 1, 6 do out[#out + 1] = state[j] end
end
return out
",
    )
});

pub(super) static FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 'ps') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'p', 'pa', 'ps')
  redis.call('HSET', KEYS[1], 'b', ARGV[2])
  return 1
end
return 0
",
    )
});

pub(super) static SET_BASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 and (redis.call('HGET', KEYS[1], 's') or '0') == ARGV[1]
    and redis.call('HEXISTS', KEYS[1], 'ps') == 0 then
  redis.call('HSET', KEYS[1], 'b', ARGV[2])
  return 1
end
return 0
",
    )
});

/// Adds `ARGV[1]` (the opposite of the add) to the delta if the id `ARGV[2]` is recorded in the
/// hash `KEYS[2]` as an add, then marks the id void, so that the add, should it still arrive
/// (a command that timed out but was sent), is not made.
pub(super) static SETTLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local undone = 0
if redis.call('HGET', KEYS[2], ARGV[2]) == '1' then
  redis.call('HINCRBY', KEYS[1], 'd', ARGV[1])
  undone = 1
end
redis.call('HSET', KEYS[2], ARGV[2], 'void')
if redis.call('PTTL', KEYS[2]) < 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return undone
",
    )
});

fn number(field: Option<String>, name: &str) -> CacheResult<Option<i64>> {
    field
        .map(|text| {
            text.parse().map_err(|_| CacheError::Backend(format!("a counter buffer's `{name}` is not an integer")))
        })
        .transpose()
}

/// The states in a script's reply, [`FIELDS`] entries per buffer.
pub(super) fn states(reply: Vec<Option<String>>, expected: usize) -> CacheResult<Vec<BufferState>> {
    if reply.len() != expected * FIELDS {
        return Err(CacheError::Backend("unexpected reply to a counter buffer operation".to_owned()));
    }
    let mut fields = reply.into_iter();
    let mut out = Vec::with_capacity(expected);
    for _ in 0..expected {
        let mut next = |name| number(fields.next().flatten(), name);
        let delta = next("d")?.unwrap_or(0);
        let value = next("p")?;
        let absolute = next("pa")? == Some(1);
        let pending_seq = next("ps")?;
        let seq = next("s")?.unwrap_or(0);
        let base = next("b")?;
        let pending = match (value, pending_seq) {
            (Some(value), Some(seq)) => Some(BufferPending { seq, value, absolute }),
            _ => None,
        };
        out.push(BufferState { delta, pending, seq, base });
    }
    Ok(out)
}

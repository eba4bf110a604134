//! The Lua scripts behind the operations that must be atomic on Redis.
//!
//! Every key a script touches is passed in `KEYS`; TTLs are milliseconds, `0` meaning none.

use std::sync::LazyLock;

use redis::Script;

/// `INCRBY` and, when the key has no expiry yet, `PEXPIRE`: a counter's window starts at its
/// first increment.
pub(super) static INCR_WITH_TTL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return value
",
    )
});

/// Deletes the key only if it holds `ARGV[1]`: a claim is released by its owner only.
pub(super) static COMPARE_AND_DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Restarts the key's expiry only if it holds `ARGV[1]`: a claim is extended by its owner only.
pub(super) static COMPARE_AND_EXPIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
});

/// Reads `ARGV[1]` epochs (creating missing ones from the fresh values and TTLs given in pairs
/// after it) and then, when one more key is given, that key's value.
pub(super) static READ_WITH_EPOCHS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local epoch = redis.call('GET', KEYS[i])
  if not epoch then
    epoch = ARGV[2 * i]
    local ttl = tonumber(ARGV[2 * i + 1])
    if ttl > 0 then
      redis.call('SET', KEYS[i], epoch, 'PX', ttl)
    else
      redis.call('SET', KEYS[i], epoch)
    end
  end
  out[i] = epoch
end
if #KEYS > n then
  out[n + 1] = redis.call('GET', KEYS[n + 1])
end
return out
",
    )
});

/// Sets `KEYS[1]` to `ARGV[1]` for `ARGV[2]` ms only if every epoch `KEYS[i]` (i > 1) still holds
/// `ARGV[2i-1]`, then restarts each epoch's TTL `ARGV[2i]`. Returns 1 when set.
pub(super) static SET_IF_EPOCHS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[2 * i - 1] then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 2, #KEYS do
  local ttl = tonumber(ARGV[2 * i])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 1
",
    )
});

/// Increments the first `ARGV[1]` keys that exist (a missing epoch stays missing), deletes the
/// rest, and publishes every key on the channel `ARGV[2]` for near caches, in the same atomic
/// step, so no process can read the old entry after the announcement was made.
pub(super) static BUMP_EPOCHS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = tonumber(ARGV[1])
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCR', KEYS[i])
  end
end
for i = n + 1, #KEYS do
  redis.call('DEL', KEYS[i])
end
if #KEYS > 0 then
  redis.call('PUBLISH', ARGV[2], cjson.encode(KEYS))
end
return 1
",
    )
});

/// Takes a token from the bucket `KEYS[1]` (a hash: `t` tokens, `at` microseconds of Redis's
/// clock when they were counted) of rate `ARGV[1]` tokens a second and size `ARGV[2]`. Time is
/// Redis's own (`TIME`), so callers whose clocks disagree share one budget; a clock that steps
/// back refills nothing. The bucket expires when it would be full again. Returns 0 when a token
/// was taken, else the microseconds until one comes.
pub(super) static TAKE_TOKEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = tokens + (now - at) * rate / 1000000
  at = now
end
tokens = math.min(burst, tokens)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) * 1000000 / rate))
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) * 1000 / rate)))
return wait
",
    )
});

/// Loads the read-through scripts on a new connection, so that the first read, fill or
/// invalidation after connecting (or after a Redis restart forgot them) does not spend a
/// refused `EVALSHA` and a `SCRIPT LOAD` inside its own timeout.
pub(super) async fn preload(conn: &redis::aio::MultiplexedConnection) -> redis::RedisResult<()> {
    let (mut read, mut fill, mut bump) = (conn.clone(), conn.clone(), conn.clone());
    futures_util::try_join!(
        READ_WITH_EPOCHS.load_async(&mut read),
        SET_IF_EPOCHS.load_async(&mut fill),
        BUMP_EPOCHS.load_async(&mut bump),
    )?;
    Ok(())
}

//! The Redis backend.

mod buffers;
mod connector;
mod pubsub;
mod scripts;
mod shared;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::{Cmd, FromRedisValue, RedisError, ScriptInvocation};

use self::connector::Connector;
use super::{
    BoxFuture, BufferOp, BufferState, CacheBackend, EpochKey, GuardedRead, INVALIDATIONS_CHANNEL, InvalidationFeed,
    check_bucket, millis,
};
use crate::config::{CacheConfig, ConfigError};
use crate::error::{CacheError, CacheResult};
use crate::util::random_epoch;

/// Commands in a row abandoned unanswered (cancelled by the manager's timeout) after which the
/// connection counts as lost: a hung server then costs a few timeouts, not one per command.
const UNANSWERED_LIMIT: u64 = 3;

/// A backend on a Redis server, over one multiplexed connection that commands share.
///
/// Creating it does not connect: the first command does, and a lost connection is reopened by
/// a later command after a backoff (100 ms doubling up to `reconnect_max_delay_ms`). While
/// Redis is unreachable, commands fail at once with [`CacheError::Unavailable`]. A connection
/// on which several commands in a row go unanswered is treated as lost too.
pub struct RedisBackend {
    connector: Arc<Connector>,
    /// Opens the connections a shared store needs besides the multiplexed one: pub/sub and
    /// blocking stream reads.
    client: redis::Client,
    connect_timeout: Duration,
    reconnect_max_delay: Duration,
    /// Idle connections for blocking stream reads, which must not hold up other commands.
    blocking: std::sync::Mutex<Vec<redis::aio::MultiplexedConnection>>,
    response_timeout: Duration,
    redacted_url: String,
    /// Connection id (high bits) and how many of its commands in a row went unanswered (low 8).
    unanswered: AtomicU64,
}

/// Notices a command dropped before its answer arrived.
struct Command<'a> {
    backend: &'a RedisBackend,
    connection: u64,
    answered: bool,
}

impl Drop for Command<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.backend.note_unanswered(self.connection);
        }
    }
}

impl RedisBackend {
    /// A backend for `config.redis_url`; validates the settings but does not connect.
    pub fn new(config: &CacheConfig) -> Result<Self, CacheError> {
        config.validate()?;
        let client = redis::Client::open(config.redis_url.as_str())
            .map_err(|e| ConfigError::new("redis_url", format!("cannot be used: {e}")))?;
        let response_timeout = Duration::from_millis(config.timeout_ms);
        let connect_timeout = Duration::from_millis(config.connection_timeout_ms);
        let reconnect_max_delay = Duration::from_millis(config.reconnect_max_delay_ms);
        let connector = Connector::new(client.clone(), connect_timeout, response_timeout, reconnect_max_delay);
        Ok(RedisBackend {
            connector: Arc::new(connector),
            client,
            connect_timeout,
            reconnect_max_delay,
            blocking: std::sync::Mutex::new(Vec::new()),
            response_timeout,
            redacted_url: config.redacted_url(),
            unanswered: AtomicU64::new(0),
        })
    }

    /// Whether the backend holds an open connection now.
    pub fn is_connected(&self) -> bool {
        self.connector.is_connected()
    }

    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> CacheResult<T> {
        let (mut conn, id) = self.connector.connection().await?;
        let mut command = Command { backend: self, connection: id, answered: false };
        let result = cmd.query_async(&mut conn).await;
        command.answered = true;
        self.finish(id, result)
    }

    async fn invoke<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> CacheResult<T> {
        let (mut conn, id) = self.connector.connection().await?;
        let mut command = Command { backend: self, connection: id, answered: false };
        let result = invocation.invoke_async(&mut conn).await;
        command.answered = true;
        self.finish(id, result)
    }

    async fn pipeline(&self, pipe: &redis::Pipeline) -> CacheResult<()> {
        let (mut conn, id) = self.connector.connection().await?;
        let mut command = Command { backend: self, connection: id, answered: false };
        let result = pipe.query_async::<()>(&mut conn).await;
        command.answered = true;
        self.finish(id, result)
    }

    fn note_unanswered(&self, id: u64) {
        let mut current = self.unanswered.load(Ordering::Relaxed);
        let count = loop {
            let count = if current >> 8 == id { ((current & 0xff) + 1).min(0xff) } else { 1 };
            match self.unanswered.compare_exchange_weak(
                current,
                (id << 8) | count,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break count,
                Err(actual) => current = actual,
            }
        };
        if count >= UNANSWERED_LIMIT {
            self.connector.mark_broken(id, "commands went unanswered");
        }
    }

    fn finish<T>(&self, id: u64, result: Result<T, RedisError>) -> CacheResult<T> {
        match result {
            Ok(value) => {
                self.connector.mark_healthy();
                if self.unanswered.load(Ordering::Relaxed) != 0 {
                    self.unanswered.store(0, Ordering::Relaxed);
                }
                Ok(value)
            }
            Err(error) => {
                if is_broken(&error) {
                    self.connector.mark_broken(id, &error.to_string());
                }
                Err(self.cache_error(error))
            }
        }
    }

    /// What a failed command means for the caller: slow, unreachable, or refused.
    fn cache_error(&self, error: RedisError) -> CacheError {
        if error.is_timeout() {
            CacheError::Timeout(self.response_timeout)
        } else if is_broken(&error) {
            CacheError::Unavailable(error.to_string())
        } else {
            CacheError::Backend(error.to_string())
        }
    }
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("url", &self.redacted_url)
            .field("connected", &self.is_connected())
            .field("connect_attempts", &self.connector.attempts())
            .finish()
    }
}

/// Whether `error` means the connection is gone.
fn is_broken(error: &RedisError) -> bool {
    error.is_io_error() || error.is_unrecoverable_error() || error.is_connection_dropped()
}

fn expiring_set(key: &str, value: &[u8], ttl: Option<Duration>) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value);
    if let Some(ttl) = ttl {
        cmd.arg("PX").arg(millis(ttl));
    }
    cmd
}

fn epoch_ttl(epoch: &EpochKey) -> u64 {
    epoch.ttl.map_or(0, millis)
}

fn parse_epoch(raw: Option<Vec<u8>>) -> CacheResult<i64> {
    raw.as_deref()
        .and_then(|raw| std::str::from_utf8(raw).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| CacheError::Backend("an epoch key holds something other than an integer".to_owned()))
}

impl CacheBackend for RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn ping(&self) -> BoxFuture<'_, CacheResult<()>> {
        Box::pin(async move { self.query::<String>(&redis::cmd("PING")).await.map(drop) })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Vec<u8>>>> {
        Box::pin(async move { self.query(redis::cmd("GET").arg(key)).await })
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<Option<Vec<u8>>>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            self.query(redis::cmd("MGET").arg(keys)).await
        })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move { self.query(&expiring_set(key, value, ttl)).await })
    }

    fn set_many<'a>(
        &'a self,
        entries: &'a [(String, Vec<u8>)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            if entries.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            for (key, value) in entries {
                pipe.add_command(expiring_set(key, value, ttl)).ignore();
            }
            self.pipeline(&pipe).await
        })
    }

    fn delete<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<u64>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(0);
            }
            self.query(redis::cmd("DEL").arg(keys)).await
        })
    }

    fn ttl<'a>(&'a self, key: &'a str) -> BoxFuture<'a, CacheResult<Option<Duration>>> {
        Box::pin(async move {
            let ms: i64 = self.query(redis::cmd("PTTL").arg(key)).await?;
            Ok(u64::try_from(ms).ok().map(Duration::from_millis))
        })
    }

    fn incr_by<'a>(&'a self, key: &'a str, by: i64, ttl: Option<Duration>) -> BoxFuture<'a, CacheResult<i64>> {
        Box::pin(async move {
            let ttl = ttl.map_or(0, millis);
            self.invoke(scripts::INCR_WITH_TTL.key(key).arg(by).arg(ttl)).await
        })
    }

    fn set_if_absent<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let reply: Option<String> =
                self.query(redis::cmd("SET").arg(key).arg(value).arg("NX").arg("PX").arg(millis(ttl))).await?;
            Ok(reply.is_some())
        })
    }

    fn compare_and_delete<'a>(&'a self, key: &'a str, expected: &'a [u8]) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let removed: i64 = self.invoke(scripts::COMPARE_AND_DELETE.key(key).arg(expected)).await?;
            Ok(removed == 1)
        })
    }

    fn compare_and_expire<'a>(
        &'a self,
        key: &'a str,
        expected: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let done: i64 = self.invoke(scripts::COMPARE_AND_EXPIRE.key(key).arg(expected).arg(millis(ttl))).await?;
            Ok(done == 1)
        })
    }

    fn read_with_epochs<'a>(
        &'a self,
        key: Option<&'a str>,
        epochs: &'a [EpochKey],
    ) -> BoxFuture<'a, CacheResult<GuardedRead>> {
        Box::pin(async move {
            // One plain MGET answers whenever every epoch exists, as it does for any row read
            // before: cheaper for Redis than a script. The script runs only to create one.
            let mut read = redis::cmd("MGET");
            for epoch in epochs {
                read.arg(&epoch.key);
            }
            if let Some(key) = key {
                read.arg(key);
            }
            let mut reply: Vec<Option<Vec<u8>>> = self.query(&read).await?;
            if reply.len() == epochs.len() + usize::from(key.is_some())
                && reply[..epochs.len()].iter().all(Option::is_some)
            {
                let value = if key.is_some() { reply.pop().flatten() } else { None };
                let epochs = reply.into_iter().map(parse_epoch).collect::<CacheResult<Vec<i64>>>()?;
                return Ok(GuardedRead { value, epochs });
            }
            let mut invocation = scripts::READ_WITH_EPOCHS.prepare_invoke();
            invocation.arg(epochs.len());
            for epoch in epochs {
                invocation.key(&epoch.key).arg(random_epoch()).arg(epoch_ttl(epoch));
            }
            if let Some(key) = key {
                invocation.key(key);
            }
            let mut reply: Vec<Option<Vec<u8>>> = self.invoke(&invocation).await?;
            let value = if key.is_some() && reply.len() > epochs.len() { reply.pop().flatten() } else { None };
            if reply.len() != epochs.len() {
                return Err(CacheError::Backend("unexpected reply to an epoch read".to_owned()));
            }
            let epochs = reply.into_iter().map(parse_epoch).collect::<CacheResult<Vec<i64>>>()?;
            Ok(GuardedRead { value, epochs })
        })
    }

    fn set_if_epochs<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Duration,
        epochs: &'a [(EpochKey, i64)],
    ) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let mut invocation = scripts::SET_IF_EPOCHS.key(key);
            invocation.arg(value).arg(millis(ttl));
            for (epoch, expected) in epochs {
                invocation.key(&epoch.key).arg(expected.to_string()).arg(epoch_ttl(epoch));
            }
            let set: i64 = self.invoke(&invocation).await?;
            Ok(set == 1)
        })
    }

    fn bump_epochs<'a>(&'a self, epochs: &'a [String], delete: &'a [String]) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            let mut invocation = scripts::BUMP_EPOCHS.prepare_invoke();
            invocation.arg(epochs.len()).arg(INVALIDATIONS_CHANNEL);
            for key in epochs.iter().chain(delete) {
                invocation.key(key);
            }
            self.invoke::<i64>(&invocation).await.map(drop)
        })
    }

    fn take_token<'a>(
        &'a self,
        key: &'a str,
        per_second: f64,
        burst: u32,
    ) -> BoxFuture<'a, CacheResult<Option<Duration>>> {
        Box::pin(async move {
            check_bucket(per_second, burst)?;
            let wait_us: i64 = self.invoke(scripts::TAKE_TOKEN.key(key).arg(per_second).arg(burst)).await?;
            Ok(u64::try_from(wait_us).ok().filter(|us| *us > 0).map(Duration::from_micros))
        })
    }

    fn invalidations(&self) -> BoxFuture<'_, CacheResult<InvalidationFeed>> {
        let target = pubsub::Target {
            client: self.client.clone(),
            channel: INVALIDATIONS_CHANNEL.to_owned(),
            connect_timeout: self.connect_timeout,
            max_delay: self.reconnect_max_delay,
        };
        Box::pin(async move { Ok(pubsub::follow(target)) })
    }

    fn connect_attempts(&self) -> u64 {
        self.connector.attempts()
    }

    fn shared_adapter(self: Arc<Self>) -> Option<Arc<dyn crate::shared::SharedAdapter>> {
        Some(self)
    }

    fn buffer_add<'a>(&'a self, key: &'a str, by: i64, op: BufferOp<'a>) -> BoxFuture<'a, CacheResult<BufferState>> {
        Box::pin(async move {
            let mut invocation = buffers::ADD.key(key);
            invocation.key(op.ops).arg(by).arg(op.id).arg(millis(op.ttl));
            for acked in op.acked {
                invocation.arg(acked);
            }
            let reply = self.invoke(&invocation).await?;
            Ok(buffers::states(reply, 1)?.remove(0))
        })
    }

    fn buffer_read<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<Vec<BufferState>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut invocation = buffers::READ.prepare_invoke();
            for key in keys {
                invocation.key(key);
            }
            buffers::states(self.invoke(&invocation).await?, keys.len())
        })
    }

    fn buffer_take<'a>(
        &'a self,
        keys: &'a [String],
        absolute: Option<i64>,
    ) -> BoxFuture<'a, CacheResult<Vec<BufferState>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut invocation = buffers::TAKE.prepare_invoke();
            for key in keys {
                invocation.key(key);
            }
            match absolute {
                Some(value) => invocation.arg("set").arg(value),
                None => invocation.arg("add").arg(0),
            };
            buffers::states(self.invoke(&invocation).await?, keys.len())
        })
    }

    fn buffer_finish<'a>(&'a self, key: &'a str, seq: i64, base: i64) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let done: i64 = self.invoke(buffers::FINISH.key(key).arg(seq).arg(base)).await?;
            Ok(done == 1)
        })
    }

    fn buffer_set_base<'a>(&'a self, key: &'a str, seq: i64, base: i64) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let done: i64 = self.invoke(buffers::SET_BASE.key(key).arg(seq).arg(base)).await?;
            Ok(done == 1)
        })
    }

    fn buffer_forget_base<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            for key in keys {
                pipe.cmd("HDEL").arg(key).arg("b").ignore();
            }
            self.pipeline(&pipe).await
        })
    }

    fn buffer_settle<'a>(
        &'a self,
        key: &'a str,
        ops: &'a str,
        op: &'a str,
        by: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, CacheResult<bool>> {
        Box::pin(async move {
            let undo =
                by.checked_neg().ok_or_else(|| CacheError::Backend("cannot undo an add of i64::MIN".to_owned()))?;
            let done: i64 = self.invoke(buffers::SETTLE.key(key).key(ops).arg(undo).arg(op).arg(millis(ttl))).await?;
            Ok(done == 1)
        })
    }

    fn buffer_acknowledge<'a>(&'a self, acked: &'a [(String, Vec<String>)]) -> BoxFuture<'a, CacheResult<()>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            for (ops, ids) in acked.iter().filter(|(_, ids)| !ids.is_empty()) {
                pipe.cmd("HDEL").arg(ops).arg(ids).ignore();
            }
            if pipe.is_empty() {
                return Ok(());
            }
            self.pipeline(&pipe).await
        })
    }

    fn scan<'a>(
        &'a self,
        pattern: &'a str,
        cursor: u64,
        count: usize,
    ) -> BoxFuture<'a, CacheResult<(u64, Vec<String>)>> {
        Box::pin(async move {
            self.query(redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(count.max(1))).await
        })
    }
}

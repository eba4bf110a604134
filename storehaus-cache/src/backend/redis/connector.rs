//! One multiplexed Redis connection, opened lazily and reopened with bounded backoff.
//!
//! At most one connection attempt runs at a time, in a task of its own so that a caller's
//! timeout does not cancel it. Callers arriving during an attempt wait for it (within their own
//! timeout); callers arriving while the connector backs off after a failure are refused at once,
//! so an unreachable Redis costs one attempt per backoff period, never one per command.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use crate::error::{CacheError, CacheResult};
use crate::util::jitter;

/// First pause after a failed attempt; doubles per failure up to the configured maximum.
const MIN_RECONNECT_DELAY: Duration = Duration::from_millis(100);
/// Spread of each pause, in percent, so that many processes do not retry in lockstep.
const RECONNECT_JITTER_PERCENT: u32 = 20;

enum State {
    /// Not connected. The next attempt may start at `retry_at` (at once when `None`).
    Idle { retry_at: Option<Instant>, last_error: String },
    /// Attempt number `attempt` is running; `done` resolves when it has updated the state.
    Connecting { attempt: u64, done: Shared<BoxFuture<'static, ()>> },
    /// Connected by attempt number `id`.
    Ready { conn: MultiplexedConnection, id: u64 },
}

/// The pause after `failures` failures in a row: 100 ms doubling up to `max_delay`, ±20%.
pub(super) fn backoff(failures: u32, max_delay: Duration) -> Duration {
    let min = MIN_RECONNECT_DELAY.min(max_delay);
    let nominal = min.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(max_delay);
    jitter(nominal, RECONNECT_JITTER_PERCENT)
}

pub(super) struct Connector {
    client: redis::Client,
    config: AsyncConnectionConfig,
    connect_timeout: Duration,
    max_delay: Duration,
    state: Mutex<State>,
    /// Failures since the last command that succeeded.
    failures: AtomicU32,
    attempts: AtomicU64,
}

impl Connector {
    pub(super) fn new(
        client: redis::Client,
        connect_timeout: Duration,
        response_timeout: Duration,
        max_delay: Duration,
    ) -> Self {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(response_timeout));
        Connector {
            client,
            config,
            connect_timeout,
            max_delay,
            state: Mutex::new(State::Idle { retry_at: None, last_error: "not connected yet".to_owned() }),
            failures: AtomicU32::new(0),
            attempts: AtomicU64::new(0),
        }
    }

    pub(super) fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    pub(super) fn is_connected(&self) -> bool {
        matches!(*self.lock(), State::Ready { .. })
    }

    /// The connection and its id, connecting first if allowed now.
    pub(super) async fn connection(self: &Arc<Self>) -> CacheResult<(MultiplexedConnection, u64)> {
        let (attempt, done) = {
            let mut state = self.lock();
            match &*state {
                State::Ready { conn, id } => return Ok((conn.clone(), *id)),
                State::Connecting { attempt, done } => (*attempt, done.clone()),
                State::Idle { retry_at, last_error } => {
                    if let Some(at) = retry_at {
                        let now = Instant::now();
                        if now < *at {
                            let wait = at.duration_since(now).as_millis();
                            return Err(CacheError::Unavailable(format!("{last_error}; next attempt in {wait} ms")));
                        }
                    }
                    let (attempt, done) = self.start_attempt()?;
                    *state = State::Connecting { attempt, done: done.clone() };
                    (attempt, done)
                }
            }
        };
        done.await;
        let mut state = self.lock();
        match &*state {
            State::Ready { conn, id } => Ok((conn.clone(), *id)),
            State::Idle { last_error, .. } => Err(CacheError::Unavailable(last_error.clone())),
            State::Connecting { attempt: current, .. } if *current == attempt => {
                // The attempt's task ended without reporting (its runtime shut down).
                let retry_at = Some(Instant::now() + self.backoff(self.failures.fetch_add(1, Ordering::Relaxed) + 1));
                *state = State::Idle { retry_at, last_error: "connection attempt was cancelled".to_owned() };
                Err(CacheError::Unavailable("connection attempt was cancelled".to_owned()))
            }
            State::Connecting { .. } => Err(CacheError::Unavailable("connecting".to_owned())),
        }
    }

    /// Records that connection `id` failed at the transport level, so the next caller reconnects:
    /// at once after a healthy period, after a backoff when failures repeat.
    pub(super) fn mark_broken(&self, id: u64, error: &str) {
        let mut state = self.lock();
        if matches!(&*state, State::Ready { id: current, .. } if *current == id) {
            let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            let retry_at = (failures > 1).then(|| Instant::now() + self.backoff(failures - 1));
            tracing::warn!(error, "redis connection lost");
            *state = State::Idle { retry_at, last_error: format!("connection lost: {error}") };
        }
    }

    /// Records that a command succeeded, which ends a run of failures.
    pub(super) fn mark_healthy(&self) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
    }

    fn start_attempt(self: &Arc<Self>) -> CacheResult<(u64, Shared<BoxFuture<'static, ()>>)> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| CacheError::Unavailable("the Redis backend needs a Tokio runtime".to_owned()))?;
        let attempt = self.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let this = Arc::clone(self);
        let task = runtime.spawn(async move { this.attempt(attempt).await });
        Ok((attempt, task.map(|_| ()).boxed().shared()))
    }

    async fn attempt(&self, attempt: u64) {
        // The client applies the connect timeout per address; this bounds the whole attempt.
        let limit = self.connect_timeout + self.connect_timeout / 2;
        let connecting = async {
            let conn = self.client.get_multiplexed_async_connection_with_config(&self.config).await?;
            if let Err(error) = super::scripts::preload(&conn).await {
                tracing::debug!(%error, "loading the cache scripts failed; each loads on its first use");
            }
            Ok::<_, redis::RedisError>(conn)
        };
        let result = tokio::time::timeout(limit, connecting)
            .await
            .map_err(|_| format!("connecting timed out after {} ms", limit.as_millis()))
            .and_then(|result| result.map_err(|e| e.to_string()));
        let mut state = self.lock();
        if !matches!(&*state, State::Connecting { attempt: current, .. } if *current == attempt) {
            return;
        }
        match result {
            Ok(conn) => {
                tracing::info!(attempt, "redis connected");
                *state = State::Ready { conn, id: attempt };
            }
            Err(error) => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                let delay = self.backoff(failures);
                tracing::warn!(%error, attempt, retry_in_ms = delay.as_millis() as u64, "redis connection failed");
                *state = State::Idle { retry_at: Some(Instant::now() + delay), last_error: error };
            }
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        backoff(failures, self.max_delay)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one assignment.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

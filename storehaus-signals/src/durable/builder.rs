//! [`ConsumerBuilder`] and [`Consumer`]: setting a durable consumer up and running it.

use super::retry::RetryPolicy;
use super::runner::{self, Job};
use super::{ConsumerSpec, DeadLetters, MAX_CONSUMER_NAME, MAX_PARTITIONS};
use crate::callback::Callback;
use crate::manager::Shared;
use crate::{CallbackResult, DatabaseEvent, SignalError, Subscription};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Sets up a durable consumer; made by [`SignalManager::consumer`](crate::SignalManager::consumer).
///
/// ```no_run
/// # use storehaus_signals::{EventType, SignalManager, Subscription};
/// # use std::time::Duration;
/// # async fn demo(signals: &SignalManager) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let mail = signals
///     .consumer("send-order-mail")
///     .subscription(Subscription::table("orders").events([EventType::Create]))
///     .max_attempts(5)
///     .start(|event| async move {
///         println!("mail for order {}", event.record_id);
///         Ok(())
///     })
///     .await?;
/// # let _ = mail; Ok(()) }
/// ```
pub struct ConsumerBuilder {
    shared: Arc<Shared>,
    spec: ConsumerSpec,
    subscription: Subscription,
    retry: RetryPolicy,
    timeout: Duration,
    batch: usize,
}

impl ConsumerBuilder {
    pub(crate) fn new(shared: Arc<Shared>, name: String) -> Self {
        let timeout = shared.config.callback_timeout();
        ConsumerBuilder {
            shared,
            spec: ConsumerSpec {
                name,
                partitions: 1,
                max_lag: Duration::from_secs(7 * 24 * 60 * 60),
                from_beginning: false,
            },
            subscription: Subscription::all(),
            retry: RetryPolicy { max_attempts: 5, base: Duration::from_millis(200), cap: Duration::from_secs(30) },
            timeout,
            batch: 100,
        }
    }

    /// The events the consumer handles; the others are passed over. Default: every event.
    pub fn subscription(mut self, subscription: Subscription) -> Self {
        self.subscription = subscription;
        self
    }

    /// How many partitions the events are spread over (by row), so that as many processes can
    /// handle them side by side. Default 1: one process at a time, in log order. Fixed when the
    /// consumer is first started; later starts keep the first count.
    pub fn partitions(mut self, partitions: u32) -> Self {
        self.spec.partitions = partitions;
        self
    }

    /// Attempts per event before it becomes a dead letter, the first included. Default 5.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.retry.max_attempts = attempts;
        self
    }

    /// The delay after the first failure (at most: the delays are drawn at random below a bound
    /// that doubles after each failure) and the largest bound. Default 200 ms and 30 s.
    pub fn retry_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.retry.base = first;
        self.retry.cap = max;
        self
    }

    /// Upper bound of one callback run; a run that takes longer is a failed attempt. Default:
    /// the manager's `callback_timeout_seconds`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How far behind retention may leave the consumer (it keeps the events the consumer has not
    /// reached for this long, whatever `event_retention_seconds` says). Events older than that
    /// are pruned anyway, and the consumer is told which it missed. Default 7 days.
    pub fn max_lag(mut self, max_lag: Duration) -> Self {
        self.spec.max_lag = max_lag;
        self
    }

    /// A consumer started for the first time begins at the oldest event retained, instead of
    /// at the end of the log.
    pub fn from_beginning(mut self) -> Self {
        self.spec.from_beginning = true;
        self
    }

    fn check(&self) -> Result<(), SignalError> {
        let invalid = |reason: &str| SignalError::InvalidConsumer {
            consumer: self.spec.name.chars().take(64).collect(),
            reason: reason.to_owned(),
        };
        let name = &self.spec.name;
        if name.is_empty() || name.len() > MAX_CONSUMER_NAME || name.chars().any(char::is_control) {
            return Err(invalid("a name is 1 to 200 bytes without control characters"));
        }
        if !(1..=MAX_PARTITIONS).contains(&self.spec.partitions) {
            return Err(invalid("partitions must be between 1 and 256"));
        }
        if self.retry.max_attempts == 0 || self.retry.base.is_zero() || self.retry.cap < self.retry.base {
            return Err(invalid("at least one attempt, and a first delay above zero and below the largest"));
        }
        if self.timeout.is_zero() || self.spec.max_lag.is_zero() {
            return Err(invalid("the timeout and the maximum lag must be above zero"));
        }
        Ok(())
    }

    /// Registers the consumer (its position is kept in the database) and starts handling events
    /// in the background, one at a time per partition: the position moves past an event once
    /// `callback` returned `Ok` for it, or once it became a dead letter.
    ///
    /// Fails when the settings are out of range ([`SignalError::InvalidConsumer`]), when the
    /// budget of [`subscribe_limit`](crate::SignalConfig::subscribe_limit) is spent in this process
    /// ([`SignalError::RateLimited`]), when the event source keeps no consumers
    /// ([`SignalError::NoConsumerLog`]), or when the database cannot register it.
    pub async fn start<F, Fut>(self, callback: F) -> Result<Consumer, SignalError>
    where
        F: Fn(DatabaseEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CallbackResult> + Send + 'static,
    {
        self.check()?;
        if self.shared.is_closed() {
            return Err(SignalError::ShutDown);
        }
        self.shared.admit_subscription(&self.subscription)?;
        let log = self.shared.consumer_log()?;
        let partitions = log.register(&self.spec).await.map_err(SignalError::Source)?;
        let callback: Callback = Box::new(move |event| Box::pin(callback(event)));
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let job = Arc::new(Job {
            log: Arc::clone(&log),
            name: self.spec.name.clone(),
            partitions,
            subscription: self.subscription,
            callback,
            retry: self.retry,
            timeout: self.timeout,
            batch: self.batch,
            counters: Arc::clone(&counters),
            news: self.shared.news.subscribe(),
            stop: stopped,
        });
        let task = tokio::spawn(runner::run(job));
        let consumer = Consumer {
            inner: Arc::new(Inner { name: self.spec.name.clone(), counters, stop, task: Mutex::new(Some(task)) }),
            dead_letters: DeadLetters { log, consumer: self.spec.name },
        };
        self.shared.consumers.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::downgrade(&consumer.inner));
        Ok(consumer)
    }
}

impl fmt::Debug for ConsumerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerBuilder")
            .field("spec", &self.spec)
            .field("subscription", &self.subscription)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Counts of one consumer in this process.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) handled: AtomicU64,
    pub(crate) passed_over: AtomicU64,
    pub(crate) failed_attempts: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) missed_ranges: AtomicU64,
    pub(crate) partitions_held: AtomicUsize,
    pub(crate) session_failures: AtomicU64,
}

/// What a durable consumer did in this process since it started.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConsumerStats {
    /// Events whose callback succeeded (replays included).
    pub handled: u64,
    /// Events the subscription did not match.
    pub passed_over: u64,
    /// Callback runs that failed or timed out (each retried, or the last one of a dead letter).
    pub failed_attempts: u64,
    /// Events set aside as dead letters.
    pub dead_lettered: u64,
    /// Dead letters delivered by a replay.
    pub replayed: u64,
    /// Ranges of events retention pruned before the consumer reached them (each logged).
    pub missed_ranges: u64,
    /// Partitions this process holds now.
    pub partitions_held: usize,
    /// Times the connection that holds the partitions was lost and taken again.
    pub session_failures: u64,
}

pub(crate) struct Inner {
    name: String,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    /// Stops handling events: the callback running finishes, its position is saved, and the
    /// partitions are let go for other processes.
    pub(crate) async fn stop(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// A running durable consumer. Dropping it (or [`stop`](Self::stop)) stops it in this process;
/// its position and dead letters stay in the database for the next start.
pub struct Consumer {
    inner: Arc<Inner>,
    dead_letters: DeadLetters,
}

impl Consumer {
    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// What it did in this process so far.
    pub fn stats(&self) -> ConsumerStats {
        let c = &self.inner.counters;
        ConsumerStats {
            handled: c.handled.load(Ordering::Relaxed),
            passed_over: c.passed_over.load(Ordering::Relaxed),
            failed_attempts: c.failed_attempts.load(Ordering::Relaxed),
            dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
            replayed: c.replayed.load(Ordering::Relaxed),
            missed_ranges: c.missed_ranges.load(Ordering::Relaxed),
            partitions_held: c.partitions_held.load(Ordering::Relaxed),
            session_failures: c.session_failures.load(Ordering::Relaxed),
        }
    }

    /// Its dead letters.
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.dead_letters
    }

    /// Stops it in this process: the callback running finishes (within its timeout), the
    /// position is saved and the partitions are let go. Returns once that is done.
    pub async fn stop(&self) {
        self.inner.stop().await;
    }
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer").field("name", &self.inner.name).field("stats", &self.stats()).finish()
    }
}

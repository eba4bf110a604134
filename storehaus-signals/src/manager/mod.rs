//! [`SignalManager`]: registers callbacks and runs the listener that feeds them.

mod backoff;
mod dispatch;
mod listener;
mod maintenance;
mod stats;

pub(crate) use backoff::Backoff;
pub use stats::SignalStats;

use crate::callback::{Callback, CallbackHandle, CallbackId, CallbackResult, Registry, Removal, Subscription};
use crate::durable::{ConsumerBuilder, ConsumerLog, DeadLetters};
use crate::{Channel, DatabaseEvent, EventSource, Position, SignalConfig, SignalError};
use dispatch::InFlight;
use futures_util::future;
use stats::Counters;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use storehaus_resilience::{BreakerState, CircuitBreaker, LocalLimiter, Strategy};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The key of the subscription budget, and the prefix of the per-principal ones.
const SUBSCRIBE_KEY: &str = "signals.subscribe";
/// The operation [`Channel::publish`](crate::Channel::publish) takes a token of.
const EMIT_OPERATION: &str = "signals.emit";

/// Where the manager is in its life; its background tasks watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    /// [`SignalManager::shutdown`] was called: the listener reads what was committed before, the
    /// dispatcher delivers it, and both end.
    Draining,
    /// Every task ends at once.
    Stopped,
}

/// The manager's background tasks.
struct Tasks {
    listener: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    maintenance: JoinHandle<()>,
}

/// What the manager's tasks, channels and the manager itself share.
pub(crate) struct Shared {
    pub(crate) config: SignalConfig,
    pub(crate) source: Arc<dyn EventSource>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) counters: Counters,
    pub(crate) in_flight: Arc<InFlight>,
    /// Bumped whenever the listener read new events, so durable consumers read too.
    pub(crate) news: watch::Sender<u64>,
    /// Durable consumers started on this manager, stopped by its shutdown.
    pub(crate) consumers: Mutex<Vec<Weak<crate::durable::Inner>>>,
    /// The listener's circuit breaker, named `signals`.
    pub(crate) breaker: CircuitBreaker,
    /// The budgets of [`SignalConfig::subscribe_limit`].
    subscribe_budgets: LocalLimiter,
    /// The rate limits [`Channel::publish`](crate::Channel::publish) applies (`signals.emit`).
    pub(crate) emit_limits: std::sync::RwLock<Option<storehaus_resilience::RateLimits>>,
    closed: AtomicBool,
}

impl Shared {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Where the source keeps durable consumers.
    pub(crate) fn consumer_log(&self) -> Result<Arc<dyn ConsumerLog>, SignalError> {
        self.source.consumers().ok_or(SignalError::NoConsumerLog)
    }

    /// Takes a token for one registration of `subscription` from the budget of
    /// [`SignalConfig::subscribe_limit`]: the budget of registrations that name no principal
    /// (key `signals.subscribe`), or that of each principal named (`signals.subscribe:<principal>`).
    /// A registration refused by one principal's budget may have used a token of those before it.
    /// Takes a token of `signals.emit` for a publish by `actor`, when rate limits are set.
    pub(crate) async fn admit_emit(&self, actor: Option<&str>) -> Result<(), SignalError> {
        let limits = self.emit_limits.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let Some(limits) = limits else { return Ok(()) };
        match limits.check(EMIT_OPERATION, actor).await {
            Ok(()) => Ok(()),
            Err(storehaus_resilience::RateLimitError::Limited { retry_after, .. }) => {
                Err(SignalError::RateLimited { retry_after })
            }
            Err(other) => Err(SignalError::Unavailable { reason: other.to_string() }),
        }
    }

    pub(crate) fn admit_subscription(&self, subscription: &Subscription) -> Result<(), SignalError> {
        let Some(limit) = &self.config.subscribe_limit else { return Ok(()) };
        let principals = subscription.principals();
        let refused = if principals.is_empty() {
            self.subscribe_budgets.take_now(SUBSCRIBE_KEY, limit)
        } else {
            principals
                .iter()
                .find_map(|principal| self.subscribe_budgets.take_now(&format!("{SUBSCRIBE_KEY}:{principal}"), limit))
        };
        match refused {
            None => Ok(()),
            Some(retry_after) => Err(SignalError::RateLimited { retry_after }),
        }
    }

    pub(crate) fn register(
        &self,
        subscription: Subscription,
        callback: Callback,
    ) -> Result<CallbackHandle, SignalError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(SignalError::ShutDown);
        }
        self.admit_subscription(&subscription)?;
        let id = self.registry.insert(subscription, callback)?;
        Ok(CallbackHandle::new(id, Arc::downgrade(&self.registry)))
    }
}

/// Delivers committed events to callbacks.
///
/// A background listener reads the event log of an [`EventSource`] (on PostgreSQL, a table
/// written in the same transaction as the data, with `NOTIFY` as its doorbell) and dispatches
/// each event, in log order, to the callbacks whose [`Subscription`] matches. Callbacks of one
/// event run concurrently, each under `callback_timeout_seconds`; the next event is dispatched
/// when they have all finished. Stores never wait for callbacks: they only write the log.
///
/// ```
/// use std::sync::Arc;
/// use storehaus_signals::{EventType, MemorySource, SignalConfig, SignalManager, Subscription};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let source = Arc::new(MemorySource::new());
/// let manager = SignalManager::start(SignalConfig::default(), source.clone()).await?;
///
/// let handle = manager.add_callback_for(Subscription::table("users").events([EventType::Create]), |event| async move {
///     println!("user {} created", event.record_id);
///     Ok(())
/// })?;
///
/// handle.unsubscribe();
/// manager.shutdown().await;
/// # Ok(()) }
/// ```
pub struct SignalManager {
    shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    /// Taken by the first [`shutdown`](Self::shutdown).
    tasks: Mutex<Option<Tasks>>,
}

impl SignalManager {
    /// Starts a manager that delivers the events committed from now on (from the source's
    /// [`tail`](EventSource::tail)).
    ///
    /// Must run inside a Tokio runtime: the listener and the cleanup run as tasks on it.
    pub async fn start(config: SignalConfig, source: Arc<dyn EventSource>) -> Result<Arc<Self>, SignalError> {
        config.validate()?;
        let position = source.tail().await.map_err(SignalError::Source)?;
        Self::start_from(config, source, position)
    }

    /// Starts a manager that delivers every event after `position`: `Position::default()` is the
    /// start of the log (as far as retention kept it), and a position saved from
    /// [`SignalStats::position`] resumes where an earlier manager stopped.
    pub fn start_from(
        config: SignalConfig,
        source: Arc<dyn EventSource>,
        position: Position,
    ) -> Result<Arc<Self>, SignalError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SignalError::NoRuntime)?;
        let (queue_tx, queue_rx) = mpsc::channel(config.queue_capacity);
        let config_breaker = config.breaker;
        let shared = Arc::new(Shared {
            registry: Arc::new(Registry::new(config.max_callbacks)),
            config,
            source,
            counters: Counters::default(),
            in_flight: Arc::default(),
            news: watch::channel(0).0,
            consumers: Mutex::default(),
            breaker: CircuitBreaker::new("signals", config_breaker),
            subscribe_budgets: LocalLimiter::default(),
            emit_limits: std::sync::RwLock::default(),
            closed: AtomicBool::new(false),
        });
        shared.counters.set_position(position);
        let (phase, _) = watch::channel(Phase::Running);
        let listen = listener::listen(Arc::clone(&shared), position, queue_tx, phase.subscribe());
        let tasks = Tasks {
            listener: runtime.spawn(until_stopped(&phase, listen)),
            dispatcher: runtime.spawn(until_stopped(&phase, dispatch::dispatch_all(Arc::clone(&shared), queue_rx))),
            maintenance: runtime.spawn(until_stopped(&phase, maintenance::maintain(Arc::clone(&shared)))),
        };
        Ok(Arc::new(SignalManager { shared, phase, tasks: Mutex::new(Some(tasks)) }))
    }

    /// The manager's settings.
    pub fn config(&self) -> &SignalConfig {
        &self.shared.config
    }

    /// The event source the manager reads.
    pub fn source(&self) -> &Arc<dyn EventSource> {
        &self.shared.source
    }

    /// Registers a callback for every event (row changes of every table and channel messages).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use storehaus_signals::{MemorySource, SignalConfig, SignalManager};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// # let manager = SignalManager::start(SignalConfig::default(), Arc::new(MemorySource::new())).await?;
    /// manager.add_callback(|event| async move {
    ///     let name: String = serde_json::from_value(event.payload["name"].clone())?;
    ///     println!("{:?} on {}: {name}", event.event_type, event.table_name);
    ///     Ok(())
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn add_callback<F, Fut>(&self, callback: F) -> Result<CallbackHandle, SignalError>
    where
        F: Fn(DatabaseEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CallbackResult> + Send + 'static,
    {
        self.add_callback_for(Subscription::all(), callback)
    }

    /// Registers a callback for the events `subscription` matches.
    ///
    /// Fails with [`SignalError::TooManyCallbacks`] when `max_callbacks` are registered, with
    /// [`SignalError::RateLimited`] when the budget of
    /// [`subscribe_limit`](SignalConfig::subscribe_limit) is spent (registrations are counted in
    /// this process only), and with [`SignalError::ShutDown`] after [`shutdown`](Self::shutdown).
    pub fn add_callback_for<F, Fut>(
        &self,
        subscription: Subscription,
        callback: F,
    ) -> Result<CallbackHandle, SignalError>
    where
        F: Fn(DatabaseEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CallbackResult> + Send + 'static,
    {
        self.shared.register(subscription, Box::new(move |event| Box::pin(callback(event))))
    }

    /// Removes a callback, like [`CallbackHandle::unsubscribe`]; `false` when it was not registered.
    pub fn remove_callback(&self, id: CallbackId) -> bool {
        self.shared.registry.remove(id, Removal::Unsubscribed)
    }

    /// How many callbacks are registered.
    pub fn callback_count(&self) -> usize {
        self.shared.registry.len()
    }

    /// A typed channel for application events named `name`; see [`Channel`].
    pub fn channel<T>(&self, name: impl Into<String>) -> Channel<T> {
        Channel::new(Arc::clone(&self.shared), name.into())
    }

    /// A durable consumer named `name`: its position is kept in the database and advances only
    /// after its callback succeeded, failing events are retried and then set aside as dead
    /// letters, and processes running the same name share its events. See [`ConsumerBuilder`]
    /// and `docs/signals.md`.
    pub fn consumer(&self, name: impl Into<String>) -> ConsumerBuilder {
        ConsumerBuilder::new(Arc::clone(&self.shared), name.into())
    }

    /// The dead letters of the durable consumer `name` (whether or not it runs here).
    pub fn dead_letters(&self, name: impl Into<String>) -> Result<DeadLetters, SignalError> {
        let log = self.shared.consumer_log()?;
        Ok(DeadLetters { log, consumer: name.into() })
    }

    /// Forgets the durable consumer `name`: its positions and dead letters. Retention stops
    /// keeping events for it. `false` when it was not registered.
    pub async fn remove_consumer(&self, name: &str) -> Result<bool, SignalError> {
        let log = self.shared.consumer_log()?;
        log.remove(name).await.map_err(SignalError::Source)
    }

    /// Where the listener's circuit breaker stands: [`BreakerState::Open`] while the listener
    /// leaves a failing event source alone, [`BreakerState::HalfOpen`] once it may try it again
    /// (or is trying), [`BreakerState::Closed`] otherwise. See [`SignalConfig::breaker`].
    pub fn listener_breaker(&self) -> BreakerState {
        self.shared.breaker.state()
    }

    /// Whether writes that announce events should go ahead, as
    /// [`SignalConfig::strategy`] says: with [`Strategy::FailFast`], fails with
    /// [`SignalError::Unavailable`] while the listener's breaker is not closed; with
    /// [`Strategy::Fallback`] (the default), always `Ok`, since events wait in the log until the
    /// listener is back.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use storehaus_signals::{MemorySource, SignalConfig, SignalManager};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// # let manager = SignalManager::start(SignalConfig::default(), Arc::new(MemorySource::new())).await?;
    /// manager.check_available()?;
    /// // ... write, announcing the change ...
    /// # Ok(()) }
    /// ```
    pub fn check_available(&self) -> Result<(), SignalError> {
        if self.shared.config.strategy != Strategy::FailFast {
            return Ok(());
        }
        match self.shared.breaker.state() {
            BreakerState::Closed => Ok(()),
            state => Err(SignalError::Unavailable {
                reason: format!("the signal listener's circuit breaker is {state}: its event source keeps failing"),
            }),
        }
    }

    /// Applies `limits` (`None` removes them) to [`Channel::publish`](crate::Channel::publish):
    /// each publish takes a token of the rules matching `signals.emit`, per principal by the
    /// channel's actor, and fails with [`SignalError::RateLimited`] when a bucket is empty.
    /// Writes through stores take their `signals.emit` token from the store's limits.
    pub fn set_rate_limits(&self, limits: Option<storehaus_resilience::RateLimits>) {
        *self.shared.emit_limits.write().unwrap_or_else(std::sync::PoisonError::into_inner) = limits;
    }

    /// Counts of what the manager has done; see [`SignalStats`].
    pub fn get_stats(&self) -> SignalStats {
        let removals = &self.shared.registry.removals;
        let breaker = self.shared.breaker.stats();
        SignalStats {
            listener_breaker: breaker.state,
            listener_breaker_opened: breaker.opened,
            callbacks_registered: self.shared.registry.len(),
            callbacks_removed_failing: removals.failing.load(Ordering::Relaxed),
            callbacks_removed_inactive: removals.inactive.load(Ordering::Relaxed),
            callbacks_unsubscribed: removals.unsubscribed.load(Ordering::Relaxed),
            ..self.shared.counters.snapshot()
        }
    }

    /// Delivers the events committed before the call, then stops.
    ///
    /// The listener reads the log up to the last event committed so far (from where it is, so
    /// nothing is delivered twice) and stops listening; the callbacks of those events and of
    /// the events already read run as usual, each bounded by `callback_timeout_seconds`, and
    /// `shutdown` returns once they have finished. So a program that writes a row and then shuts
    /// down (or calls `StoreHaus::close`) does not lose the last callback. Events committed
    /// after the call may or may not be delivered.
    ///
    /// A source that cannot be read does not hold the shutdown up: each read gets half of
    /// `heartbeat_seconds` and a failed one ends the drain, and events held back behind a
    /// transaction still writing events are waited for one heartbeat interval at most. What is not
    /// delivered stays in the log, for a manager started with
    /// [`start_from`](Self::start_from) at [`SignalStats::position`].
    ///
    /// No callback can be added once it is called; calling it again does nothing.
    pub async fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::Release);
        let consumers = std::mem::take(&mut *self.shared.consumers.lock().unwrap_or_else(PoisonError::into_inner));
        future::join_all(
            consumers.iter().filter_map(Weak::upgrade).map(|consumer| async move { consumer.stop().await }),
        )
        .await;
        let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(Tasks { listener, dispatcher, maintenance }) = tasks {
            // The listener ends once it has queued what was committed before; dropping the
            // queue's sender then ends the dispatcher once it has dispatched all of it.
            self.phase.send_replace(Phase::Draining);
            let _ = listener.await;
            let _ = dispatcher.await;
            self.phase.send_replace(Phase::Stopped);
            let _ = maintenance.await;
        }
        self.shared.counters.listener_connected.store(false, Ordering::Relaxed);
        let grace = self.shared.config.callback_timeout() + Duration::from_secs(1);
        let _ = tokio::time::timeout(grace, self.shared.in_flight.wait_idle()).await;
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

/// Dropping the last handle stops the background tasks too, without delivering what is left;
/// runs already started finish.
impl Drop for SignalManager {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.phase.send_replace(Phase::Stopped);
    }
}

impl fmt::Debug for SignalManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalManager")
            .field("config", &self.shared.config)
            .field("callbacks", &self.shared.registry.len())
            .field("shut_down", &self.is_shut_down())
            .finish_non_exhaustive()
    }
}

/// Runs `task` until it ends or the manager stops (or is dropped), whichever comes first.
fn until_stopped<T: Future<Output = ()>>(phase: &watch::Sender<Phase>, task: T) -> impl Future<Output = ()> + use<T> {
    let mut phase = phase.subscribe();
    async move {
        let stopped = async move {
            let _ = phase.wait_for(|phase| *phase == Phase::Stopped).await;
        };
        future::select(std::pin::pin!(task), std::pin::pin!(stopped)).await;
    }
}

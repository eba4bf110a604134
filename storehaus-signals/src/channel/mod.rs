//! Typed channels: application events published through the same log as row changes.

pub use storehaus_envelope::{Envelope, EventScope};

use crate::callback::{CallbackHandle, CallbackResult, Subscription};
use crate::manager::Shared;
use crate::{BoxFuture, DatabaseEvent, SignalError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

/// A named stream of application events of type `T`, made by
/// [`SignalManager::channel`](crate::SignalManager::channel).
///
/// Messages are written to the event log, so they reach subscribers in every process with the
/// same guarantees as row changes. They arrive as events of type [`crate::EventType::Channel`] whose
/// `table_name` is the channel name and whose payload is an [`Envelope`] (read it back with
/// [`DatabaseEvent::envelope`]); channels are a namespace of their own, so
/// [`Subscription::table`] never matches them (see [`Subscription::channel`]).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use std::sync::Arc;
/// use storehaus_signals::{Envelope, MemorySource, SignalConfig, SignalManager};
///
/// #[derive(Serialize, Deserialize)]
/// struct Paid { order: u64, cents: i64 }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let manager = SignalManager::start(SignalConfig::default(), Arc::new(MemorySource::new())).await?;
/// let paid = manager.channel::<Paid>("orders.paid");
/// paid.subscribe(|envelope: Envelope<Paid>| async move {
///     println!("order {} paid by {:?}", envelope.data.order, envelope.actor);
///     Ok(())
/// })?;
/// paid.with_scope("organization", "org_7").with_actor("user:1").publish(&Paid { order: 1, cents: 990 }).await?;
/// # Ok(()) }
/// ```
pub struct Channel<T> {
    shared: Arc<Shared>,
    name: String,
    scope: Option<EventScope>,
    actor: Option<String>,
    keep_when_idle: bool,
    _message: PhantomData<fn() -> T>,
}

impl<T> Channel<T> {
    pub(crate) fn new(shared: Arc<Shared>, name: String) -> Self {
        Channel { shared, name, scope: None, actor: None, keep_when_idle: false, _message: PhantomData }
    }

    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This channel, with the scope `identifier` of kind `key` (`"organization"`, `"org_7"`) set
    /// on the messages it publishes.
    pub fn with_scope(&self, key: impl Into<String>, identifier: impl Into<String>) -> Self {
        Channel { scope: Some(EventScope::new(key, identifier)), ..self.clone() }
    }

    /// This channel, with `actor` set on the messages it publishes.
    pub fn with_actor(&self, actor: impl Into<String>) -> Self {
        Channel { actor: Some(actor.into()), ..self.clone() }
    }

    /// This channel, with its subscribers exempt from removal for inactivity (see
    /// [`Subscription::keep_when_idle`]); for channels that are quiet for long stretches.
    pub fn keep_when_idle(&self) -> Self {
        Channel { keep_when_idle: true, ..self.clone() }
    }
}

impl<T: Serialize> Channel<T> {
    /// Writes `data` to the log in an [`Envelope`] stamped now, with this channel's scope and
    /// actor. Works after the manager is shut down, since it only writes.
    ///
    /// Fails with [`SignalError::RateLimited`] when the manager's rate limits
    /// ([`SignalManager::set_rate_limits`](crate::SignalManager::set_rate_limits)) refuse it.
    pub async fn publish(&self, data: &T) -> Result<(), SignalError> {
        self.shared.admit_emit(self.actor.as_deref()).await?;
        let payload = self
            .envelope(data)
            .to_json()
            .map_err(|source| SignalError::Payload { channel: self.name.clone(), source })?;
        self.shared.source.publish(&self.name, payload).await.map_err(SignalError::Source)
    }

    /// The envelope [`publish`](Self::publish) would write for `data`, for publishers that write
    /// it themselves (inside a database transaction, for instance).
    pub fn envelope<'a>(&self, data: &'a T) -> Envelope<&'a T> {
        Envelope {
            event_type: self.name.clone(),
            data,
            timestamp: storehaus_envelope::now(),
            scope: self.scope.clone(),
            actor: self.actor.clone(),
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Channel<T> {
    /// Registers a callback for the messages of this channel. A message whose payload does not
    /// deserialize into `T` is skipped and counted as a failure of the callback.
    pub fn subscribe<F, Fut>(&self, callback: F) -> Result<CallbackHandle, SignalError>
    where
        F: Fn(Envelope<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CallbackResult> + Send + 'static,
    {
        let mut subscription = Subscription::channel(self.name.clone());
        if self.keep_when_idle {
            subscription = subscription.keep_when_idle();
        }
        self.shared.register(
            subscription,
            Box::new(move |event: DatabaseEvent| -> BoxFuture<'static, CallbackResult> {
                match event.envelope() {
                    Ok(envelope) => Box::pin(callback(envelope)),
                    Err(error) => Box::pin(std::future::ready(Err(error.into()))),
                }
            }),
        )
    }
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Channel {
            shared: Arc::clone(&self.shared),
            name: self.name.clone(),
            scope: self.scope.clone(),
            actor: self.actor.clone(),
            keep_when_idle: self.keep_when_idle,
            _message: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("actor", &self.actor)
            .field("keep_when_idle", &self.keep_when_idle)
            .finish_non_exhaustive()
    }
}

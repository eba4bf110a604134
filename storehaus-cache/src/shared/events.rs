//! [`Events`]: typed pub/sub with the shared envelope.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use storehaus_envelope::{Envelope, EventScope};
use tokio::task::JoinHandle;

use super::error::{SharedResult, SharedStoreError};
use super::keys::Namespace;
use super::{Inner, SharedStore};

/// What a subscriber receives: the message in its [`Envelope`], with the channel (`type`),
/// when it was published, the publisher's innermost scope and its actor.
pub type EventContext<T> = Envelope<T>;

/// Typed pub/sub of a [`SharedStore`], on the Redis channel `<…>:events:<channel>`.
///
/// Delivery is at most once, as Redis pub/sub is: a subscriber receives what is published
/// while it is connected, in order; messages published while it is disconnected are lost.
/// Streams ([`Streams`](super::Streams)) are the durable alternative.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    store: &'a SharedStore,
}

impl<'a> Events<'a> {
    pub(super) fn new(store: &'a SharedStore) -> Self {
        Events { store }
    }

    /// Publishes `data` on `channel` in an envelope stamped now with this store's innermost
    /// scope and actor; returns how many subscribers received it. On a registered channel,
    /// data that does not match the registered type is
    /// [`InvalidPayload`](SharedStoreError::InvalidPayload) and is not published.
    pub async fn publish<T: Serialize + ?Sized>(&self, channel: &str, data: &T) -> SharedResult<u64> {
        let full = self.store.key_for("channel", Namespace::Events, channel)?;
        let inner = &self.store.inner;
        let value = serde_json::to_value(data).map_err(|error| SharedStoreError::payload(channel, error))?;
        check_registered(inner, channel, &value)?;
        let mut envelope = Envelope::new(channel, value);
        envelope.scope = self.store.innermost().cloned();
        envelope.actor = self.store.actor.as_deref().map(str::to_owned);
        let bytes = envelope.to_vec().map_err(|error| SharedStoreError::payload(channel, error))?;
        let receivers = self.store.call("events.publish", inner.adapter.publish(&full, &bytes)).await?;
        inner.stats.published();
        Ok(receivers)
    }

    /// Runs `handler` for each message on `channel`, one at a time and in order, until the
    /// returned [`Unsubscribe`] is used or dropped. Resolves once the subscription is active.
    ///
    /// A message that another client published without an envelope is wrapped in one (its
    /// JSON, or its text, as `data`; stamped on receipt). A message whose data does not decode
    /// as `T` (or as the registered type) is counted in
    /// [`SharedStats::invalid_payloads`](super::SharedStats::invalid_payloads) and skipped; a
    /// handler that panics is counted in `handler_failures` and the next message is delivered.
    pub async fn subscribe<T, F, Fut>(&self, channel: &str, handler: F) -> SharedResult<Unsubscribe>
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(EventContext<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let full = self.store.key_for("channel", Namespace::Events, channel)?;
        let inner = Arc::clone(&self.store.inner);
        if inner.strict_events && !inner.registry.contains_key(channel) {
            return Err(SharedStoreError::UnknownEvent { channel: channel.to_owned() });
        }
        let mut messages = self.store.call("events.subscribe", inner.adapter.subscribe(&full)).await?;
        let channel = channel.to_owned();
        let scope = self.store.innermost().cloned();
        let task = tokio::spawn(async move {
            while let Some(bytes) = messages.recv().await {
                let Some(context) = open::<T>(&inner, &channel, scope.as_ref(), &bytes) else {
                    continue;
                };
                match AssertUnwindSafe(async { handler(context).await }).catch_unwind().await {
                    Ok(()) => inner.stats.delivered(1),
                    Err(_) => {
                        inner.stats.handler_failed();
                        tracing::error!(channel, "a shared store event handler panicked");
                    }
                }
            }
        });
        Ok(Unsubscribe { task: Some(task), channel: full })
    }
}

/// Refuses unregistered channels on a strict store and payloads that do not match the
/// registered type.
fn check_registered(inner: &Inner, channel: &str, value: &serde_json::Value) -> SharedResult<()> {
    match inner.registry.get(channel) {
        Some((type_name, validate)) => validate(value).map_err(|message| SharedStoreError::InvalidPayload {
            target: channel.to_owned(),
            message: format!("does not match `{type_name}`: {message}"),
        }),
        None if inner.strict_events => Err(SharedStoreError::UnknownEvent { channel: channel.to_owned() }),
        None => Ok(()),
    }
}

/// The envelope of a received message, or `None` (counted) when it does not decode.
fn open<T: DeserializeOwned>(
    inner: &Inner,
    channel: &str,
    scope: Option<&EventScope>,
    bytes: &[u8],
) -> Option<EventContext<T>> {
    let opened = unwrap_or_wrap(channel, scope, bytes).and_then(|envelope| {
        if let Some((type_name, validate)) = inner.registry.get(channel) {
            validate(&envelope.data).map_err(|message| format!("does not match `{type_name}`: {message}"))?;
        }
        let Envelope { event_type, data, timestamp, scope, actor } = envelope;
        let data = T::deserialize(data).map_err(|error| error.to_string())?;
        Ok(Envelope { event_type, data, timestamp, scope, actor })
    });
    match opened {
        Ok(context) => Some(context),
        Err(error) => {
            inner.stats.invalid();
            tracing::warn!(channel, %error, "dropped a shared store event that does not decode");
            None
        }
    }
}

/// The envelope a message carries, or one made around it when it has none.
fn unwrap_or_wrap(
    channel: &str,
    scope: Option<&EventScope>,
    bytes: &[u8],
) -> Result<Envelope<serde_json::Value>, String> {
    let value = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => value,
        Err(_) => serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()),
    };
    let is_envelope = value
        .as_object()
        .is_some_and(|object| ["type", "data", "timestamp"].iter().all(|field| object.contains_key(*field)));
    if is_envelope {
        return Envelope::from_json(value).map_err(|error| format!("malformed envelope: {error}"));
    }
    let mut envelope = Envelope::new(channel, value);
    envelope.scope = scope.cloned();
    Ok(envelope)
}

/// Ends a subscription made by [`Events::subscribe`]: call
/// [`unsubscribe`](Self::unsubscribe), or drop it.
#[derive(Debug)]
pub struct Unsubscribe {
    task: Option<JoinHandle<()>>,
    channel: String,
}

impl Unsubscribe {
    /// Stops delivery: no handler call starts after this returns.
    pub async fn unsubscribe(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // The task's outcome is its cancellation (or a handler's panic, already counted).
            let _ = task.await;
        }
    }

    /// The full channel subscribed to.
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_a_bare_message() {
        let scope = EventScope::new("organization", "o1");
        let envelope = unwrap_or_wrap("ping", Some(&scope), br#"{"n":1}"#).unwrap();
        assert_eq!((envelope.event_type.as_str(), envelope.data["n"].as_i64()), ("ping", Some(1)));
        assert_eq!(envelope.scope, Some(scope));
        let text = unwrap_or_wrap("ping", None, b"hello there").unwrap();
        assert_eq!(text.data, "hello there");
    }

    #[test]
    fn keeps_an_envelope() {
        let sent = Envelope::new("user:created", 5).with_actor("svc").to_vec().unwrap();
        let envelope = unwrap_or_wrap("other", None, &sent).unwrap();
        assert_eq!((envelope.event_type.as_str(), envelope.actor.as_deref()), ("user:created", Some("svc")));
    }
}

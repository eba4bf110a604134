//! Pub/sub subscriptions that outlive a lost connection.
//!
//! Each subscription has its own connection, read by a task that forwards payloads until the
//! receiver is dropped. When the connection ends (Redis restarted, network cut) or stops
//! answering pings, the task reconnects and subscribes again with backoff; messages published
//! in between are lost, as Redis pub/sub has no history.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::connector::backoff;
use crate::backend::feed::{FeedEvent, InvalidationFeed, parse_announcement};
use crate::error::{CacheError, CacheResult};
use crate::shared::Subscription;

/// How often an idle subscription checks that its connection still answers.
const PING_INTERVAL: Duration = Duration::from_secs(15);

/// Where a subscription connects and how patiently.
#[derive(Clone)]
pub(super) struct Target {
    pub(super) client: redis::Client,
    pub(super) channel: String,
    pub(super) connect_timeout: Duration,
    pub(super) max_delay: Duration,
}

/// Where a subscription's messages go, and what it hears of a lost connection.
trait Listener: Send + 'static {
    /// Passes a message on; `false` once nobody listens.
    fn message(&self, payload: &[u8]) -> bool;
    /// The connection was lost, or is in place again.
    fn connection(&self, live: bool);
    /// Resolves once nobody listens.
    fn closed(&self) -> impl Future<Output = ()> + Send;
}

/// Payloads only: a shared store's subscriber does not hear of lost connections.
impl Listener for UnboundedSender<Vec<u8>> {
    fn message(&self, payload: &[u8]) -> bool {
        self.send(payload.to_vec()).is_ok()
    }
    fn connection(&self, _live: bool) {}
    fn closed(&self) -> impl Future<Output = ()> + Send {
        UnboundedSender::closed(self)
    }
}

impl Listener for UnboundedSender<FeedEvent> {
    fn message(&self, payload: &[u8]) -> bool {
        let sent = match parse_announcement(payload) {
            Some(keys) => self.send(FeedEvent::Invalidated(keys)),
            // A message that names no keys could have invalidated anything.
            None => self.send(FeedEvent::Lost).and_then(|()| self.send(FeedEvent::Live)),
        };
        sent.is_ok()
    }
    fn connection(&self, live: bool) {
        let _ = self.send(if live { FeedEvent::Live } else { FeedEvent::Lost });
    }
    fn closed(&self) -> impl Future<Output = ()> + Send {
        UnboundedSender::closed(self)
    }
}

/// Subscribes to `target.channel` and keeps the subscription until the receiver is dropped.
pub(super) async fn subscribe(target: Target) -> CacheResult<Subscription> {
    let (sink, stream) = open(&target).await?;
    let (sender, receiver) = unbounded_channel();
    tokio::spawn(forward(target, sink, stream, sender));
    Ok(receiver)
}

/// Follows `target.channel` as an invalidation feed until the receiver is dropped: it reports
/// [`FeedEvent::Live`] once subscribed (trying again with backoff until then), and
/// [`FeedEvent::Lost`] and `Live` again around every lost connection.
pub(super) fn follow(target: Target) -> InvalidationFeed {
    let (sender, receiver) = unbounded_channel();
    tokio::spawn(async move {
        let mut failures = 0u32;
        let (sink, stream) = loop {
            match open(&target).await {
                Ok(split) => break split,
                Err(error) => {
                    failures += 1;
                    tracing::debug!(channel = target.channel, %error, "following invalidations failed");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff(failures, target.max_delay)) => {}
                () = Listener::closed(&sender) => return,
            }
        };
        sender.connection(true);
        forward(target, sink, stream, sender).await;
    });
    receiver
}

async fn open(target: &Target) -> CacheResult<(PubSubSink, PubSubStream)> {
    let attempt = async {
        let mut pubsub = target.client.get_async_pubsub().await?;
        pubsub.subscribe(&target.channel).await?;
        Ok::<_, redis::RedisError>(pubsub.split())
    };
    match tokio::time::timeout(target.connect_timeout, attempt).await {
        Ok(Ok(split)) => Ok(split),
        Ok(Err(error)) => Err(CacheError::Unavailable(format!("cannot subscribe: {error}"))),
        Err(_) => Err(CacheError::Unavailable(format!(
            "subscribing timed out after {} ms",
            target.connect_timeout.as_millis()
        ))),
    }
}

async fn forward(target: Target, mut sink: PubSubSink, mut stream: PubSubStream, sender: impl Listener) {
    loop {
        let lost = pump(&target, &mut sink, &mut stream, &sender).await;
        let Some(reason) = lost else { return };
        sender.connection(false);
        tracing::warn!(channel = target.channel, reason, "redis subscription lost; subscribing again");
        // Paused as the connector pauses between connection attempts.
        let mut failures = 1u32;
        loop {
            tokio::select! {
                () = tokio::time::sleep(backoff(failures, target.max_delay)) => {}
                () = sender.closed() => return,
            }
            match open(&target).await {
                Ok((new_sink, new_stream)) => {
                    (sink, stream) = (new_sink, new_stream);
                    sender.connection(true);
                    tracing::info!(channel = target.channel, "redis subscription restored");
                    break;
                }
                Err(error) => {
                    failures += 1;
                    tracing::debug!(channel = target.channel, %error, "subscribing again failed");
                }
            }
        }
    }
}

/// Forwards messages until the receiver is dropped (`None`) or the connection is lost
/// (`Some(reason)`).
async fn pump(
    target: &Target,
    sink: &mut PubSubSink,
    stream: &mut PubSubStream,
    sender: &impl Listener,
) -> Option<&'static str> {
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.reset();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => {
                    if !sender.message(message.get_payload_bytes()) {
                        return None;
                    }
                }
                None => return Some("connection closed"),
            },
            () = sender.closed() => return None,
            _ = ping.tick() => {
                let answered = tokio::time::timeout(target.connect_timeout, sink.ping::<redis::Value>()).await;
                if !matches!(answered, Ok(Ok(_))) {
                    return Some("ping unanswered");
                }
            }
        }
    }
}

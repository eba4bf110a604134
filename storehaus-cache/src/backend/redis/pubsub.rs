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

/// Subscribes to `target.channel` and keeps the subscription until the receiver is dropped.
pub(super) async fn subscribe(target: Target) -> CacheResult<Subscription> {
    let (sink, stream) = open(&target).await?;
    let (sender, receiver) = unbounded_channel();
    tokio::spawn(forward(target, sink, stream, sender));
    Ok(receiver)
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

async fn forward(target: Target, mut sink: PubSubSink, mut stream: PubSubStream, sender: UnboundedSender<Vec<u8>>) {
    loop {
        let lost = pump(&target, &mut sink, &mut stream, &sender).await;
        let Some(reason) = lost else { return };
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
    sender: &UnboundedSender<Vec<u8>>,
) -> Option<&'static str> {
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.reset();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => {
                    if sender.send(message.get_payload_bytes().to_vec()).is_err() {
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

//! Pub/sub of the memory backend: each channel fans a payload out to its live subscribers. Kept
//! beside the bounded cache, so a subscription is never evicted.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::shared::Subscription;

/// Channels kept before the ones whose subscribers all left are swept out.
const SWEEP_AT: usize = 1024;

#[derive(Default)]
pub(super) struct Channels {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    channels: HashMap<String, Vec<UnboundedSender<Vec<u8>>>>,
    sweep_at: usize,
}

impl Channels {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is one push or retain, so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends `payload` to every live subscriber of `channel`, forgetting those that left;
    /// returns how many received it.
    pub(super) fn publish(&self, channel: &str, payload: &[u8]) -> u64 {
        let mut inner = self.lock();
        let Some(senders) = inner.channels.get_mut(channel) else {
            return 0;
        };
        senders.retain(|sender| sender.send(payload.to_vec()).is_ok());
        let received = senders.len() as u64;
        if senders.is_empty() {
            inner.channels.remove(channel);
        }
        received
    }

    /// A new subscription to `channel`, active at once.
    pub(super) fn subscribe(&self, channel: &str) -> Subscription {
        let (sender, receiver) = unbounded_channel();
        let mut inner = self.lock();
        let senders = inner.channels.entry(channel.to_owned()).or_default();
        senders.retain(|sender| !sender.is_closed());
        senders.push(sender);
        // Channels nobody publishes on again would keep their closed senders for ever.
        if inner.channels.len() >= inner.sweep_at.max(SWEEP_AT) {
            inner.channels.retain(|_, senders| {
                senders.retain(|sender| !sender.is_closed());
                !senders.is_empty()
            });
            inner.sweep_at = inner.channels.len() * 2;
        }
        receiver
    }

    #[cfg(test)]
    fn channel_count(&self) -> usize {
        self.lock().channels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_reaches_every_subscriber_once() {
        let channels = Channels::default();
        let mut first = channels.subscribe("news");
        let mut second = channels.subscribe("news");
        let mut other = channels.subscribe("sport");
        assert_eq!(channels.publish("news", b"a"), 2);
        assert_eq!(channels.publish("news", b"b"), 2);
        for receiver in [&mut first, &mut second] {
            assert_eq!(receiver.try_recv().unwrap(), b"a");
            assert_eq!(receiver.try_recv().unwrap(), b"b");
            assert!(receiver.try_recv().is_err());
        }
        assert!(other.try_recv().is_err());
        assert_eq!(channels.publish("nobody", b"c"), 0);
    }

    #[test]
    fn dropped_subscribers_are_pruned() {
        let channels = Channels::default();
        let kept = channels.subscribe("news");
        drop(channels.subscribe("news"));
        assert_eq!(channels.publish("news", b"a"), 1);
        drop(kept);
        assert_eq!(channels.publish("news", b"b"), 0);
        assert_eq!(channels.channel_count(), 0);
    }

    #[test]
    fn abandoned_channels_are_swept() {
        let channels = Channels::default();
        for n in 0..SWEEP_AT * 3 {
            drop(channels.subscribe(&format!("c{n}")));
        }
        let live = channels.subscribe("live");
        assert!(channels.channel_count() < SWEEP_AT * 2);
        assert_eq!(channels.publish("live", b"x"), 1);
        drop(live);
    }
}

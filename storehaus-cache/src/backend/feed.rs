//! Invalidations announced to every process on one storage, for near caches.

use tokio::sync::mpsc::UnboundedReceiver;

/// The Redis channel on which [`bump_epochs`](super::CacheBackend::bump_epochs) announces the
/// keys it touched, as a JSON array of strings.
pub const INVALIDATIONS_CHANNEL: &str = "storehaus:invalidations";

/// What a subscription to invalidations reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// The subscription is in place: every invalidation made from now on arrives.
    Live,
    /// The subscription was lost: invalidations made until the next [`FeedEvent::Live`] are
    /// not reported.
    Lost,
    /// Keys whose epochs some manager bumped or whose entries it deleted.
    Invalidated(Vec<String>),
}

/// The receiving end of [`CacheBackend::invalidations`](super::CacheBackend::invalidations);
/// dropping it ends the subscription.
pub type InvalidationFeed = UnboundedReceiver<FeedEvent>;

/// The keys of one announcement; `None` for a message that is not one, which a follower must
/// treat as a lost subscription since it cannot tell what was invalidated.
pub(crate) fn parse_announcement(payload: &[u8]) -> Option<Vec<String>> {
    serde_json::from_slice(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_announcement;

    #[test]
    fn announcements_are_json_arrays_of_keys() {
        assert_eq!(parse_announcement(br#"["a:row:1","a:epoch"]"#), Some(vec!["a:row:1".into(), "a:epoch".into()]));
        assert_eq!(parse_announcement(b"{}"), None);
        assert_eq!(parse_announcement(b"not json"), None);
    }
}

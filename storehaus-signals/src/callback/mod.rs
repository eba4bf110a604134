//! Callbacks: what they return, how they are chosen for an event, and the handle that removes them.

mod registry;
mod subscription;

pub(crate) use registry::{Callback, Entry, Registry, Removal};
pub use subscription::Subscription;

use std::fmt;
use std::sync::Weak;

/// The error a callback returns; any `std::error::Error + Send + Sync` converts into it with `?`,
/// and so does a message: `Err("no such customer".into())`.
pub type CallbackError = Box<dyn std::error::Error + Send + Sync>;

/// What a callback returns.
pub type CallbackResult = Result<(), CallbackError>;

/// Identifies one registered callback within its manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallbackId(pub(crate) u64);

impl fmt::Display for CallbackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "callback #{}", self.0)
    }
}

/// Returned when a callback is registered; [`unsubscribe`](CallbackHandle::unsubscribe) removes it.
///
/// Dropping the handle keeps the callback registered, so a callback can be set up once and
/// forgotten. The handle does not keep the manager alive.
#[derive(Clone)]
pub struct CallbackHandle {
    id: CallbackId,
    registry: Weak<Registry>,
}

impl CallbackHandle {
    pub(crate) fn new(id: CallbackId, registry: Weak<Registry>) -> Self {
        CallbackHandle { id, registry }
    }

    /// The callback's id.
    pub fn id(&self) -> CallbackId {
        self.id
    }

    /// Removes the callback: it receives no event dispatched from now on (a run already started
    /// finishes). Returns `false` when it was no longer registered (unsubscribed before, removed
    /// for failing or inactivity, or the manager is gone).
    pub fn unsubscribe(&self) -> bool {
        self.registry.upgrade().is_some_and(|registry| registry.remove(self.id, Removal::Unsubscribed))
    }

    /// Whether the callback is still registered.
    pub fn is_active(&self) -> bool {
        self.registry.upgrade().is_some_and(|registry| registry.contains(self.id))
    }
}

impl fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHandle").field("id", &self.id.0).field("active", &self.is_active()).finish()
    }
}

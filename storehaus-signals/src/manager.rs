//! The signal manager.

use crate::SignalConfig;

/// Delivers change events of stores to callbacks.
///
/// Stores take an `Option<Arc<SignalManager>>`; the delivery machinery (transactional events
/// over PostgreSQL LISTEN/NOTIFY) is not part of this release, so no manager can be constructed
/// yet and stores are created with `None`.
#[derive(Debug)]
pub struct SignalManager {
    config: SignalConfig,
}

impl SignalManager {
    /// The manager's settings.
    pub fn config(&self) -> &SignalConfig {
        &self.config
    }
}

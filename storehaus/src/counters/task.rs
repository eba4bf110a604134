//! The background sync of [`Counters::start_sync`].

use super::Counters;
use super::options::SyncOptions;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A sync running every interval in the background, from [`Counters::start_sync`].
///
/// [`stop`](SyncTask::stop) ends it after the sync in progress, if any; dropping it ends it at
/// once (a sync cut short is finished by the next one, so nothing is lost either way).
#[derive(Debug)]
pub struct SyncTask {
    stop: watch::Sender<bool>,
    handle: Option<JoinHandle<()>>,
}

impl Counters {
    /// Runs [`sync`](Self::sync) every `interval` (at least 1 ms) on the Tokio runtime until the
    /// returned task is stopped or dropped. A failed sync is logged and counted in
    /// [`stats`](Self::stats) (`failed_syncs`); the next one finishes its work.
    pub fn start_sync(&self, interval: Duration) -> SyncTask {
        let interval = interval.max(Duration::from_millis(1));
        let (stop, mut stopped) = watch::channel(false);
        let counters = self.clone();
        let handle = tokio::spawn(async move {
            loop {
                // A change (or the sender gone) before the interval is up means stop.
                if tokio::time::timeout(interval, stopped.changed()).await.is_ok() {
                    return;
                }
                if let Err(error) = counters.sync(SyncOptions::default()).await {
                    tracing::warn!(%error, "background counter sync failed");
                }
            }
        });
        SyncTask { stop, handle: Some(handle) }
    }
}

impl SyncTask {
    /// Ends the task after the sync in progress, if any, and waits for it.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }

    /// Whether the task is still running.
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|handle| !handle.is_finished())
    }
}

impl Drop for SyncTask {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

//! Periodic upkeep: removing inactive callbacks and pruning old events from the log.

use super::Shared;
use futures_util::future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// Runs both chores every `cleanup_interval_seconds` until stopped. They run side by side so a
/// slow prune never delays the removal of inactive callbacks.
pub(crate) async fn maintain(shared: Arc<Shared>) {
    let period = shared.config.cleanup_interval();
    future::join(remove_inactive(&shared, period), prune(&shared, period)).await;
}

async fn remove_inactive(shared: &Shared, period: Duration) {
    if !shared.config.auto_remove_inactive_callbacks {
        return;
    }
    let threshold = shared.config.inactive_threshold();
    let mut ticks = ticker(period);
    loop {
        ticks.tick().await;
        let removed = shared.registry.remove_idle(threshold);
        if removed > 0 {
            tracing::info!(removed, idle_seconds = threshold.as_secs(), "inactive signal callbacks removed");
        }
    }
}

async fn prune(shared: &Shared, period: Duration) {
    let retention = shared.config.event_retention();
    let mut ticks = ticker(period);
    loop {
        ticks.tick().await;
        match shared.source.prune(retention).await {
            Ok(pruned) => {
                shared.counters.events_pruned.fetch_add(pruned, Ordering::Relaxed);
            }
            Err(error) => {
                shared.counters.prune_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "pruning the event log failed; retrying at the next cleanup");
            }
        }
    }
}

/// Ticks every `period`, first one `period` from now.
fn ticker(period: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

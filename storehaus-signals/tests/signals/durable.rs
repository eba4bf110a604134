//! Durable consumers need a source that keeps them: on a `MemorySource` alone they are refused,
//! after their settings are checked, and nothing is started.

use crate::support::{config, start};
use std::time::Duration;
use storehaus_signals::SignalError;

#[tokio::test]
async fn a_source_without_a_consumer_log_refuses_durable_consumers() {
    let (_source, manager) = start(config()).await;
    let refused = manager.consumer("mail").start(|_| async { Ok(()) }).await.err();
    assert!(matches!(refused, Some(SignalError::NoConsumerLog)), "{refused:?}");
    assert!(matches!(manager.dead_letters("mail"), Err(SignalError::NoConsumerLog)));
    assert!(matches!(manager.remove_consumer("mail").await, Err(SignalError::NoConsumerLog)));
    manager.shutdown().await;
}

#[tokio::test]
async fn settings_are_checked_before_the_source_is_asked() {
    let (_source, manager) = start(config()).await;
    for builder in [
        manager.consumer(""),
        manager.consumer("tab\tname"),
        manager.consumer("p").partitions(0),
        manager.consumer("a").max_attempts(0),
        manager.consumer("t").timeout(Duration::ZERO),
        manager.consumer("l").max_lag(Duration::ZERO),
        manager.consumer("b").retry_backoff(Duration::ZERO, Duration::from_secs(1)),
    ] {
        let refused = builder.start(|_| async { Ok(()) }).await.err();
        assert!(matches!(refused, Some(SignalError::InvalidConsumer { .. })), "{refused:?}");
    }
    manager.shutdown().await;
    let late = manager.consumer("late").start(|_| async { Ok(()) }).await.err();
    assert!(matches!(late, Some(SignalError::ShutDown)), "{late:?}");
}

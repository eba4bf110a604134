//! The listener's circuit breaker, the fail-fast strategy and the subscription rate limit.

use crate::support::{Seen, config, create, start, wait_delivered, wait_until};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storehaus_resilience::{BreakerConfig, BreakerState, RateLimit, Strategy};
use storehaus_signals::{MemorySource, SignalConfig, SignalError, SignalManager, Subscription};

/// Long enough to tell "no attempt while open" from scheduling noise, short enough for a test.
const OPEN_FOR: Duration = Duration::from_secs(2);

/// A breaker that opens after `failures` failures within a minute, for [`OPEN_FOR`].
fn breaker(failures: u32) -> BreakerConfig {
    BreakerConfig::new(failures, Duration::from_secs(60), OPEN_FOR)
}

/// Cuts the listener's connection and fails every subscribe until [`heal`] is called.
fn cut_off(source: &MemorySource) {
    source.fail_next_subscribes(usize::MAX);
    source.drop_doorbell();
}

fn heal(source: &MemorySource) {
    source.fail_next_subscribes(0);
}

async fn wait_breaker(manager: &SignalManager, state: BreakerState, opened: u64) {
    wait_until(&format!("the breaker to be {state} after opening {opened} times"), || {
        let stats = manager.get_stats();
        stats.listener_breaker == state && stats.listener_breaker_opened == opened
    })
    .await;
}

/// Holds for `period`, checking every 10 ms that `source` gets no subscribe beyond `expected`
/// and the breaker stays open.
async fn assert_left_alone(manager: &SignalManager, source: &MemorySource, expected: u64, period: Duration) {
    let until = Instant::now() + period;
    while Instant::now() < until {
        assert_eq!(source.subscribes(), expected, "the listener tried its source while the breaker was open");
        assert_eq!(manager.listener_breaker(), BreakerState::Open);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_leaves_the_source_alone_probes_once_and_loses_nothing() {
    let config = SignalConfig { breaker: breaker(3), strategy: Strategy::FailFast, ..config() };
    let (source, manager) = start(config).await;
    let seen = Seen::default();
    manager.add_callback(seen.callback()).unwrap();
    for _ in 0..3 {
        source.append(create("users"));
    }
    wait_delivered(&manager, 3).await;
    assert_eq!(manager.listener_breaker(), BreakerState::Closed);
    manager.check_available().unwrap();
    assert_eq!(source.subscribes(), 1);

    // The lost connection, then two failed subscribes: three failures open the breaker.
    cut_off(&source);
    wait_breaker(&manager, BreakerState::Open, 1).await;
    let attempts = source.subscribes();
    assert_eq!(attempts, 3, "the first subscribe and two failed ones");
    let stats = manager.get_stats();
    assert_eq!(stats.listener_reconnects, 3);
    assert!(!stats.listener_connected);
    match manager.check_available() {
        Err(SignalError::Unavailable { reason }) => assert!(reason.contains("open"), "{reason}"),
        other => panic!("expected Unavailable while the breaker is open, got {other:?}"),
    }

    // Committed while nobody listens: they wait in the log.
    for _ in 0..5 {
        source.append(create("users"));
    }
    assert_left_alone(&manager, &source, attempts, OPEN_FOR / 2).await;

    // After the open period one probe; it fails, and the breaker opens again for a full period.
    wait_until("the probe", || source.subscribes() > attempts).await;
    wait_breaker(&manager, BreakerState::Open, 2).await;
    assert_eq!(source.subscribes(), attempts + 1, "one probe");
    assert!(manager.check_available().is_err());
    assert_left_alone(&manager, &source, attempts + 1, OPEN_FOR / 2).await;

    // The next probe succeeds and closes it.
    heal(&source);
    wait_breaker(&manager, BreakerState::Closed, 2).await;
    assert_eq!(source.subscribes(), attempts + 2, "one more probe, and nothing else");
    manager.check_available().unwrap();
    source.append(create("users"));
    wait_delivered(&manager, 9).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(seen.ids(), (1..=9).collect::<Vec<i64>>(), "none lost, none twice");
    let stats = manager.get_stats();
    assert_eq!(stats.events_delivered, 9);
    assert_eq!(stats.listener_reconnects, 4, "three failures, then the failed probe");
    assert_eq!(stats.listener_breaker, BreakerState::Closed);
    assert_eq!(stats.listener_breaker_opened, 2);
    assert!(stats.listener_connected);
    assert_eq!(source.subscriber_count(), 1);
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_fallback_writes_go_on_while_the_breaker_is_open() {
    let (source, manager) = start(SignalConfig { breaker: breaker(2), ..config() }).await;
    assert_eq!(manager.config().strategy, Strategy::Fallback);
    let seen = Seen::default();
    manager.add_callback(seen.callback()).unwrap();

    cut_off(&source);
    wait_breaker(&manager, BreakerState::Open, 1).await;
    manager.check_available().unwrap();
    for _ in 0..4 {
        source.append(create("users"));
    }
    heal(&source);
    wait_breaker(&manager, BreakerState::Closed, 1).await;
    wait_delivered(&manager, 4).await;
    assert_eq!(seen.ids(), [1, 2, 3, 4]);
    manager.check_available().unwrap();
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_breaker_never_opens() {
    let (source, manager) = start(SignalConfig { breaker: BreakerConfig::disabled(), ..config() }).await;
    // Five failures in a row, which would open the default breaker.
    source.fail_next_subscribes(4);
    source.drop_doorbell();
    wait_until("the listener to come back", || {
        let stats = manager.get_stats();
        stats.listener_connected && stats.listener_reconnects == 5
    })
    .await;
    let stats = manager.get_stats();
    assert_eq!(stats.listener_breaker, BreakerState::Closed);
    assert_eq!(stats.listener_breaker_opened, 0);
    assert_eq!(source.subscribes(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_is_not_held_up_by_an_open_breaker() {
    let (source, manager) = start(SignalConfig { breaker: breaker(1), ..config() }).await;
    cut_off(&source);
    wait_breaker(&manager, BreakerState::Open, 1).await;
    let started = Instant::now();
    manager.shutdown().await;
    assert!(started.elapsed() < OPEN_FOR, "shutdown took {:?}", started.elapsed());
}

/// Five registrations a second, three at once.
fn limited() -> SignalConfig {
    SignalConfig { subscribe_limit: Some(RateLimit::per_second(5.0).burst(3)), ..config() }
}

fn expect_limited<T: std::fmt::Debug>(result: Result<T, SignalError>) -> Duration {
    match result {
        Err(SignalError::RateLimited { retry_after }) => {
            assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_millis(200), "{retry_after:?}");
            retry_after
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_beyond_the_burst_are_refused_until_the_budget_refills() {
    let (source, manager) = start(limited()).await;
    let seen = Seen::default();
    manager.add_callback(seen.callback()).unwrap();
    manager.add_callback_for(Subscription::table("users"), |_| async { Ok(()) }).unwrap();
    manager.channel::<serde_json::Value>("news").subscribe(|_| async { Ok(()) }).unwrap();

    // Every way of registering shares the budget, durable consumers included.
    expect_limited(manager.add_callback(|_| async { Ok(()) }));
    expect_limited(manager.add_callback_for(Subscription::table("users"), |_| async { Ok(()) }));
    expect_limited(manager.channel::<serde_json::Value>("news").subscribe(|_| async { Ok(()) }));
    let retry_after = expect_limited(manager.consumer("mail").start(|_| async { Ok(()) }).await);
    assert_eq!(manager.callback_count(), 3, "refused registrations register nothing");

    tokio::time::sleep(retry_after).await;
    manager.add_callback(|_| async { Ok(()) }).unwrap();
    expect_limited(manager.add_callback(|_| async { Ok(()) }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Admitted by the budget, then refused by the source, which keeps no consumers.
    let consumer = manager.consumer("mail").start(|_| async { Ok(()) }).await.err();
    assert!(matches!(consumer, Some(SignalError::NoConsumerLog)), "{consumer:?}");
    assert_eq!(manager.callback_count(), 4);

    // Refused registrations do not hold delivery up.
    source.append(create("users"));
    wait_delivered(&manager, 1).await;
    assert_eq!(seen.ids(), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_principal_has_a_budget_of_its_own() {
    let (_source, manager) = start(limited()).await;
    let of = |principal: &str| Subscription::table("projects").principal(principal);
    for _ in 0..3 {
        manager.add_callback_for(of("user_1"), |_| async { Ok(()) }).unwrap();
    }
    expect_limited(manager.add_callback_for(of("user_1"), |_| async { Ok(()) }));
    expect_limited(manager.consumer("audit").subscription(of("user_1")).start(|_| async { Ok(()) }).await);
    // Another principal, and registrations naming none, are not held up by user_1.
    manager.add_callback_for(of("user_2"), |_| async { Ok(()) }).unwrap();
    manager.add_callback(|_| async { Ok(()) }).unwrap();
    // Naming a principal whose budget is spent is refused, whichever others are named too.
    expect_limited(manager.add_callback_for(of("user_2").principal("user_1"), |_| async { Ok(()) }));
    assert_eq!(manager.callback_count(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_limit_registrations_are_not_counted() {
    let (_source, manager) = start(SignalConfig { max_callbacks: 1_000, ..config() }).await;
    assert_eq!(manager.config().subscribe_limit, None);
    for _ in 0..500 {
        manager.add_callback(|_| async { Ok(()) }).unwrap();
    }
    assert_eq!(manager.callback_count(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilience_settings_are_validated_at_start() {
    let bad = [
        SignalConfig { breaker: BreakerConfig::new(3, Duration::from_secs(1), Duration::ZERO), ..config() },
        SignalConfig { subscribe_limit: Some(RateLimit::per_second(1.0).burst(0)), ..config() },
    ];
    for (config, key) in bad.into_iter().zip(["signal.breaker.open_for", "signal.subscribe_limit"]) {
        match SignalManager::start(config, Arc::new(MemorySource::new())).await {
            Err(SignalError::Config(err)) => assert_eq!(err.key, key),
            other => panic!("expected a config error for {key}, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_beyond_the_emit_budget_are_refused_and_write_nothing() {
    let (_source, manager) = start(config()).await;
    let received: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&received);
    let news = manager.channel::<String>("news");
    news.subscribe(move |message| {
        sink.lock().unwrap().push(message.data);
        async { Ok(()) }
    })
    .unwrap();
    let limits = storehaus_resilience::RateLimits::local()
        .rule_per_principal("signals.emit", RateLimit::per_second(0.5).burst(2))
        .unwrap();
    manager.set_rate_limits(Some(limits));

    let alice = news.with_actor("alice");
    alice.publish(&"one".to_owned()).await.unwrap();
    alice.publish(&"two".to_owned()).await.unwrap();
    let retry_after = expect_limited_publish(alice.publish(&"three".to_owned()).await);
    assert!(retry_after > Duration::from_secs(1), "{retry_after:?}");
    // Another actor has a budget of its own; without limits nothing is counted.
    news.with_actor("bob").publish(&"four".to_owned()).await.unwrap();
    manager.set_rate_limits(None);
    alice.publish(&"five".to_owned()).await.unwrap();

    wait_until("four messages", || received.lock().unwrap().len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*received.lock().unwrap(), ["one", "two", "four", "five"]);
}

fn expect_limited_publish(result: Result<(), SignalError>) -> Duration {
    match result {
        Err(SignalError::RateLimited { retry_after }) => retry_after,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

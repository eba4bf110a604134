use super::*;

fn config(open_for_ms: u64) -> BreakerConfig {
    BreakerConfig::new(3, Duration::from_secs(10), Duration::from_millis(open_for_ms))
}

#[test]
fn opens_after_the_threshold_then_probes_once_and_closes() {
    let breaker = CircuitBreaker::new("test", config(30));
    for _ in 0..2 {
        breaker.allow().unwrap().failure();
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    breaker.allow().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    let refused = breaker.allow().unwrap_err();
    assert_eq!(refused.state, BreakerState::Open);
    std::thread::sleep(Duration::from_millis(35));
    let probe = breaker.allow().unwrap();
    assert!(probe.is_probe());
    assert_eq!(breaker.allow().unwrap_err().state, BreakerState::HalfOpen);
    probe.success();
    assert_eq!(breaker.state(), BreakerState::Closed);
    let stats = breaker.stats();
    assert_eq!((stats.opened, stats.short_circuited, stats.closed_by_probe), (1, 2, 1));
}

#[test]
fn a_failed_probe_opens_again_and_a_dropped_one_lets_another_probe() {
    let breaker = CircuitBreaker::new("test", config(10));
    breaker.trip();
    std::thread::sleep(Duration::from_millis(12));
    breaker.allow().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.stats().opened, 2);
    std::thread::sleep(Duration::from_millis(12));
    drop(breaker.allow().unwrap());
    assert!(breaker.allow().unwrap().is_probe());
}

#[test]
fn failures_outside_the_window_do_not_open_and_zero_never_opens() {
    let breaker = CircuitBreaker::new("test", BreakerConfig::new(2, Duration::from_millis(10), Duration::from_secs(1)));
    breaker.allow().unwrap().failure();
    std::thread::sleep(Duration::from_millis(15));
    breaker.allow().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Closed);
    breaker.allow().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    let never = CircuitBreaker::new("off", BreakerConfig::disabled());
    for _ in 0..100 {
        never.allow().unwrap().failure();
    }
    assert_eq!(never.state(), BreakerState::Closed);
}

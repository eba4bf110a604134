//! Counters and claims.

use std::time::{Duration, Instant};

use crate::Setup;

crate::on_both_backends!(counters_count_within_their_window, claims_belong_to_their_owner, claims_expire_and_extend);

async fn counters_count_within_their_window(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    // Long enough that a stalled machine does not end the window between two calls.
    let window = Duration::from_secs(2);
    let key = ctx.space.counter("api-calls");

    assert_eq!(cache.get_counter(&key).await.unwrap(), 0);
    let started = Instant::now();
    assert_eq!(cache.incr(&key, 1, Some(window)).await.unwrap(), 1);
    assert_eq!(cache.incr(&key, 5, Some(Duration::from_secs(3600))).await.unwrap(), 6);
    let ttl = cache.ttl(&key).await.unwrap().expect("the window is set by the first increment");
    assert!(ttl <= window, "later increments keep the window: {ttl:?}");
    let value = cache.get_counter(&key).await.unwrap();
    assert!(value == 6 || started.elapsed() >= window, "{value}");

    tokio::time::sleep(window + Duration::from_millis(600)).await;
    assert_eq!(cache.get_counter(&key).await.unwrap(), 0, "the window ended");
    assert_eq!(cache.incr(&key, -2, Some(window)).await.unwrap(), -2, "a new window starts");

    let total = ctx.space.counter("total");
    assert_eq!(cache.incr(&total, 10, None).await.unwrap(), 10);
    assert_eq!(cache.incr(&total, -3, None).await.unwrap(), 7);
    assert_eq!(cache.ttl(&total).await.unwrap(), None);

    let text = ctx.space.kv("text");
    cache.set(&text, &"abc", None).await.unwrap();
    assert!(cache.incr(&text, 1, None).await.is_err(), "not a counter");
    assert!(cache.get_counter(&text).await.is_err());
}

async fn claims_belong_to_their_owner(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let key = ctx.space.claim("nightly-report");
    let ttl = Duration::from_secs(30);

    let alice = cache.claim(&key, "alice", ttl).await.unwrap().expect("free key");
    assert_eq!((alice.key(), alice.owner()), (key.as_str(), "alice"));
    assert!(cache.claim(&key, "bob", ttl).await.unwrap().is_none(), "held by alice");
    assert!(cache.claim(&key, "alice", ttl).await.unwrap().is_none(), "not re-entrant");
    assert_eq!(cache.claim_owner(&key).await.unwrap().as_deref(), Some("alice"));

    // Bob's claim on another key does not open alice's.
    let other = ctx.space.claim("other");
    let bob = cache.claim(&other, "bob", ttl).await.unwrap().unwrap();
    assert!(cache.release(&bob).await.unwrap());
    assert_eq!(cache.claim_owner(&key).await.unwrap().as_deref(), Some("alice"));

    assert!(cache.release(&alice).await.unwrap());
    assert!(!cache.release(&alice).await.unwrap(), "released once");
    let bob = cache.claim(&key, "bob", ttl).await.unwrap().expect("free again");
    // Alice's old claim is not bob's: releasing or extending it does nothing.
    assert!(!cache.release(&alice).await.unwrap());
    assert!(!cache.extend(&alice, ttl).await.unwrap());
    assert_eq!(cache.claim_owner(&key).await.unwrap().as_deref(), Some("bob"));
    assert!(cache.release(&bob).await.unwrap());
    assert_eq!(cache.claim_owner(&key).await.unwrap(), None);
}

async fn claims_expire_and_extend(setup: Setup) {
    let Some(ctx) = setup.ctx(|_| {}).await else { return };
    let cache = &ctx.manager;
    let short = Duration::from_millis(400);

    let key = ctx.space.claim("job");
    let first = cache.claim(&key, "worker-1", short).await.unwrap().unwrap();
    tokio::time::sleep(short + Duration::from_millis(600)).await;
    assert_eq!(cache.claim_owner(&key).await.unwrap(), None, "expired");
    let second = cache.claim(&key, "worker-1", Duration::from_secs(30)).await.unwrap().expect("free after expiry");
    assert!(!cache.release(&first).await.unwrap(), "the expired claim cannot release the new one");
    assert!(cache.release(&second).await.unwrap());

    let key = ctx.space.claim("long-job");
    let initial = Duration::from_millis(1500);
    let claim = cache.claim(&key, "worker-2", initial).await.unwrap().unwrap();
    assert!(cache.extend(&claim, Duration::from_secs(30)).await.unwrap());
    tokio::time::sleep(initial + Duration::from_millis(600)).await;
    assert_eq!(cache.claim_owner(&key).await.unwrap().as_deref(), Some("worker-2"), "extended");
    let ttl = cache.ttl(&key).await.unwrap().unwrap();
    assert!(ttl > Duration::from_secs(20), "{ttl:?}");
    assert!(cache.release(&claim).await.unwrap());
}

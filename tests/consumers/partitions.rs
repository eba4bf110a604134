//! Members running the same consumer share its partitions: each event is handled once, never
//! by two members at a time, and one row's events stay in order.

use super::*;
use std::collections::{BTreeMap, HashSet};

/// What the members of one consumer did: per event, how often it was handled; and whether any
/// event was ever in flight in two members at once.
#[derive(Debug, Default)]
struct Ledger {
    handled: BTreeMap<String, u32>,
    in_flight: HashSet<i64>,
    overlaps: u32,
    by_member: BTreeMap<&'static str, u32>,
    order: BTreeMap<String, Vec<i64>>,
}

/// A member on a manager of its own (so a membership of its own).
async fn member(db: &impl TestBackend, label: &'static str, ledger: &Arc<Mutex<Ledger>>) -> Member {
    let storehaus = db.storehaus().await;
    let manager =
        storehaus.signal_manager(SignalConfig { heartbeat_seconds: 2, ..SignalConfig::default() }).await.unwrap();
    let ledger = ledger.clone();
    let consumer = manager
        .consumer("shared")
        .partitions(4)
        .subscription(Subscription::table("orders"))
        .start(move |event| {
            let ledger = ledger.clone();
            async move {
                {
                    let mut l = ledger.lock().unwrap();
                    if !l.in_flight.insert(event.id) {
                        l.overlaps += 1;
                    }
                }
                tokio::time::sleep(Duration::from_micros(300)).await;
                let mut l = ledger.lock().unwrap();
                l.in_flight.remove(&event.id);
                *l.handled.entry(event.record_id.clone()).or_default() += 1;
                *l.by_member.entry(label).or_default() += 1;
                l.order.entry(event.record_id.clone()).or_default().push(event.id);
                Ok(())
            }
        })
        .await
        .unwrap();
    Member { _storehaus: storehaus, manager, consumer }
}

/// Members `a` and `b` of consumer `shared`, writing to one ledger.
async fn two_members(db: &impl TestBackend) -> (Arc<Mutex<Ledger>>, Member, Member) {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let a = member(db, "a", &ledger).await;
    let b = member(db, "b", &ledger).await;
    (ledger, a, b)
}

/// One member: its own pool, manager and consumer.
struct Member {
    _storehaus: StoreHaus,
    manager: Arc<SignalManager>,
    consumer: Consumer,
}

on_both_backends! {
    async fn two_members_split_the_partitions_and_handle_each_event_once(db) {
        let s = setup(&db).await;
        let (ledger, member_a, member_b) = two_members(&db).await;
        let (manager_a, a) = (&member_a.manager, &member_a.consumer);
        let (manager_b, b) = (&member_b.manager, &member_b.consumer);
        assert!(
            eventually(Duration::from_secs(10), async || a.stats().partitions_held == 2 && b.stats().partitions_held == 2)
                .await,
            "a {:?}, b {:?}",
            a.stats(),
            b.stats()
        );

        let mut ids = Vec::new();
        for i in 0..100 {
            let created = s.orders.create(order(&format!("c{i}")), None).await.unwrap();
            s.orders.update(&created.id, Order { total: 200, ..created.clone().into_inner() }, None).await.unwrap();
            ids.push(created.id.to_string());
        }
        assert!(
            eventually(Duration::from_secs(20), async || ledger.lock().unwrap().handled.values().sum::<u32>() == 200).await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        {
            let l = ledger.lock().unwrap();
            assert_eq!(l.handled.values().sum::<u32>(), 200, "each event once");
            assert!(ids.iter().all(|id| l.handled.get(id) == Some(&2)), "both events of every row");
            assert_eq!(l.overlaps, 0, "never in flight twice");
            assert!(l.by_member.values().all(|n| *n > 0), "both members worked: {:?}", l.by_member);
            assert!(l.order.values().all(|e| e.windows(2).all(|w| w[0] < w[1])), "one row's events in order");
        }
        a.stop().await;
        b.stop().await;
        manager_a.shutdown().await;
        manager_b.shutdown().await;
        s.manager.shutdown().await;
    }

    async fn when_a_member_stops_the_other_takes_its_partitions_over(db) {
        let s = setup(&db).await;
        let (ledger, member_a, member_b) = two_members(&db).await;
        let (manager_a, a) = (&member_a.manager, &member_a.consumer);
        let (manager_b, b) = (&member_b.manager, &member_b.consumer);
        assert!(eventually(Duration::from_secs(10), async || b.stats().partitions_held == 2).await);
        b.stop().await;
        assert!(eventually(Duration::from_secs(10), async || a.stats().partitions_held == 4).await, "{:?}", a.stats());

        for i in 0..40 {
            s.orders.create(order(&format!("c{i}")), None).await.unwrap();
        }
        assert!(
            eventually(Duration::from_secs(10), async || ledger.lock().unwrap().handled.values().sum::<u32>() == 40).await
        );
        assert_eq!(ledger.lock().unwrap().by_member.get("b"), None, "only the member left handled them");
        a.stop().await;
        manager_a.shutdown().await;
        manager_b.shutdown().await;
        s.manager.shutdown().await;
    }
}

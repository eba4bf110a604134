//! Failing callbacks are retried with backoff; one that keeps failing becomes a dead letter, the
//! consumer moves on, and a replay after a fix delivers it.

use super::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// A consumer whose callback fails for the orders of `customer` until `fixed`, and fails the
/// first `flaky` attempts of every other event; it records successful calls and counts attempts.
async fn flaky_consumer(
    s: &Setup,
    name: &str,
    max_attempts: u32,
    flaky: u32,
    fixed: Arc<AtomicBool>,
    calls: &Inbox,
    attempts: Arc<Mutex<HashMap<String, u32>>>,
) -> Consumer {
    let calls = calls.clone();
    s.manager
        .consumer(name)
        .subscription(Subscription::table("orders"))
        .max_attempts(max_attempts)
        .retry_backoff(Duration::from_millis(5), Duration::from_millis(20))
        .start(move |event| {
            let (calls, attempts, fixed) = (calls.clone(), attempts.clone(), fixed.clone());
            async move {
                let attempt = {
                    let mut attempts = attempts.lock().unwrap();
                    let n = attempts.entry(event.record_id.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                if event.payload["customer"] == "broken" && !fixed.load(Ordering::SeqCst) {
                    return Err(format!("no mail server for {}", event.record_id).into());
                }
                if attempt <= flaky {
                    return Err("temporarily unavailable".into());
                }
                calls.push(event);
                Ok(())
            }
        })
        .await
        .unwrap()
}

on_both_backends! {
    async fn a_callback_failing_three_times_succeeds_on_the_fourth_attempt(db) {
        let s = setup(&db).await;
        let (calls, attempts) = (Inbox::default(), Arc::new(Mutex::new(HashMap::new())));
        let consumer = flaky_consumer(&s, "flaky", 5, 3, Arc::default(), &calls, attempts.clone()).await;

        let first = s.orders.create(order("a"), None).await.unwrap().id.to_string();
        let second = s.orders.create(order("b"), None).await.unwrap().id.to_string();
        assert_eq!(calls.wait_for(2, Duration::from_secs(10)).await.len(), 2);
        assert_eq!(calls.record_ids(), [first.clone(), second.clone()], "the retry held the second back: order kept");
        assert_eq!(attempts.lock().unwrap()[&first], 4);
        let stats = consumer.stats();
        assert_eq!((stats.handled, stats.failed_attempts, stats.dead_lettered), (2, 6, 0));
        assert!(consumer.dead_letters().list().await.unwrap().is_empty());
        consumer.stop().await;
        s.manager.shutdown().await;
    }

    async fn an_event_that_keeps_failing_becomes_a_dead_letter_and_a_replay_delivers_it(db) {
        let s = setup(&db).await;
        let fixed = Arc::new(AtomicBool::new(false));
        let (calls, attempts) = (Inbox::default(), Arc::new(Mutex::new(HashMap::new())));
        let consumer = flaky_consumer(&s, "mail", 3, 0, fixed.clone(), &calls, attempts.clone()).await;

        let broken = s.orders.create(order("broken"), None).await.unwrap();
        let fine = s.orders.create(order("fine"), None).await.unwrap();
        assert_eq!(calls.wait_for(1, Duration::from_secs(10)).await.len(), 1);
        assert_eq!(calls.record_ids(), [fine.id.to_string()], "the consumer moved on past the dead letter");

        let letters = s.manager.dead_letters("mail").unwrap().list().await.unwrap();
        assert_eq!(letters.len(), 1);
        let letter = &letters[0];
        assert_eq!((letter.consumer.as_str(), letter.attempts), ("mail", 3));
        assert_eq!(letter.event.record_id, broken.id.to_string());
        assert_eq!(letter.event.payload["customer"], "broken", "the whole event is kept");
        assert!(letter.error.contains("no mail server"), "{}", letter.error);
        assert!(!letter.replay_requested);
        assert_eq!(attempts.lock().unwrap()[&broken.id.to_string()], 3);
        assert_eq!(consumer.stats().dead_lettered, 1);
        let last = last_event_id(&s.storehaus).await;
        assert!(eventually(Duration::from_secs(5), async || positions(&s.storehaus, "mail").await == [last]).await);

        // Replaying before the fix fails again and keeps the letter with the new attempt count.
        assert!(consumer.dead_letters().replay(letter.event.id).await.unwrap());
        assert!(
            eventually(Duration::from_secs(10), async || {
                let letters = consumer.dead_letters().list().await.unwrap();
                letters.len() == 1 && letters[0].attempts == 6 && !letters[0].replay_requested
            })
            .await,
            "{:?}",
            consumer.dead_letters().list().await
        );

        fixed.store(true, Ordering::SeqCst);
        assert!(consumer.dead_letters().replay(letter.event.id).await.unwrap());
        assert_eq!(calls.wait_for(2, Duration::from_secs(10)).await.len(), 2);
        assert_eq!(calls.record_ids(), [fine.id.to_string(), broken.id.to_string()]);
        assert!(eventually(Duration::from_secs(5), async || consumer.dead_letters().list().await.unwrap().is_empty()).await);
        // Counted once the letter is settled.
        assert!(eventually(Duration::from_secs(5), async || consumer.stats().replayed == 1).await);
        assert!(!consumer.dead_letters().replay(letter.event.id).await.unwrap(), "nothing left to replay");
        consumer.stop().await;
        s.manager.shutdown().await;
    }

    async fn a_discarded_dead_letter_is_gone_and_timeouts_count_as_failures(db) {
        let s = setup(&db).await;
        let consumer = s
            .manager
            .consumer("slow")
            .max_attempts(2)
            .timeout(Duration::from_millis(50))
            .retry_backoff(Duration::from_millis(5), Duration::from_millis(10))
            .start(|_| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await
            .unwrap();
        let created = s.orders.create(order("a"), None).await.unwrap();
        let dead = s.manager.dead_letters("slow").unwrap();
        assert!(eventually(Duration::from_secs(10), async || dead.list().await.unwrap().len() == 1).await);
        let letter = dead.list().await.unwrap().remove(0);
        assert_eq!(letter.event.record_id, created.id.to_string());
        assert!(letter.error.contains("timed out"), "{}", letter.error);
        assert_eq!(consumer.stats().failed_attempts, 2);

        assert!(dead.discard(letter.event.id).await.unwrap());
        assert!(dead.list().await.unwrap().is_empty());
        assert!(!dead.discard(letter.event.id).await.unwrap(), "discarding twice finds nothing");
        consumer.stop().await;
        s.manager.shutdown().await;
    }
}

//! Streams: consumer groups that lose a consumer mid-batch still process every message and
//! acknowledge each exactly once; `max_len` trims.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use storehaus::cache::shared::{Namespace, SharedStore, StreamAppend, StreamGroup};

use crate::on_both;

const MESSAGES: usize = 10_000;
/// Tasks appending at once.
const WRITERS: usize = 8;
/// What the consumer that dies takes with it.
const LOST_BATCH: usize = 250;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Job {
    n: usize,
}

/// Appends `MESSAGES` jobs from `WRITERS` tasks; returns the job number of each id.
async fn append_jobs(store: &SharedStore, stream: &str) -> HashMap<String, usize> {
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, stream) = (store.clone(), stream.to_owned());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in (writer..MESSAGES).step_by(WRITERS) {
                    ids.push((store.streams().append(&stream, &Job { n }, StreamAppend::default()).await.unwrap(), n));
                }
                ids
            })
        })
        .collect();
    let mut jobs = HashMap::new();
    for writer in writers {
        jobs.extend(writer.await.unwrap());
    }
    assert_eq!(jobs.len(), MESSAGES, "every append has an id of its own");
    jobs
}

/// What the consumers did, per message id.
#[derive(Default)]
struct Ledger {
    processed: HashMap<String, u32>,
    acked: HashMap<String, u32>,
    ack_replies: u64,
}

/// Processes one batch: checks each payload, records it, acknowledges the batch.
async fn process(
    group: &StreamGroup,
    batch: Vec<storehaus::cache::shared::StreamMessage<Job>>,
    jobs: &HashMap<String, usize>,
    ledger: &Mutex<Ledger>,
) {
    let ids: Vec<String> = batch.iter().map(|message| message.id.clone()).collect();
    for message in &batch {
        assert_eq!(jobs.get(&message.id), Some(&message.data.n), "message {} has the wrong payload", message.id);
        *ledger.lock().unwrap().processed.entry(message.id.clone()).or_default() += 1;
    }
    let acked = group.ack("jobs", &ids).await.unwrap();
    assert_eq!(acked, ids.len() as u64, "every id of the batch was pending");
    let mut ledger = ledger.lock().unwrap();
    ledger.ack_replies += acked;
    for id in ids {
        *ledger.acked.entry(id).or_default() += 1;
    }
}

on_both! {
    /// Three consumers share 10 000 messages; one dies holding a batch, a survivor claims it.
    async fn dead_consumer_batch_is_claimed(env) {
        let store = env.store();
        let jobs = Arc::new(append_jobs(&store, "jobs").await);
        assert_eq!(store.streams().len("jobs").await.unwrap(), MESSAGES as u64);
        assert_eq!(env.raw_stream_len(&store.key(Namespace::Streams, "jobs")).await, MESSAGES as u64);

        let group = |consumer: &str| store.streams().group("processors", consumer);
        assert!(group("first").ensure("jobs", "0").await.unwrap());
        assert!(!group("second").ensure("jobs", "0").await.unwrap(), "the group exists already");

        let victim = group("victim");
        let (taken, lost) = tokio::sync::oneshot::channel();
        let doomed = tokio::spawn(async move {
            let batch = victim.read::<Job>("jobs", LOST_BATCH, None).await.unwrap();
            let _ = taken.send(batch.into_iter().map(|message| message.id).collect::<BTreeSet<_>>());
            std::future::pending::<()>().await;
        });
        let lost = lost.await.unwrap();
        doomed.abort();
        assert!(doomed.await.unwrap_err().is_cancelled());
        assert_eq!(lost.len(), LOST_BATCH);
        let pending = group("first").pending("jobs").await.unwrap();
        assert_eq!(pending.count, LOST_BATCH as u64);
        assert_eq!(pending.consumers, vec![("victim".to_owned(), LOST_BATCH as u64)]);

        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let survivors: Vec<_> = ["first", "second"]
            .into_iter()
            .map(|name| {
                let (group, jobs, ledger) = (group(name), Arc::clone(&jobs), Arc::clone(&ledger));
                tokio::spawn(async move {
                    loop {
                        let batch = group.read::<Job>("jobs", 200, None).await.unwrap();
                        if batch.is_empty() {
                            return;
                        }
                        process(&group, batch, &jobs, &ledger).await;
                    }
                })
            })
            .collect();
        for survivor in survivors {
            survivor.await.unwrap();
        }
        assert_eq!(group("first").pending("jobs").await.unwrap().count, LOST_BATCH as u64);

        // Only the dead consumer's batch is left, so claiming cannot take a live one's work.
        let rescuer = group("second");
        let mut claimed = BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while rescuer.pending("jobs").await.unwrap().count > 0 {
            assert!(Instant::now() < deadline, "the lost batch was never claimed");
            let batch = rescuer.claim_stale::<Job>("jobs", Duration::from_millis(100), 100).await.unwrap();
            if batch.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            claimed.extend(batch.iter().map(|message| message.id.clone()));
            process(&rescuer, batch, &jobs, &ledger).await;
        }
        assert_eq!(claimed, lost, "the survivor claimed exactly the lost batch");

        {
            let ledger = ledger.lock().unwrap();
            let all: BTreeSet<&String> = jobs.keys().collect();
            assert_eq!(ledger.processed.keys().collect::<BTreeSet<_>>(), all, "every message processed");
            assert_eq!(ledger.acked.keys().collect::<BTreeSet<_>>(), all, "every message acknowledged");
            assert!(ledger.acked.values().all(|&times| times == 1), "a message was acknowledged twice");
            assert_eq!(ledger.ack_replies, MESSAGES as u64);
        }
        let pending = group("first").pending("jobs").await.unwrap();
        assert_eq!((pending.count, pending.lowest, pending.highest), (0, None, None));
    }

    /// `max_len` trims on append: approximately by default, exactly with `exact()`.
    async fn max_len_trims(env) {
        let store = env.store();
        for n in 0..1_000 {
            store.streams().append("approx", &Job { n }, StreamAppend::max_len(100)).await.unwrap();
            store.streams().append("exact", &Job { n }, StreamAppend::max_len(100).exact()).await.unwrap();
        }
        let approx = store.streams().len("approx").await.unwrap();
        assert!((100..500).contains(&approx), "MAXLEN ~ 100 left {approx} entries");
        assert_eq!(env.raw_stream_len(&store.key(Namespace::Streams, "approx")).await, approx);
        assert_eq!(store.streams().len("exact").await.unwrap(), 100);
        assert_eq!(env.raw_stream_len(&store.key(Namespace::Streams, "exact")).await, 100);

        // The newest entries stay.
        let reader = store.streams().group("readers", "r1");
        assert!(reader.ensure("exact", "0").await.unwrap());
        let kept = reader.read::<Job>("exact", 1_000, None).await.unwrap();
        let kept: Vec<usize> = kept.into_iter().map(|message| message.data.n).collect();
        assert_eq!(kept, (900..1_000).collect::<Vec<_>>());
        assert_eq!(store.streams().len("missing").await.unwrap(), 0);
    }

    /// An entry that does not decode is counted, not returned, and stays pending.
    async fn undecodable_entry_stays_pending(env) {
        let store = env.store();
        store.streams().append("jobs", &"not a job", StreamAppend::default()).await.unwrap();
        store.streams().append("jobs", &Job { n: 7 }, StreamAppend::default()).await.unwrap();
        let group = store.streams().group("g", "c");
        group.ensure("jobs", "0").await.unwrap();
        let read = group.read::<Job>("jobs", 10, Some(Duration::from_millis(100))).await.unwrap();
        assert_eq!(read.iter().map(|message| message.data.clone()).collect::<Vec<_>>(), vec![Job { n: 7 }]);
        assert_eq!(store.stats().invalid_payloads, 1);
        assert_eq!(group.ack("jobs", &[read[0].id.clone()]).await.unwrap(), 1);
        assert_eq!(group.pending("jobs").await.unwrap().count, 1);
    }

    /// A blocking read outlasts the call timeout, holds up no other call, and wakes on an append.
    async fn blocking_read(env) {
        let store = env.builder().timeout(Duration::from_millis(500)).build().unwrap();
        store.streams().append("s", &Job { n: 0 }, StreamAppend::default()).await.unwrap();
        let group = store.streams().group("g", "c");
        assert!(group.ensure("s", "$").await.unwrap());

        let started = Instant::now();
        let read = group.read::<Job>("s", 10, Some(Duration::from_millis(800))).await.unwrap();
        assert!(read.is_empty(), "`$` skips the entries already there: {read:?}");
        assert!(started.elapsed() >= Duration::from_millis(700), "returned after {:?}", started.elapsed());
        let started = Instant::now();
        assert!(group.read::<Job>("s", 10, Some(Duration::ZERO)).await.unwrap().is_empty());
        assert!(started.elapsed() < Duration::from_millis(400), "a zero block waited {:?}", started.elapsed());

        let reader = {
            let group = group.clone();
            tokio::spawn(async move { group.read::<Job>("s", 10, Some(Duration::from_secs(3))).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        store.kv().set("k", &1, None).await.unwrap();
        assert_eq!(store.kv().get::<u32>("k").await.unwrap(), Some(1));
        assert!(started.elapsed() < Duration::from_millis(400), "held up by a blocking read");
        store.streams().append("s", &Job { n: 1 }, StreamAppend::default()).await.unwrap();
        let appended = Instant::now();
        let read = tokio::time::timeout(Duration::from_secs(2), reader).await.expect("woken").unwrap().unwrap();
        assert_eq!(read.into_iter().map(|message| message.data).collect::<Vec<_>>(), vec![Job { n: 1 }]);
        assert!(appended.elapsed() < Duration::from_secs(1));
    }

    /// Commands on the wrong kind of key, or a missing group, are refused.
    async fn refused_commands(env) {
        let store = env.store();
        env.raw_set(&store.key(Namespace::Streams, "text"), b"\"x\"").await;
        let code = "STORE_OPERATION_FAILED";
        crate::expect_code(store.streams().append("text", &Job { n: 1 }, StreamAppend::default()).await, code);
        crate::expect_code(store.streams().group("g", "c").ensure("text", "0").await, code);
        store.streams().append("jobs", &Job { n: 1 }, StreamAppend::default()).await.unwrap();
        let missing = store.streams().group("missing", "c");
        let error = crate::expect_code(missing.read::<Job>("jobs", 10, None).await, code);
        assert!(!error.is_transient());
        assert_eq!(store.streams().len("jobs").await.unwrap(), 1);
    }
}

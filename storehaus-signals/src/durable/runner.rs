//! Running a durable consumer: a coordinator that holds a fair share of the partitions, and a
//! worker per partition held that reads its events and runs the callback.

use super::builder::Counters;
use super::retry::RetryPolicy;
use super::{Claim, ConsumerLog, DeadLetter, Membership};
use crate::callback::Callback;
use crate::manager::Backoff;
use crate::{DatabaseEvent, SourceError, Subscription};
use futures_util::FutureExt;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

/// How often the coordinator counts the processes and evens the partitions out.
const REBALANCE: Duration = Duration::from_secs(1);

/// How long a worker with nothing to do waits before reading again, when no news came.
const POLL: Duration = Duration::from_secs(1);

/// Everything a consumer's tasks share.
pub(crate) struct Job {
    pub(crate) log: Arc<dyn ConsumerLog>,
    pub(crate) name: String,
    pub(crate) partitions: u32,
    pub(crate) subscription: Subscription,
    pub(crate) callback: Callback,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) batch: usize,
    pub(crate) counters: Arc<Counters>,
    /// Bumped by the manager's listener when it read new events.
    pub(crate) news: watch::Receiver<u64>,
    pub(crate) stop: watch::Receiver<bool>,
}

type Shared = Arc<Mutex<Box<dyn Membership>>>;

/// Runs until the consumer is stopped; a lost membership (its connection) is joined again after
/// a backoff, and the partitions are taken again from their saved positions.
pub(crate) async fn run(job: Arc<Job>) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut stop = job.stop.clone();
    loop {
        match session(&job).await {
            Ok(()) => return,
            Err(error) => {
                job.counters.session_failures.fetch_add(1, Ordering::Relaxed);
                job.counters.partitions_held.store(0, Ordering::Relaxed);
                let delay = backoff.next_delay();
                tracing::warn!(consumer = %job.name, %error, retry_in_ms = delay.as_millis() as u64, "durable consumer lost its membership; joining again");
                if stopped_within(&mut stop, delay).await {
                    return;
                }
            }
        }
    }
}

/// A partition's worker and how to stop it.
struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), SourceError>>,
}

impl Worker {
    async fn stop(self) -> Result<(), SourceError> {
        self.stop.send_replace(true);
        self.task.await.unwrap_or_else(|_| Err("a consumer worker panicked".into()))
    }
}

/// One membership: holds `ceil(partitions / processes)` partitions, letting go of extra ones
/// when another process joins and taking free ones when one leaves.
async fn session(job: &Arc<Job>) -> Result<(), SourceError> {
    let membership: Shared = Arc::new(Mutex::new(job.log.join(&job.name).await?));
    let mut workers: BTreeMap<u32, Worker> = BTreeMap::new();
    let mut stop = job.stop.clone();
    let result = async {
        loop {
            if let Some(partition) = workers.iter().find(|(_, w)| w.task.is_finished()).map(|(p, _)| *p) {
                // A worker ends on its own only when its membership failed.
                let worker = workers.remove(&partition).expect("present");
                worker.stop().await?;
                return Err(format!("the worker of partition {partition} stopped").into());
            }
            let members = membership.lock().await.members().await?.max(1);
            let fair = job.partitions.div_ceil(members) as usize;
            while workers.len() > fair {
                let (partition, worker) = workers.pop_last().expect("more than fair");
                worker.stop().await?;
                membership.lock().await.release(partition).await?;
            }
            for partition in 0..job.partitions {
                if workers.len() >= fair {
                    break;
                }
                if workers.contains_key(&partition) {
                    continue;
                }
                let claim = membership.lock().await.claim(partition).await?;
                if let Some(claim) = claim {
                    workers.insert(partition, spawn_worker(job, &membership, claim));
                }
            }
            job.counters.partitions_held.store(workers.len(), Ordering::Relaxed);
            if stopped_within(&mut stop, REBALANCE).await {
                return Ok(());
            }
        }
    }
    .await;
    for (_, worker) in std::mem::take(&mut workers) {
        let _ = worker.stop().await;
    }
    job.counters.partitions_held.store(0, Ordering::Relaxed);
    if let Err(error) = membership.lock().await.leave().await {
        tracing::debug!(consumer = %job.name, %error, "leaving a durable consumer's membership failed; its holds expire");
    }
    result
}

fn spawn_worker(job: &Arc<Job>, membership: &Shared, claim: Claim) -> Worker {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(work(Arc::clone(job), Arc::clone(membership), claim, stopped));
    Worker { stop, task }
}

/// Whether `stop` was set within `delay` (or before).
async fn stopped_within(stop: &mut watch::Receiver<bool>, delay: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    let _ = tokio::time::timeout(delay, stop.wait_for(|stopped| *stopped)).await;
    *stop.borrow()
}

/// How delivering one event ended.
enum Outcome {
    Handled,
    /// Every attempt failed; the last error and the attempts made.
    Failed(String, u32),
    /// The worker was stopped between attempts; the event stays for the next holder.
    Stopped,
}

/// Handles the events of one partition from its saved position until stopped.
async fn work(
    job: Arc<Job>,
    membership: Shared,
    claim: Claim,
    mut stop: watch::Receiver<bool>,
) -> Result<(), SourceError> {
    let partition = claim.partition;
    if let Some(missed) = claim.missed {
        job.counters.missed_ranges.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            consumer = %job.name, partition, after = missed.after, through = missed.through,
            "durable consumer fell behind its maximum lag: retention pruned events it had not handled"
        );
        membership.lock().await.clear_missed(partition).await?;
    }
    let mut news = job.news.clone();
    let mut position = claim.position;
    let mut saved = position;
    // Replays are asked for by hand: looked for once a poll interval, not before every read.
    let mut replays_due = tokio::time::Instant::now();
    'reading: loop {
        if *stop.borrow() {
            break;
        }
        if tokio::time::Instant::now() >= replays_due {
            replay_requested(&job, &membership, partition, &mut stop).await?;
            replays_due = tokio::time::Instant::now() + POLL;
        }
        news.borrow_and_update();
        let events = job.log.read_partition(position, partition, job.partitions, job.batch).await?;
        if events.is_empty() {
            let woken = async {
                let _ = tokio::time::timeout(POLL, news.changed()).await;
            };
            let stopped = stop.wait_for(|stopped| *stopped);
            futures_util::future::select(std::pin::pin!(woken), std::pin::pin!(stopped)).await;
            continue;
        }
        for event in events {
            let id = event.id;
            if !job.subscription.matches(&event) {
                job.counters.passed_over.fetch_add(1, Ordering::Relaxed);
                position = id;
                continue;
            }
            match deliver(&job, &event, 0, &mut stop).await {
                Outcome::Handled => job.counters.handled.fetch_add(1, Ordering::Relaxed),
                Outcome::Stopped => break 'reading,
                Outcome::Failed(error, attempts) => {
                    let letter = DeadLetter::new(job.name.clone(), partition, event, error, attempts);
                    membership.lock().await.dead_letter(partition, &letter).await?;
                    saved = id;
                    tracing::error!(consumer = %job.name, event = id, attempts, error = %letter.error, "event set aside as a dead letter");
                    job.counters.dead_lettered.fetch_add(1, Ordering::Relaxed)
                }
            };
            position = id;
            if *stop.borrow() {
                break;
            }
        }
        if saved != position {
            membership.lock().await.advance(partition, position).await?;
            saved = position;
        }
    }
    if saved != position {
        membership.lock().await.advance(partition, position).await?;
    }
    Ok(())
}

/// Delivers the dead letters of `partition` whose replay was asked for.
async fn replay_requested(
    job: &Job,
    membership: &Shared,
    partition: u32,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), SourceError> {
    let letters = membership.lock().await.replays(partition).await?;
    for letter in letters {
        match deliver(job, &letter.event, letter.attempts, stop).await {
            Outcome::Handled => {
                membership.lock().await.settle_replay(letter.event.id, None).await?;
                job.counters.handled.fetch_add(1, Ordering::Relaxed);
                job.counters.replayed.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Failed(error, attempts) => {
                membership.lock().await.settle_replay(letter.event.id, Some((&error, attempts))).await?;
            }
            Outcome::Stopped => return Ok(()),
        }
    }
    Ok(())
}

/// Runs the callback until it succeeds or `max_attempts` runs failed, waiting a jittered,
/// doubling delay between runs. `before` counts attempts made earlier (for replays).
async fn deliver(job: &Job, event: &DatabaseEvent, before: u32, stop: &mut watch::Receiver<bool>) -> Outcome {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let run = AssertUnwindSafe((job.callback)(event.clone())).catch_unwind();
        let error = match tokio::time::timeout(job.timeout, run).await {
            Ok(Ok(Ok(()))) => return Outcome::Handled,
            Ok(Ok(Err(error))) => error.to_string(),
            Ok(Err(_panic)) => "the callback panicked".to_owned(),
            Err(_elapsed) => format!("timed out after {:?}", job.timeout),
        };
        job.counters.failed_attempts.fetch_add(1, Ordering::Relaxed);
        if attempt >= job.retry.max_attempts {
            return Outcome::Failed(error, before + attempt);
        }
        let delay = job.retry.delay(attempt);
        tracing::warn!(consumer = %job.name, event = event.id, attempt, %error, retry_in_ms = delay.as_millis() as u64, "durable consumer callback failed; retrying");
        if stopped_within(stop, delay).await {
            return Outcome::Stopped;
        }
    }
}

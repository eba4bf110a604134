//! Cancelled futures leave nothing behind: 200 tasks on a pool of 5 connections, each running
//! store calls and transactions under a random 1–50 ms timeout; afterwards 0 sessions are
//! `idle in transaction` (pg_stat_activity) and the next 1 000 calls all succeed, none with
//! SQLSTATE 25P02 (in_failed_sql_transaction).
//!
//! What each task does and when it gives up comes from a small PRNG whose seed is printed;
//! `STOREHAUS_CANCELLATION_SEED=<seed>` replays the same plan (where each timeout lands still
//! depends on timing).

use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::idle_in_transaction;

const TASKS: usize = 200;
const POOL_SIZE: u32 = 5;
const FOLLOW_UP_CALLS: usize = 1_000;
const FOLLOW_UP_WORKERS: usize = 10;
/// How long returned connections get to shed their transactions.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// Transfers move money from `FROM` to `TO`; together they always hold `2 * OPENING`.
const FROM: i64 = 1;
const TO: i64 = 2;
const OPENING: i64 = 1_000_000;
/// Bumped with optimistic locking only, so its balance and version move in step.
const COUNTER: i64 = 3;
/// A committed entry; inserting its key again fails on the server and aborts the transaction.
const TAKEN: Uuid = Uuid::from_u128(1);

#[model]
#[table(name = "cancel_accounts", versioned)]
pub struct Account {
    #[primary_key]
    pub id: i64,
    pub balance: i64,
}

#[model]
#[table(name = "cancel_entries")]
pub struct Entry {
    #[primary_key]
    pub id: Uuid,
    /// `transfer`, `batch-N`, `dropped-N`, `failed` or `after`.
    pub batch: String,
    pub amount: i64,
    pub settled: bool,
}

fn entry(batch: &str, amount: i64) -> Entry {
    Entry { id: Uuid::new_v4(), batch: batch.to_owned(), amount, settled: false }
}

fn account_id(id: i64) -> QueryBuilder {
    QueryBuilder::new().filter(QueryFilter::eq("id", id))
}

fn in_batch(batch: &str) -> QueryBuilder {
    QueryBuilder::new().filter(QueryFilter::eq("batch", batch))
}

/// SplitMix64: reproducible choices without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

fn seed() -> u64 {
    match std::env::var("STOREHAUS_CANCELLATION_SEED") {
        Ok(text) => text.trim().parse().expect("STOREHAUS_CANCELLATION_SEED is a u64"),
        Err(_) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
            now.as_nanos() as u64
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    /// Closure transaction: lock both accounts, record the transfer, move the money.
    Transfer,
    /// Explicit transaction: `create_many`, `update_where`, commit.
    CommittedBatch,
    /// Explicit transaction holding a row lock and a batch, dropped without commit.
    DroppedBatch,
    /// Closure transaction whose second insert fails on the server.
    FailingClosure,
    /// Explicit transaction aborted by a failed insert, then dropped.
    FailingDropped,
    /// Pool calls: reads, a versioned update, a stream dropped half-read.
    PoolCalls,
    /// Explicit transaction streaming rows, then rolled back.
    StreamInTransaction,
}

const OPS: [Op; 7] = [
    Op::Transfer,
    Op::CommittedBatch,
    Op::DroppedBatch,
    Op::FailingClosure,
    Op::FailingDropped,
    Op::PoolCalls,
    Op::StreamInTransaction,
];

#[derive(Debug, Clone, Copy)]
struct Plan {
    op: Op,
    /// Before the timeout starts, so tasks hit the pool at different moments.
    delay: Duration,
    timeout: Duration,
    /// Held inside the transaction (or between calls), so timeouts land mid-transaction.
    pause: Duration,
    amount: i64,
    batch_size: i64,
}

impl Plan {
    fn draw(rng: &mut Rng) -> Self {
        Plan {
            op: OPS[rng.between(0, OPS.len() as u64 - 1) as usize],
            delay: Duration::from_millis(rng.between(0, 600)),
            timeout: Duration::from_millis(rng.between(1, 50)),
            pause: Duration::from_millis(rng.between(0, 8)),
            amount: rng.between(1, 100) as i64,
            batch_size: rng.between(2, 20) as i64,
        }
    }
}

/// How far a task got: its timeout tells whether it was cut short outside or inside a transaction.
const OUTSIDE: u8 = 0;
const INSIDE: u8 = 1;
const ENDING: u8 = 2;

#[derive(Clone)]
struct Stores {
    storehaus: Arc<StoreHaus>,
    accounts: GenericStore<Account>,
    entries: GenericStore<Entry>,
}

impl Stores {
    async fn transfer(&self, amount: i64, pause: Duration, stage: &AtomicU8) -> Result<(), StoreError> {
        self.storehaus
            .transaction(|tx| async move {
                stage.store(INSIDE, Ordering::SeqCst);
                let accounts = self.accounts.with_transaction(&tx);
                let entries = self.entries.with_transaction(&tx);
                // Both rows locked in key order: concurrent transfers queue instead of deadlocking.
                let both = QueryBuilder::new()
                    .filter(QueryFilter::in_values("id", [FROM, TO]))
                    .order_by("id", SortOrder::Asc)
                    .for_update();
                assert_eq!(accounts.find(both).await?.len(), 2);
                tokio::time::sleep(pause).await;
                entries.create(Entry { settled: true, ..entry("transfer", amount) }, None).await?;
                accounts.update_where(account_id(FROM), UpdateSet::new().decrement("balance", amount)).await?;
                accounts.update_where(account_id(TO), UpdateSet::new().increment("balance", amount)).await?;
                stage.store(ENDING, Ordering::SeqCst);
                Ok::<_, StoreError>(())
            })
            .await
    }

    async fn batch(&self, task: usize, plan: &Plan, commit: bool, stage: &AtomicU8) -> Result<(), StoreError> {
        let tx = self.storehaus.begin().await?;
        stage.store(INSIDE, Ordering::SeqCst);
        let entries = self.entries.with_transaction(&tx);
        let name = if commit { format!("batch-{task}") } else { format!("dropped-{task}") };
        let rows = (0..plan.batch_size).map(|i| entry(&name, i)).collect();
        assert_eq!(entries.create_many(rows, None).await?.len() as i64, plan.batch_size);
        if !commit {
            // Holding `FROM` makes transfers wait inside a statement, where their timeouts hit.
            let accounts = self.accounts.with_transaction(&tx);
            assert!(accounts.find_one(account_id(FROM).for_update()).await?.is_some());
        }
        tokio::time::sleep(plan.pause).await;
        let settled = entries.update_where(in_batch(&name), UpdateSet::new().set("settled", true)).await?;
        assert_eq!(settled.len() as i64, plan.batch_size);
        stage.store(ENDING, Ordering::SeqCst);
        if commit {
            tx.commit().await
        } else {
            drop((entries, tx));
            Ok(())
        }
    }

    async fn failing_closure(&self, pause: Duration, stage: &AtomicU8) -> Result<(), StoreError> {
        let result = self
            .storehaus
            .transaction(|tx| async move {
                stage.store(INSIDE, Ordering::SeqCst);
                let entries = self.entries.with_transaction(&tx);
                entries.create(entry("failed", 1), None).await?;
                tokio::time::sleep(pause).await;
                entries.create(Entry { id: TAKEN, ..entry("failed", 2) }, None).await?;
                Ok::<_, StoreError>(())
            })
            .await;
        stage.store(ENDING, Ordering::SeqCst);
        match result {
            Err(StoreError::UniqueViolation { .. }) => Ok(()),
            Ok(()) => panic!("a transaction with a failed insert committed"),
            Err(other) => Err(other),
        }
    }

    async fn failing_dropped(&self, pause: Duration, stage: &AtomicU8) -> Result<(), StoreError> {
        let tx = self.storehaus.begin().await?;
        stage.store(INSIDE, Ordering::SeqCst);
        let entries = self.entries.with_transaction(&tx);
        entries.create(entry("failed", 1), None).await?;
        match entries.create(Entry { id: TAKEN, ..entry("failed", 2) }, None).await {
            Err(StoreError::UniqueViolation { .. }) => {}
            other => panic!("inserting a taken key: {other:?}"),
        }
        // The connection now sits in an aborted transaction until the drop rolls it back.
        tokio::time::sleep(pause).await;
        stage.store(ENDING, Ordering::SeqCst);
        drop((entries, tx));
        Ok(())
    }

    async fn pool_calls(&self, pause: Duration) -> Result<(), StoreError> {
        let counter = self.accounts.get_by_id(&COUNTER).await?.expect("the counter exists");
        tokio::time::sleep(pause).await;
        let bumped = Account { id: COUNTER, balance: counter.balance + 1 };
        match self.accounts.update_versioned(&COUNTER, bumped, None, counter.version().unwrap()).await {
            Ok(_) | Err(StoreError::Conflict { .. }) => {}
            Err(other) => return Err(other),
        }
        self.entries.count_where(in_batch("transfer")).await?;
        let mut stream = self.entries.find_stream(QueryBuilder::new().order_by("id", SortOrder::Asc));
        for _ in 0..3 {
            match stream.next().await {
                Some(row) => drop(row?),
                None => break,
            }
        }
        Ok(())
    }

    async fn stream_in_transaction(&self, pause: Duration, stage: &AtomicU8) -> Result<(), StoreError> {
        let tx = self.storehaus.begin().await?;
        stage.store(INSIDE, Ordering::SeqCst);
        let entries = self.entries.with_transaction(&tx);
        let mut stream = entries.find_stream(QueryBuilder::new().limit(50));
        while let Some(row) = stream.next().await {
            row?;
            tokio::time::sleep(pause / 4).await;
        }
        assert!(entries.count().await? >= 1, "the committed entry is visible");
        stage.store(ENDING, Ordering::SeqCst);
        drop(entries);
        tx.rollback().await
    }

    async fn run(&self, task: usize, plan: &Plan, stage: &AtomicU8) -> Result<(), StoreError> {
        match plan.op {
            Op::Transfer => self.transfer(plan.amount, plan.pause, stage).await,
            Op::CommittedBatch => self.batch(task, plan, true, stage).await,
            Op::DroppedBatch => self.batch(task, plan, false, stage).await,
            Op::FailingClosure => self.failing_closure(plan.pause, stage).await,
            Op::FailingDropped => self.failing_dropped(plan.pause, stage).await,
            Op::PoolCalls => self.pool_calls(plan.pause).await,
            Op::StreamInTransaction => self.stream_in_transaction(plan.pause, stage).await,
        }
    }

    /// One of the calls after the storm; `n` picks which.
    async fn follow_up(&self, n: usize) -> Result<(), StoreError> {
        match n % 5 {
            0 => {
                assert!(self.accounts.get_by_id(&FROM).await?.is_some());
            }
            1 => {
                self.entries.count_where(in_batch("transfer")).await?;
            }
            2 => {
                self.entries.create(entry("after", 1), None).await?;
            }
            3 => self.transfer(1, Duration::ZERO, &AtomicU8::new(OUTSIDE)).await?,
            _ => {
                let tx = self.storehaus.begin().await?;
                let accounts = self.accounts.with_transaction(&tx);
                let counter = accounts.find_one(account_id(COUNTER).for_update()).await?.expect("the counter exists");
                let bumped = Account { id: COUNTER, balance: counter.balance + 1 };
                accounts.update_versioned(&COUNTER, bumped, None, counter.version().unwrap()).await?;
                self.entries.with_transaction(&tx).create(entry("after", 1), None).await?;
                drop(accounts);
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

/// Polls until no session is idle in transaction; returns how long that took, or the count
/// still left after `SETTLE_LIMIT`.
async fn settle(admin: &sqlx::PgPool) -> Result<Duration, i64> {
    let start = Instant::now();
    loop {
        let left = idle_in_transaction(admin).await;
        if left == 0 {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= SETTLE_LIMIT {
            return Err(left);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_futures_leave_no_transaction_and_no_aborted_connection() {
    let Some(db) = TestDatabase::new().await else { return };
    let seed = seed();
    println!("seed: {seed} (replay with STOREHAUS_CANCELLATION_SEED={seed})");
    let mut rng = Rng(seed);

    let config = DatabaseConfig { max_connections: POOL_SIZE, min_connections: 0, ..db.config().clone() };
    let storehaus = Arc::new(StoreHaus::new(config).await.unwrap());
    let admin = db.pool().await;
    let admin = admin.as_postgres().expect("a PostgreSQL pool");
    storehaus.auto_migrate::<Account>(false).await.unwrap();
    storehaus.auto_migrate::<Entry>(false).await.unwrap();
    let stores = Stores {
        storehaus: storehaus.clone(),
        accounts: GenericStore::new(storehaus.pool().clone(), None, None),
        entries: GenericStore::new(storehaus.pool().clone(), None, None),
    };
    for (id, balance) in [(FROM, OPENING), (TO, OPENING), (COUNTER, 0)] {
        stores.accounts.create(Account { id, balance }, None).await.unwrap();
    }
    let counter = stores.accounts.get_by_id(&COUNTER).await.unwrap().unwrap();
    let counter_gap = counter.version().unwrap() - counter.balance;
    stores.entries.create(Entry { id: TAKEN, ..entry("taken", 0) }, None).await.unwrap();

    // The storm: every task gives up after its own timeout, wherever it is.
    let plans: Vec<Plan> = (0..TASKS).map(|_| Plan::draw(&mut rng)).collect();
    let tasks: Vec<_> = plans
        .iter()
        .enumerate()
        .map(|(task, plan)| {
            let (stores, plan) = (stores.clone(), *plan);
            tokio::spawn(async move {
                tokio::time::sleep(plan.delay).await;
                let stage = AtomicU8::new(OUTSIDE);
                let outcome = tokio::time::timeout(plan.timeout, stores.run(task, &plan, &stage)).await;
                (outcome.ok(), stage.load(Ordering::SeqCst))
            })
        })
        .collect();
    let mut completed = vec![false; TASKS];
    let mut cancelled_at = [0usize; 3];
    let mut unexpected = Vec::new();
    for (task, handle) in tasks.into_iter().enumerate() {
        match handle.await.expect("a storm task panicked") {
            (Some(Ok(())), _) => completed[task] = true,
            (Some(Err(error)), _) => unexpected.push((plans[task].op, error)),
            (None, stage) => cancelled_at[usize::from(stage)] += 1,
        }
    }
    let cancelled: usize = cancelled_at.iter().sum();
    let done = completed.iter().filter(|c| **c).count();
    let mut per_op: HashMap<Op, (usize, usize)> = HashMap::new();
    for (plan, completed) in plans.iter().zip(&completed) {
        let counts = per_op.entry(plan.op).or_default();
        if *completed { counts.0 += 1 } else { counts.1 += 1 }
    }
    println!(
        "figure: {TASKS} tasks on {POOL_SIZE} connections: {cancelled} cancelled ({} before a transaction or in \
         pool calls, {} inside a transaction, {} while ending one), {done} completed, {} failed",
        cancelled_at[0],
        cancelled_at[1],
        cancelled_at[2],
        unexpected.len()
    );
    for op in OPS {
        let (ok, cut) = per_op.get(&op).copied().unwrap_or_default();
        println!("figure:   {op:?}: {ok} completed, {cut} cancelled");
    }
    assert!(unexpected.is_empty(), "calls failed during the storm: {unexpected:?}");
    assert!(done > 0 && cancelled > 0, "the storm must both finish and cut short some tasks");
    assert!(cancelled_at[INSIDE as usize] > 0, "no task was cancelled inside a transaction");

    match settle(admin).await {
        Ok(took) => {
            println!("figure: 0 sessions idle in transaction {} ms after the last task ended", took.as_millis())
        }
        Err(left) => panic!("{left} sessions still idle in transaction {SETTLE_LIMIT:?} after the last task ended"),
    }

    // Every pooled connection must be usable again: none may come back inside a transaction,
    // aborted or not.
    let started = Instant::now();
    let workers: Vec<_> = (0..FOLLOW_UP_WORKERS)
        .map(|worker| {
            let stores = stores.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for call in (worker..FOLLOW_UP_CALLS).step_by(FOLLOW_UP_WORKERS) {
                    if let Err(error) = stores.follow_up(call).await {
                        failures.push(error);
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for worker in workers {
        failures.extend(worker.await.expect("a follow-up worker panicked"));
    }
    let aborted = failures.iter().filter(|e| e.sqlstate() == Some("25P02")).count();
    println!(
        "figure: {FOLLOW_UP_CALLS} follow-up calls in {} ms: {} succeeded, {} failed, {aborted} with 25P02",
        started.elapsed().as_millis(),
        FOLLOW_UP_CALLS - failures.len(),
        failures.len()
    );
    assert_eq!(aborted, 0, "a pooled connection came back in an aborted transaction: {failures:?}");
    assert!(failures.is_empty(), "follow-up calls failed: {failures:?}");
    assert_eq!(idle_in_transaction(admin).await, 0, "the follow-up calls left a transaction open");

    // What was committed is whole: money is conserved and matches the transfer records, no
    // dropped or failed transaction left a row, and each committed batch is all there, settled.
    let from = stores.accounts.get_by_id(&FROM).await.unwrap().unwrap().balance;
    let to = stores.accounts.get_by_id(&TO).await.unwrap().unwrap().balance;
    let transfers = stores.entries.find(in_batch("transfer")).await.unwrap();
    let moved: i64 = transfers.iter().map(|t| t.amount).sum();
    let storm_transfers = transfers.len() - FOLLOW_UP_CALLS / 5;
    println!("figure: {storm_transfers} transfers of the storm committed, {moved} moved in all");
    let reported = plans.iter().zip(&completed).filter(|(p, c)| p.op == Op::Transfer && **c).count();
    assert!(storm_transfers >= reported, "{reported} transfers reported their commit, {storm_transfers} are stored");
    assert_eq!(from + to, 2 * OPENING, "a transfer half-committed");
    assert_eq!((OPENING - from, to - OPENING), (moved, moved), "balances disagree with the transfer records");
    let counter = stores.accounts.get_by_id(&COUNTER).await.unwrap().unwrap();
    assert_eq!(counter.version().unwrap() - counter.balance, counter_gap, "the counter's version and value diverged");

    let all = stores.entries.list_all().await.unwrap();
    let leaked: Vec<&str> =
        all.iter().map(|e| e.batch.as_str()).filter(|b| b.starts_with("dropped-") || *b == "failed").collect();
    assert!(leaked.is_empty(), "rows of uncommitted transactions: {leaked:?}");
    let after = all.iter().filter(|e| e.batch == "after").count();
    assert_eq!(after, 2 * FOLLOW_UP_CALLS / 5, "follow-up writes missing");
    for (task, plan) in plans.iter().enumerate().filter(|(_, p)| p.op == Op::CommittedBatch) {
        let name = format!("batch-{task}");
        let rows: Vec<_> = all.iter().filter(|e| e.batch == name).collect();
        let n = rows.len() as i64;
        assert!(n == 0 || n == plan.batch_size, "{name}: {n} of {} rows committed", plan.batch_size);
        if completed[task] {
            assert_eq!(n, plan.batch_size, "{name} reported its commit, but its rows are missing");
        }
        assert!(rows.iter().all(|e| e.settled), "{name} committed without its update");
    }
}

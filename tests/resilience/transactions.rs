//! Transactions run by `StoreHaus::transaction_retrying`: concurrent serializable transfers all
//! commit, their serialization failures retried, and the balances add up; the work runs again
//! from the start, in a new transaction, after a transient failure, and commits once; a
//! permanent error, or a commit whose answer was lost, is returned after one run.

use crate::{Entry, entries_labelled};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::resilience::RetryPolicy;
use storehaus::testing::TestDatabase;
use storehaus::{IsolationLevel, TransactionOptions};
use storehaus_suite::fault_proxy::{self, FaultProxy};

#[model]
#[table(name = "retry_accounts")]
pub struct Account {
    #[primary_key]
    pub id: Uuid,
    pub balance: i64,
}

/// Few accounts for many transfers, so that concurrent transactions touch the same rows.
const ACCOUNTS: usize = 6;
const OPENING_BALANCE: i64 = 1_000;
const TASKS: usize = 8;
const TRANSFERS_PER_TASK: usize = 12;

/// A transfer: the indexes of the account it takes from and of the one it gives to, and the amount.
type Move = (usize, usize, i64);

/// Transfer `k` of task `task`, the same every run.
fn transfer(task: usize, k: usize) -> Move {
    let from = (task + k) % ACCOUNTS;
    let to = (from + 1 + (task * 3 + k) % (ACCOUNTS - 1)) % ACCOUNTS;
    (from, to, 1 + ((task * 31 + k * 17) % 50) as i64)
}

fn serializable() -> TransactionOptions {
    TransactionOptions::new().isolation(IsolationLevel::Serializable)
}

async fn open_accounts(accounts: &GenericStore<Account>) -> Vec<Uuid> {
    let opened: Vec<Account> =
        (0..ACCOUNTS).map(|_| Account { id: Uuid::new_v4(), balance: OPENING_BALANCE }).collect();
    accounts.create_many(opened.clone(), None).await.unwrap();
    opened.into_iter().map(|a| a.id).collect()
}

/// Reads both accounts and moves `amount` from one to the other, in `tx`.
async fn move_amount(
    accounts: GenericStore<Account>,
    tx: Transaction,
    from: Uuid,
    to: Uuid,
    amount: i64,
) -> Result<(), StoreError> {
    let accounts = accounts.with_transaction(&tx);
    let missing = || StoreError::validation("id", "no such account");
    let mut source = accounts.get_by_id(&from).await?.ok_or_else(missing)?;
    let mut target = accounts.get_by_id(&to).await?.ok_or_else(missing)?;
    source.balance -= amount;
    target.balance += amount;
    accounts.save(&source).await?;
    accounts.save(&target).await?;
    Ok(())
}

/// What one way of running the transfers returned.
struct Transfers {
    /// Per transfer: which, and its outcome.
    outcomes: Vec<(Move, Result<(), StoreError>)>,
    /// Runs of the transfer closures, retries included.
    runs: u32,
    took: Duration,
}

/// Runs every task's transfers on `ids` concurrently, each in a serializable transaction, with
/// `transaction_retrying_with` or (`retrying` false) `transaction_with`.
async fn run_transfers(storehaus: &Arc<StoreHaus>, ids: &[Uuid], retrying: bool) -> Transfers {
    let accounts = GenericStore::<Account>::new(storehaus.pool().clone(), None, None);
    let runs = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (storehaus, accounts, ids, runs) =
                (Arc::clone(storehaus), accounts.clone(), ids.to_vec(), Arc::clone(&runs));
            tokio::spawn(async move {
                let mut outcomes = Vec::with_capacity(TRANSFERS_PER_TASK);
                for k in 0..TRANSFERS_PER_TASK {
                    let (from, to, amount) = transfer(task, k);
                    let work = |tx: Transaction| {
                        runs.fetch_add(1, Ordering::Relaxed);
                        move_amount(accounts.clone(), tx, ids[from], ids[to], amount)
                    };
                    let outcome = if retrying {
                        storehaus.transaction_retrying_with(serializable(), work).await
                    } else {
                        storehaus.transaction_with(serializable(), work).await
                    };
                    outcomes.push(((from, to, amount), outcome));
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(TASKS * TRANSFERS_PER_TASK);
    for task in tasks {
        outcomes.extend(task.await.expect("a task panicked"));
    }
    Transfers { outcomes, runs: runs.load(Ordering::Relaxed), took: started.elapsed() }
}

/// Checks the stored balances against the opening ones plus the transfers that returned `Ok`,
/// and that they add up to what the accounts opened with.
async fn assert_balances(storehaus: &StoreHaus, ids: &[Uuid], transfers: &Transfers) {
    let mut expected = vec![OPENING_BALANCE; ACCOUNTS];
    for ((from, to, amount), outcome) in &transfers.outcomes {
        if outcome.is_ok() {
            expected[*from] -= amount;
            expected[*to] += amount;
        }
    }
    let accounts = GenericStore::<Account>::new(storehaus.pool().clone(), None, None);
    let mut stored = Vec::with_capacity(ACCOUNTS);
    for id in ids {
        stored.push(accounts.get_by_id(id).await.unwrap().expect("the account").balance);
    }
    assert_eq!(stored.iter().sum::<i64>(), OPENING_BALANCE * ACCOUNTS as i64, "money appeared or vanished");
    assert_eq!(stored, expected, "each committed transfer applied exactly once, the failed ones not at all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_serializable_transfers_all_commit_when_retried() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = Arc::new(db.storehaus().await);
    storehaus.auto_migrate::<Account>(false).await.unwrap();
    let ids = open_accounts(&GenericStore::new(storehaus.pool().clone(), None, None)).await;
    // Eight writers on four rows conflict most of the time: more attempts than the default,
    // still each within a bounded time.
    storehaus.set_retry_policy(
        RetryPolicy::default()
            .max_attempts(100)
            .budget(Duration::from_secs(20))
            .backoff(Duration::from_millis(2), Duration::from_millis(50)),
    );

    let transfers = run_transfers(&storehaus, &ids, true).await;
    let stats = storehaus.pool().retry_stats();
    let calls = transfers.outcomes.len() as u64;
    let failed: Vec<_> = transfers.outcomes.iter().filter(|(_, o)| o.is_err()).collect();
    eprintln!(
        "figure: transaction_retrying_with(Serializable): {calls} transfers by {TASKS} tasks on {ACCOUNTS} accounts \
         in {:.1?}: {} closure runs, {} retries, {} transfers recovered, {} failed",
        transfers.took,
        transfers.runs,
        stats.retries,
        stats.recovered,
        failed.len()
    );
    assert!(failed.is_empty(), "transfers failed: {failed:#?}");
    assert!(stats.retries > 0, "no serialization failure was retried: {stats:?}");
    assert_eq!(u64::from(transfers.runs), calls + stats.retries, "every retry ran the closure again");
    assert!(stats.recovered > 0 && stats.recovered <= calls, "{stats:?}");
    assert_eq!(stats.exhausted, 0);
    assert_balances(&storehaus, &ids, &transfers).await;
    storehaus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_serializable_transfers_fail_with_40001_when_not_retried() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = Arc::new(db.storehaus().await);
    storehaus.auto_migrate::<Account>(false).await.unwrap();
    let ids = open_accounts(&GenericStore::new(storehaus.pool().clone(), None, None)).await;

    let transfers = run_transfers(&storehaus, &ids, false).await;
    let errors: Vec<&StoreError> = transfers.outcomes.iter().filter_map(|(_, o)| o.as_ref().err()).collect();
    let serialization = errors.iter().filter(|e| e.sqlstate() == Some("40001")).count();
    eprintln!(
        "figure: transaction_with(Serializable): {} transfers by {TASKS} tasks on {ACCOUNTS} accounts in {:.1?}: \
         {} failed, {serialization} of them with 40001",
        transfers.outcomes.len(),
        transfers.took,
        errors.len()
    );
    assert!(serialization > 0, "no serialization failure: {errors:#?}");
    let unexpected: Vec<_> =
        errors.iter().filter(|e| !e.is_transient() || !matches!(e.sqlstate(), Some("40001" | "40P01"))).collect();
    assert!(unexpected.is_empty(), "failures other than transient conflicts: {unexpected:#?}");
    assert_eq!(transfers.runs as usize, transfers.outcomes.len(), "each closure ran once");
    assert_eq!(storehaus.pool().retry_stats().retries, 0);
    assert_balances(&storehaus, &ids, &transfers).await;
    storehaus.close().await;
}

/// Resets every connection through `proxy` and waits until the proxy has closed them all, so
/// that the next statement on any of them fails.
async fn lose_connections(proxy: &FaultProxy) {
    proxy.reset_open();
    let started = Instant::now();
    while proxy.open() > 0 {
        assert!(started.elapsed() < Duration::from_secs(2), "the proxy keeps {} connections open", proxy.open());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A database with the entries table, a direct `StoreHaus` on it and one through a fault proxy.
async fn proxied_entries() -> Option<(TestDatabase, StoreHaus, FaultProxy, StoreHaus)> {
    let db = TestDatabase::new().await?;
    let admin = db.storehaus().await;
    admin.auto_migrate::<Entry>(false).await.unwrap();
    let (proxy, proxied) = fault_proxy::in_front_of(db.config()).await;
    let storehaus = StoreHaus::new(DatabaseConfig { max_connections: 2, ..proxied }).await.unwrap();
    Some((db, admin, proxy, storehaus))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_that_lost_its_connection_runs_again_and_commits_once() {
    let Some((_db, admin, proxy, storehaus)) = proxied_entries().await else { return };
    let entries = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
    let before = storehaus.pool().retry_stats();
    let runs = AtomicU32::new(0);

    let outcome = storehaus
        .transaction_retrying(|tx| {
            let run = runs.fetch_add(1, Ordering::Relaxed) + 1;
            let (entries, proxy) = (entries.with_transaction(&tx), &proxy);
            async move {
                entries.create(Entry { id: 0, label: "first".into() }, None).await?;
                if run == 1 {
                    // The server restarts between two statements, as the client sees it.
                    lose_connections(proxy).await;
                }
                entries.create(Entry { id: 0, label: "second".into() }, None).await?;
                Ok::<_, StoreError>(run)
            }
        })
        .await;

    let after = storehaus.pool().retry_stats();
    eprintln!(
        "figure: transaction reset after its first statement: {:?} after {} runs; {} retries",
        outcome,
        runs.load(Ordering::Relaxed),
        after.retries - before.retries
    );
    assert_eq!(outcome.unwrap(), 2, "committed by the second run");
    assert_eq!(runs.load(Ordering::Relaxed), 2, "the closure ran again from the start");
    assert_eq!((after.retries - before.retries, after.recovered - before.recovered), (1, 1));
    // The first run's insert went with its connection: each row once.
    assert_eq!(entries_labelled(&admin, "first").await, 1);
    assert_eq!(entries_labelled(&admin, "second").await, 1);
    storehaus.close().await;
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_connection_was_lost_is_not_run_again() {
    let Some((_db, admin, proxy, storehaus)) = proxied_entries().await else { return };
    let entries = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
    let before = storehaus.pool().retry_stats();
    let runs = AtomicU32::new(0);

    let outcome = storehaus
        .transaction_retrying(|tx| {
            runs.fetch_add(1, Ordering::Relaxed);
            let (entries, proxy) = (entries.with_transaction(&tx), &proxy);
            async move {
                entries.create(Entry { id: 0, label: "unanswered".into() }, None).await?;
                // The work succeeded; the connection is lost before its commit.
                lose_connections(proxy).await;
                Ok::<_, StoreError>(())
            }
        })
        .await;

    let error = outcome.expect_err("the commit cannot reach the server");
    eprintln!("figure: commit on a lost connection: {error} after {} run", runs.load(Ordering::Relaxed));
    assert!(error.is_transient(), "a lost connection is transient: {error:?}");
    // Its outcome is unknown to the client in general, so it is not run again.
    assert_eq!(runs.load(Ordering::Relaxed), 1, "the closure ran once");
    assert_eq!(storehaus.pool().retry_stats(), before, "nothing retried");
    // This COMMIT never left the client: the server rolled the transaction back.
    assert_eq!(entries_labelled(&admin, "unanswered").await, 0);
    storehaus.close().await;
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_is_returned_after_one_run() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Account>(false).await.unwrap();
    let accounts = GenericStore::<Account>::new(storehaus.pool().clone(), None, None);
    let taken = Uuid::new_v4();
    accounts.create(Account { id: taken, balance: 1 }, None).await.unwrap();
    let fresh = Uuid::new_v4();
    let before = storehaus.pool().retry_stats();
    let runs = AtomicU32::new(0);

    let outcome = storehaus
        .transaction_retrying(|tx| {
            runs.fetch_add(1, Ordering::Relaxed);
            let accounts = accounts.with_transaction(&tx);
            async move {
                accounts.create(Account { id: fresh, balance: 2 }, None).await?;
                accounts.create(Account { id: taken, balance: 3 }, None).await?;
                Ok::<_, StoreError>(())
            }
        })
        .await;

    let error = outcome.expect_err("the key is taken");
    eprintln!("figure: unique violation in a retrying transaction: {error} after {} run", runs.load(Ordering::Relaxed));
    assert!(matches!(error, StoreError::UniqueViolation { .. }), "{error:?}");
    assert!(!error.is_transient());
    assert_eq!(runs.load(Ordering::Relaxed), 1, "a permanent error is not retried");
    assert_eq!(storehaus.pool().retry_stats(), before);
    assert!(accounts.get_by_id(&fresh).await.unwrap().is_none(), "the transaction rolled back");
    assert_eq!(accounts.get_by_id(&taken).await.unwrap().expect("the account").balance, 1);
    storehaus.close().await;
}

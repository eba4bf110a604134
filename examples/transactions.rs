//! Transactions: the closure API committing writes to two stores together, an error rolling all
//! of them back, the explicit handle with `commit` and `rollback`, a savepoint rolled back inside
//! a committed transaction, the shared timestamp of one transaction's rows, optimistic locking
//! with a retry loop, money transfers that keep the total constant, a repeatable-read report,
//! and workers claiming jobs with `FOR UPDATE SKIP LOCKED`.
//!
//! ```text
//! cargo run --example transactions
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! then `DATABASE_URL` and the `STOREHAUS_*` variables (see docs/configuration.md). The tables
//! `tx_accounts`, `tx_ledger` and `tx_jobs` are recreated on every run. It also runs on SQLite
//! (`DATABASE_URL=sqlite::memory:`), where a transaction holds the whole database's write lock:
//! the check that other connections cannot see uncommitted rows is made on PostgreSQL only, and
//! the second job worker starts after the first has committed instead of skipping its locked
//! rows. It exits non-zero when a result differs from what the transactions should have left.

use std::time::Duration;

use futures_util::future::join_all;
use storehaus::prelude::*;
use storehaus::{IsolationLevel, TransactionOptions};

/// Bank accounts; `versioned` adds `__version__` for optimistic locking.
#[model]
#[table(name = "tx_accounts", versioned)]
pub struct Account {
    #[primary_key]
    pub id: Uuid,
    pub owner: String,
    pub balance: i64,
}

/// One line per movement of money: an account's balance is the sum of its lines.
#[model]
#[table(name = "tx_ledger")]
pub struct Entry {
    #[primary_key]
    pub id: Uuid,
    pub account: Uuid,
    pub amount: i64,
    pub memo: String,
}

/// A work queue that several workers take jobs from.
#[model]
#[table(name = "tx_jobs")]
pub struct Job {
    #[primary_key]
    pub id: i64,
    pub status: String,
    pub worker: Option<String>,
}

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    storehaus.auto_migrate::<Account>(true).await?;
    storehaus.auto_migrate::<Entry>(true).await?;
    storehaus.auto_migrate::<Job>(true).await?;
    let accounts = GenericStore::<Account>::new(storehaus.pool().clone(), None, None);
    let ledger = GenericStore::<Entry>::new(storehaus.pool().clone(), None, None);
    let jobs = GenericStore::<Job>::new(storehaus.pool().clone(), None, None);
    let on_postgres = storehaus.pool().backend_name() == "postgres";
    println!("transactions on {}", storehaus.pool().backend_name());

    // The closure API: Ok commits every write of both stores, Err rolls them all back.
    let (accounts_ref, ledger_ref) = (&accounts, &ledger);
    let (ada, bob) = storehaus
        .transaction(|tx| async move {
            let (accounts, ledger) = (accounts_ref.with_transaction(&tx), ledger_ref.with_transaction(&tx));
            let ada = accounts.create(Account::new(Uuid::new_v4(), "Ada".into(), 100), None).await?;
            let bob = accounts.create(Account::new(Uuid::new_v4(), "Bob".into(), 50), None).await?;
            ledger.create(Entry::new(Uuid::new_v4(), ada.id, 100, "opening deposit".into()), None).await?;
            ledger.create(Entry::new(Uuid::new_v4(), bob.id, 50, "opening deposit".into()), None).await?;
            Ok::<_, StoreError>((ada, bob))
        })
        .await?;
    assert_eq!(accounts.count().await?, 2, "both accounts are committed");
    assert_eq!(ledger.count().await?, 2, "both ledger lines are committed");
    // Every system timestamp is the transaction's start time, however long apart the writes ran.
    let entries = ledger.list_all().await?;
    let stamps: Vec<DateTime<Utc>> =
        [&ada, &bob].iter().map(|a| a.created_at()).chain(entries.iter().map(|e| e.updated_at())).collect();
    assert!(stamps.iter().all(|t| *t == ada.created_at()), "one transaction, one timestamp: {stamps:?}");
    println!("closure commit: 2 accounts and 2 ledger lines, all stamped {}", ada.created_at());

    let carol_id = Uuid::new_v4();
    let refused = storehaus
        .transaction(|tx| async move {
            let (accounts, ledger) = (accounts_ref.with_transaction(&tx), ledger_ref.with_transaction(&tx));
            accounts.create(Account::new(carol_id, "Carol".into(), 25), None).await?;
            ledger.create(Entry::new(Uuid::new_v4(), carol_id, 25, "opening deposit".into()), None).await?;
            Err::<(), _>(StoreError::validation("owner", "Carol has not signed the contract yet"))
        })
        .await;
    assert!(matches!(refused, Err(StoreError::Validation { .. })), "the closure's error is returned: {refused:?}");
    assert!(accounts.get_by_id(&carol_id).await?.is_none(), "the rolled-back account is absent");
    assert_eq!(ledger.count().await?, 2, "the rolled-back ledger line is absent");
    println!("closure rollback: {} -> neither Carol's account nor her ledger line exists", refused.unwrap_err());

    // The explicit handle: commit or roll back yourself.
    let tx = storehaus.begin().await?;
    accounts.with_transaction(&tx).create(Account::new(carol_id, "Carol".into(), 25), None).await?;
    assert!(accounts.with_transaction(&tx).get_by_id(&carol_id).await?.is_some(), "a transaction reads its writes");
    if on_postgres {
        // Other connections see nothing before COMMIT. (SQLite would make this read wait for the lock.)
        assert!(accounts.get_by_id(&carol_id).await?.is_none(), "uncommitted rows are invisible outside");
    }
    tx.rollback().await?;
    assert!(accounts.get_by_id(&carol_id).await?.is_none(), "rollback discards the account");

    let tx = storehaus.begin().await?;
    accounts.with_transaction(&tx).create(Account::new(carol_id, "Carol".into(), 25), None).await?;
    ledger
        .with_transaction(&tx)
        .create(Entry::new(Uuid::new_v4(), carol_id, 25, "opening deposit".into()), None)
        .await?;
    tx.commit().await?;
    let carol = accounts.get_by_id(&carol_id).await?.ok_or("Carol's committed account is missing")?;
    assert_eq!(carol.balance, 25, "the committed account reads back");
    println!("explicit handle: begin + rollback left nothing, begin + commit opened Carol's account");

    // Savepoints: `tx.transaction(..)` nests a step that can fail on its own; the outer
    // transaction keeps its earlier work and carries on.
    let dave_id = Uuid::new_v4();
    storehaus
        .transaction(|tx| async move {
            accounts_ref.with_transaction(&tx).create(Account::new(dave_id, "Dave".into(), 0), None).await?;
            let bonus = tx
                .transaction(|step| async move {
                    let line = Entry::new(Uuid::new_v4(), dave_id, 10, "welcome bonus".into());
                    ledger_ref.with_transaction(&step).create(line, None).await?;
                    Err::<(), _>(StoreError::validation("memo", "the bonus campaign has ended"))
                })
                .await;
            assert!(bonus.is_err(), "the nested step failed and was rolled back to its savepoint");
            Ok::<_, StoreError>(())
        })
        .await?;
    assert!(accounts.get_by_id(&dave_id).await?.is_some(), "the outer work is committed");
    let dave_lines = ledger.find(QueryBuilder::new().filter(Entry::columns().account.eq(dave_id))).await?;
    assert!(dave_lines.is_empty(), "the failed step's ledger line is gone");
    println!("savepoint: Dave's account committed, the rolled-back bonus line is absent");

    // Optimistic locking: two clerks read Ada at the same version; the first write wins.
    let clerk_a = accounts.get_by_id(&ada.id).await?.ok_or("Ada is missing")?;
    let clerk_b = accounts.get_by_id(&ada.id).await?.ok_or("Ada is missing")?;
    let version = clerk_a.version().ok_or("a versioned record has a version")?;
    let renamed = Account { owner: "Ada Lovelace".into(), ..clerk_a.data().clone() };
    let saved = accounts.update_versioned(&ada.id, renamed.clone(), None, version).await?;
    assert_eq!(saved.version(), Some(version + 1), "a successful write bumps the version");
    let stale = accounts.update_versioned(&ada.id, renamed, None, version).await;
    assert!(matches!(&stale, Err(StoreError::Conflict { .. })), "a second write at the old version conflicts");
    println!(
        "optimistic locking: version {version} -> {}; writing at {version} again: {}",
        version + 1,
        stale.unwrap_err()
    );

    // The retry loop: on a conflict, re-read the row, re-apply the change, write again.
    let mut attempt = clerk_b; // still at the old version
    let mut conflicts = 0;
    let retitled = loop {
        attempt.owner = format!("{} (VIP)", attempt.owner);
        match accounts.save(&attempt).await {
            Ok(saved) => break saved,
            Err(StoreError::Conflict { table, key }) if conflicts < 3 => {
                conflicts += 1;
                println!("  conflict on {table} {key}: re-reading and trying again");
                attempt = accounts.get_by_id(&ada.id).await?.ok_or("Ada is missing")?;
            }
            Err(other) => return Err(other.into()),
        }
    };
    assert_eq!(conflicts, 1, "the stale record conflicts once, the re-read one succeeds");
    assert_eq!(retitled.owner, "Ada Lovelace (VIP)", "the retry kept the other clerk's rename");
    assert_eq!(retitled.version(), Some(version + 2), "the retried write bumped the version again");
    println!("retry loop: saved {:?} at version {:?} after {conflicts} conflict", retitled.owner, retitled.version());

    // Transfers: many at once in both directions, plus one that must fail. The total never moves.
    let total_before = total_balance(&accounts).await?;
    let runs = (1..=10_i64).map(|amount| {
        let (from, to) = if amount % 2 == 0 { (ada.id, bob.id) } else { (bob.id, ada.id) };
        transfer(&storehaus, &accounts, &ledger, from, to, amount)
    });
    for outcome in join_all(runs).await {
        outcome?;
    }
    let overdraft = transfer(&storehaus, &accounts, &ledger, carol_id, ada.id, 1_000).await;
    assert!(matches!(overdraft, Err(StoreError::Validation { .. })), "an overdraft is refused: {overdraft:?}");
    let total_after = total_balance(&accounts).await?;
    assert_eq!(total_after, total_before, "transfers move money, they never create or destroy it");
    for account in accounts.list_all().await? {
        let lines = ledger.find(QueryBuilder::new().filter(Entry::columns().account.eq(account.id))).await?;
        let sum: i64 = lines.iter().map(|line| line.amount).sum();
        assert_eq!(sum, account.balance, "{}'s ledger adds up to the balance", account.owner);
        println!("  {:<20} balance {:>4}, {:>2} ledger lines", account.owner, account.balance, lines.len());
    }
    println!("transfers: 10 concurrent transfers and a refused overdraft; the total stayed {total_after}");

    // Isolation: a read-only report at REPEATABLE READ reads one snapshot, so the balances and the
    // ledger it sums agree however other transactions interleave with it.
    let report = TransactionOptions::new().isolation(IsolationLevel::RepeatableRead).read_only();
    let (balances, lines) = storehaus
        .transaction_with(report, |tx| async move {
            let balances: i64 = accounts_ref.with_transaction(&tx).list_all().await?.iter().map(|a| a.balance).sum();
            let lines: i64 = ledger_ref.with_transaction(&tx).list_all().await?.iter().map(|l| l.amount).sum();
            Ok::<_, StoreError>((balances, lines))
        })
        .await?;
    assert_eq!(balances, lines, "one snapshot: the balances equal the ledger's sum");
    println!("repeatable-read report: balances {balances} = ledger {lines}");

    // Job queue: each worker claims the first queued jobs, skipping rows another worker has locked.
    let queued = (1..=6).map(|id| Job::new(id, "queued".into(), None)).collect();
    jobs.create_many(queued, None).await?;
    let worker_a = storehaus.begin().await?;
    let claimed_a = claim(&jobs, &worker_a, "worker-a").await?;
    let claimed_b = if on_postgres {
        // worker-a has not committed: its two rows are locked and still 'queued', so worker-b
        // skips them instead of waiting for them.
        // A bounded wait, so a worker that blocks on the locks fails the run instead of hanging it.
        let worker_b = storehaus.begin().await?;
        let claiming = tokio::time::timeout(Duration::from_secs(5), claim(&jobs, &worker_b, "worker-b"));
        let claimed = claiming.await.map_err(|_| "worker-b waited for worker-a's locks instead of skipping them")??;
        worker_b.commit().await?;
        worker_a.commit().await?;
        claimed
    } else {
        // SQLite has one writer at a time: worker-b begins once worker-a has committed.
        worker_a.commit().await?;
        let worker_b = storehaus.begin().await?;
        let claimed = claim(&jobs, &worker_b, "worker-b").await?;
        worker_b.commit().await?;
        claimed
    };
    assert_eq!((claimed_a.as_slice(), claimed_b.as_slice()), (&[1, 2][..], &[3, 4][..]), "disjoint batches");
    let board = jobs.find(QueryBuilder::new().order_by("id", SortOrder::Asc)).await?;
    let owners: Vec<(&str, Option<&str>)> =
        board.iter().map(|job| (job.status.as_str(), job.worker.as_deref())).collect();
    let (a, b, queued) = (("running", Some("worker-a")), ("running", Some("worker-b")), ("queued", None));
    let expected = [a, a, b, b, queued, queued];
    assert_eq!(owners, expected, "each job is claimed by exactly one worker, the rest stay queued");
    println!("SKIP LOCKED: worker-a claimed {claimed_a:?}, worker-b {claimed_b:?}; jobs 5 and 6 still queued");

    storehaus.close().await;
    println!("every transaction left exactly what it should");
    Ok(())
}

/// Moves `amount` from one account to the other, with both ledger lines, atomically.
async fn transfer(
    storehaus: &StoreHaus,
    accounts: &GenericStore<Account>,
    ledger: &GenericStore<Entry>,
    from: Uuid,
    to: Uuid,
    amount: i64,
) -> Result<(), StoreError> {
    storehaus
        .transaction(|tx| async move {
            let (accounts, ledger) = (accounts.with_transaction(&tx), ledger.with_transaction(&tx));
            let id = Account::columns().id;
            // Lock both rows in key order, so two opposite transfers never wait on each other in a cycle.
            let locked = accounts
                .find(QueryBuilder::new().filter(id.in_values([from, to])).order_by(id, SortOrder::Asc).for_update())
                .await?;
            let payer = locked.iter().find(|account| account.id == from);
            let payer =
                payer.ok_or_else(|| StoreError::NotFound { table: "tx_accounts".into(), key: from.to_string() })?;
            if payer.balance < amount {
                let message = format!("{} has {} and cannot pay {amount}", payer.owner, payer.balance);
                return Err(StoreError::validation("balance", message));
            }
            // The arithmetic runs in the database, on the locked rows.
            accounts
                .update_where(QueryBuilder::new().filter(id.eq(from)), UpdateSet::new().decrement("balance", amount))
                .await?;
            accounts
                .update_where(QueryBuilder::new().filter(id.eq(to)), UpdateSet::new().increment("balance", amount))
                .await?;
            let memo = format!("transfer {from} -> {to}");
            let lines = vec![
                Entry::new(Uuid::new_v4(), from, -amount, memo.clone()),
                Entry::new(Uuid::new_v4(), to, amount, memo),
            ];
            ledger.create_many(lines, None).await?;
            Ok(())
        })
        .await
}

/// Claims up to two queued jobs for `worker` inside `tx`; returns their ids.
async fn claim(jobs: &GenericStore<Job>, tx: &Transaction, worker: &str) -> Result<Vec<i64>, StoreError> {
    let jobs = jobs.with_transaction(tx);
    let c = Job::columns();
    let next_jobs = QueryBuilder::new().filter(c.status.eq("queued")).order_by(c.id, SortOrder::Asc).limit(2);
    let batch = jobs.find(next_jobs.for_update_skip_locked()).await?;
    let ids: Vec<i64> = batch.iter().map(|job| job.id).collect();
    if !ids.is_empty() {
        let set = UpdateSet::new().set("status", "running").set("worker", worker);
        jobs.update_where(QueryBuilder::new().filter(c.id.in_values(ids.clone())), set).await?;
    }
    Ok(ids)
}

async fn total_balance(accounts: &GenericStore<Account>) -> Res<i64> {
    Ok(accounts.list_all().await?.iter().map(|account| account.balance).sum())
}

//! PostgreSQL connections reset mid-load — by the network (fault proxy reset) and by the server
//! (`pg_terminate_backend`): the pool recovers, every failed call returns an error with
//! `StoreError::is_transient() == true`, and no call hangs past its timeout.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::{self, FaultProxy};
use storehaus_suite::pg;

#[model]
#[table(name = "fault_pg_items")]
pub struct Item {
    #[primary_key]
    pub id: Uuid,
    pub worker: i32,
    pub n: i64,
}

/// More tasks than connections, so the pool is always contended and every connection busy.
const WORKERS: i32 = 8;
const MAX_CONNECTIONS: u32 = 5;
const ACQUIRE_TIMEOUT_SECONDS: u64 = 3;
/// A call may wait the whole acquire timeout and then still needs time to run.
const CALL_MARGIN: Duration = Duration::from_secs(2);
const FAULTS: usize = 4;
const FAULT_EVERY: Duration = Duration::from_millis(600);
/// Consecutive successful calls after the last fault that count as recovered.
const RECOVERY_STREAK: u64 = 200;
const RECOVERY_LIMIT: Duration = Duration::from_secs(5);

/// How connections are broken under the load.
#[derive(Debug)]
enum Fault<'a> {
    /// The proxy resets every open connection, both ways.
    NetworkReset(&'a FaultProxy),
    /// `pg_terminate_backend` of every client backend but the admin's.
    ServerTerminate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    GetById,
    Find,
    Update,
    Transaction,
    CreateMany,
}

const OPS: [Op; 6] = [Op::Create, Op::GetById, Op::Find, Op::Update, Op::Transaction, Op::CreateMany];

#[derive(Debug)]
enum Outcome {
    Ok,
    Failed(StoreError),
    /// The call did not return within its limit and was abandoned.
    Hung,
}

#[derive(Debug)]
struct Call {
    op: Op,
    started: Instant,
    ended: Instant,
    outcome: Outcome,
    /// How far a transaction got: an index into [`STAGES`].
    stage: usize,
}

const STAGES: [&str; 5] = ["begin", "first write", "between writes", "second write", "commit"];

/// What the workers share: when to stop, and the current run of successes across all of them.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    streak: AtomicU64,
}

/// One worker's account of what it asked for and what it was told.
#[derive(Debug, Default)]
struct Ledger {
    /// Every id sent in a create, whatever the answer.
    attempted: HashSet<Uuid>,
    /// Ids whose create (or transaction) returned `Ok`, in order.
    confirmed: Vec<Uuid>,
    /// Ids written by one call that must be all or nothing: a transaction, a `create_many`.
    groups: Vec<Vec<Uuid>>,
    /// The values `n` may hold now: the last acknowledged one plus any failed write since, which
    /// may or may not have reached the server.
    candidates: HashMap<Uuid, Vec<i64>>,
    next_value: i64,
    calls: Vec<Call>,
    /// Reads that contradicted an acknowledged write.
    violations: Vec<String>,
}

impl Ledger {
    fn new_item(&mut self, worker: i32) -> Item {
        let item = Item { id: Uuid::new_v4(), worker, n: 0 };
        self.attempted.insert(item.id);
        item
    }

    fn confirm(&mut self, id: Uuid) {
        self.confirmed.push(id);
        self.candidates.insert(id, vec![0]);
    }

    fn check_read(&mut self, op: Op, record: &Record<Item>, worker: i32) {
        let allowed = self.candidates.get(&record.id);
        if record.worker != worker || !allowed.is_some_and(|values| values.contains(&record.n)) {
            self.violations
                .push(format!("{op:?} read {:?}, expected worker {worker} and n in {allowed:?}", record.data()));
        }
    }
}

async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Option<Result<T, StoreError>> {
    tokio::time::timeout(limit, call).await.ok()
}

async fn worker(
    worker: i32,
    storehaus: Arc<StoreHaus>,
    store: GenericStore<Item>,
    shared: Arc<Shared>,
    limit: Duration,
) -> Ledger {
    let mut ledger = Ledger::default();
    let mut step = worker as usize;
    while !shared.stop.load(Ordering::Relaxed) {
        step += 1;
        let mut op = OPS[step % OPS.len()];
        if ledger.confirmed.is_empty() && matches!(op, Op::GetById | Op::Find | Op::Update) {
            op = Op::Create;
        }
        // A spread of rows, old and new, without a random number generator.
        let known = (!ledger.confirmed.is_empty()).then(|| ledger.confirmed[(step * 7919) % ledger.confirmed.len()]);
        let stage = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let result: Option<Result<(), StoreError>> = match op {
            Op::Create => {
                let item = ledger.new_item(worker);
                let id = item.id;
                let result = within(limit, store.create(item, None)).await;
                if let Some(Ok(record)) = &result {
                    ledger.confirm(id);
                    ledger.check_read(op, record, worker);
                }
                result.map(|r| r.map(drop))
            }
            Op::GetById => {
                let id = known.expect("a confirmed row");
                let result = within(limit, store.get_by_id(&id)).await;
                match &result {
                    Some(Ok(Some(record))) => ledger.check_read(op, record, worker),
                    Some(Ok(None)) => ledger.violations.push(format!("acknowledged row {id} is missing")),
                    _ => {}
                }
                result.map(|r| r.map(drop))
            }
            Op::Find => {
                let ids: Vec<Uuid> = ledger.confirmed.iter().rev().take(8).copied().collect();
                let query = QueryBuilder::new()
                    .filter(QueryFilter::eq("worker", worker))
                    .filter(QueryFilter::in_values("id", ids.iter().map(Uuid::to_string)));
                let result = within(limit, store.find(query)).await;
                if let Some(Ok(records)) = &result {
                    let found: HashSet<Uuid> = records.iter().map(|r| r.id).collect();
                    if found != ids.iter().copied().collect() {
                        ledger.violations.push(format!("find returned {found:?} for acknowledged {ids:?}"));
                    }
                    for record in records {
                        ledger.check_read(op, record, worker);
                    }
                }
                result.map(|r| r.map(drop))
            }
            Op::Update => {
                let id = known.expect("a confirmed row");
                ledger.next_value += 1;
                let n = ledger.next_value;
                let result = within(limit, store.update(&id, Item { id, worker, n }, None)).await;
                match &result {
                    Some(Ok(record)) => {
                        ledger.candidates.insert(id, vec![n]);
                        ledger.check_read(op, record, worker);
                    }
                    _ => ledger.candidates.get_mut(&id).expect("a confirmed row").push(n),
                }
                result.map(|r| r.map(drop))
            }
            Op::Transaction => {
                let (a, b) = (ledger.new_item(worker), ledger.new_item(worker));
                let ids = vec![a.id, b.id];
                let reached = Arc::clone(&stage);
                let work = storehaus.transaction(|tx| {
                    let store = store.clone();
                    async move {
                        let items = store.with_transaction(&tx);
                        reached.store(1, Ordering::Relaxed);
                        items.create(a, None).await?;
                        reached.store(2, Ordering::Relaxed);
                        // Work between statements leaves the connection idle in the transaction,
                        // where a terminated backend is not noticed until the next statement.
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        reached.store(3, Ordering::Relaxed);
                        items.create(b, None).await?;
                        reached.store(4, Ordering::Relaxed);
                        Ok::<_, StoreError>(())
                    }
                });
                let result = within(limit, work).await;
                if let Some(Ok(())) = result {
                    ids.iter().for_each(|id| ledger.confirm(*id));
                }
                ledger.groups.push(ids);
                result
            }
            Op::CreateMany => {
                let items: Vec<Item> = (0..3).map(|_| ledger.new_item(worker)).collect();
                let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
                let result = within(limit, store.create_many(items, None)).await;
                if let Some(Ok(records)) = &result {
                    let returned: Vec<Uuid> = records.iter().map(|r| r.id).collect();
                    if returned != ids {
                        ledger.violations.push(format!("create_many returned {returned:?} for {ids:?}"));
                    }
                    ids.iter().for_each(|id| ledger.confirm(*id));
                }
                ledger.groups.push(ids);
                result.map(|r| r.map(drop))
            }
        };
        let outcome = match result {
            Some(Ok(())) => {
                shared.streak.fetch_add(1, Ordering::Relaxed);
                Outcome::Ok
            }
            Some(Err(error)) => {
                shared.streak.store(0, Ordering::Relaxed);
                Outcome::Failed(error)
            }
            None => {
                shared.streak.store(0, Ordering::Relaxed);
                Outcome::Hung
            }
        };
        let stage = stage.load(Ordering::Relaxed);
        ledger.calls.push(Call { op, started, ended: Instant::now(), outcome, stage });
    }
    ledger
}

/// Terminates every client backend of the test database but the admin's own; returns how many.
async fn terminate_backends(admin: &StoreHaus) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    .fetch_one(pg(admin))
    .await
    .expect("the admin connection terminates backends")
}

/// A short name of the error's kind, for counting.
fn kind(error: &StoreError) -> String {
    let first_word = |debug: String| debug.split(['(', ' ', '{']).next().unwrap_or_default().to_owned();
    match error {
        StoreError::Database { code: Some(code), .. } => format!("Database[{code}]"),
        StoreError::Database { source, .. } => match source.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Io(io)) => format!("Database(Io {:?})", io.kind()),
            _ => format!("Database({})", first_word(format!("{source:?}"))),
        },
        other => first_word(format!("{other:?}")),
    }
}

/// Runs the mixed load on `database` (settings of the test database, possibly through a proxy),
/// breaks its connections `FAULTS` times with `fault`, and checks the promise.
async fn load_under(db: &TestDatabase, database: DatabaseConfig, fault: Fault<'_>) {
    let name = match fault {
        Fault::NetworkReset(_) => "network reset",
        Fault::ServerTerminate => "server terminate",
    };
    // One connection, so that "every backend but mine" spares the admin pool entirely.
    let admin = StoreHaus::new(DatabaseConfig { max_connections: 1, ..db.config().clone() }).await.unwrap();
    admin.auto_migrate::<Item>(false).await.unwrap();
    let config = DatabaseConfig {
        max_connections: MAX_CONNECTIONS,
        connection_timeout_seconds: ACQUIRE_TIMEOUT_SECONDS,
        ..database
    };
    let storehaus = Arc::new(StoreHaus::new(config).await.unwrap());
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);
    let limit = Duration::from_secs(ACQUIRE_TIMEOUT_SECONDS) + CALL_MARGIN;

    let shared = Arc::new(Shared::default());
    let load_started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| tokio::spawn(worker(w, Arc::clone(&storehaus), store.clone(), Arc::clone(&shared), limit)))
        .collect();

    let mut faults: Vec<Instant> = Vec::new();
    let mut hit = Vec::new();
    for _ in 0..FAULTS {
        tokio::time::sleep(FAULT_EVERY).await;
        // Taken before the fault: its first victims may fail before the injection returns.
        faults.push(Instant::now());
        hit.push(match fault {
            Fault::NetworkReset(proxy) => {
                let open = proxy.open();
                proxy.reset_open();
                open as i64
            }
            Fault::ServerTerminate => terminate_backends(&admin).await,
        });
    }
    let first_fault = faults[0];
    let last_fault = faults[FAULTS - 1];
    shared.streak.store(0, Ordering::Relaxed);
    let recovered_at = loop {
        if shared.streak.load(Ordering::Relaxed) >= RECOVERY_STREAK {
            break Some(Instant::now());
        }
        if last_fault.elapsed() > RECOVERY_LIMIT {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    shared.stop.store(true, Ordering::Relaxed);
    let mut ledgers = Vec::new();
    for handle in workers {
        ledgers.push(handle.await.expect("a worker panicked"));
    }
    let load_time = load_started.elapsed();

    // Figures and verdicts over every call.
    let calls: Vec<&Call> = ledgers.iter().flat_map(|l| &l.calls).collect();
    let mut failed_by_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed_by_op: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed_before_faults = Vec::new();
    let mut not_transient = Vec::new();
    let mut hung = Vec::new();
    for call in &calls {
        let Outcome::Failed(error) = &call.outcome else {
            if matches!(call.outcome, Outcome::Hung) {
                let since_fault = faults.iter().rev().find(|at| **at <= call.started).map(|at| call.started - *at);
                hung.push(format!(
                    "{:?} started {since_fault:?} after a fault, stuck at {}",
                    call.op, STAGES[call.stage]
                ));
            }
            continue;
        };
        *failed_by_kind.entry(kind(error)).or_default() += 1;
        *failed_by_op.entry(format!("{:?}", call.op)).or_default() += 1;
        if call.ended < first_fault {
            failed_before_faults.push(format!("{:?}: {error:?}", call.op));
        }
        if !error.is_transient() {
            not_transient.push(format!("{:?}: {error:?}", call.op));
        }
    }
    let failed: usize = failed_by_kind.values().sum();
    let slowest = calls.iter().max_by_key(|c| c.ended - c.started).expect("calls were made");
    let first_success =
        calls.iter().filter(|c| matches!(c.outcome, Outcome::Ok) && c.started >= last_fault).map(|c| c.ended).min();
    println!(
        "figure: {name}: {} calls in {load_time:.1?} by {WORKERS} tasks on {MAX_CONNECTIONS} connections",
        calls.len()
    );
    println!("figure: {name}: {FAULTS} faults, each breaking {hit:?} connections");
    println!("figure: {name}: failed calls {failed}; by kind {failed_by_kind:?}; by operation {failed_by_op:?}");
    println!(
        "figure: {name}: slowest call {:?} took {:.1?} (limit {limit:?})",
        slowest.op,
        slowest.ended - slowest.started
    );
    println!(
        "figure: {name}: from the last fault to the first success {:.1?}, to {RECOVERY_STREAK} successes in a row {:.1?}",
        first_success.map(|t| t - last_fault),
        recovered_at.map(|t| t - last_fault)
    );

    assert!(hung.is_empty(), "calls ran past their limit of {limit:?}: {hung:#?}");
    assert!(not_transient.is_empty(), "failures not marked transient: {not_transient:#?}");
    assert!(failed_before_faults.is_empty(), "calls failed before any fault: {failed_before_faults:#?}");
    assert!(hit.iter().all(|&n| n > 0), "every fault found connections to break: {hit:?}");
    assert!(failed > 0, "no call failed, so the faults were not felt");
    assert!(
        recovered_at.is_some(),
        "no run of {RECOVERY_STREAK} successful calls within {RECOVERY_LIMIT:?} of the last fault"
    );
    let violations: Vec<&String> = ledgers.iter().flat_map(|l| &l.violations).collect();
    assert!(violations.is_empty(), "reads contradicted acknowledged writes: {violations:#?}");

    // The table, read directly: acknowledged rows are there, unknown ones are not, groups are
    // all or nothing, and each value is one a write could have left.
    let rows: Vec<(Uuid, i32, i64)> =
        sqlx::query_as(r#"SELECT "id", "worker", "n" FROM "fault_pg_items""#).fetch_all(pg(&admin)).await.unwrap();
    let stored: HashMap<Uuid, (i32, i64)> = rows.iter().map(|&(id, worker, n)| (id, (worker, n))).collect();
    let mut acknowledged = 0;
    for (worker, ledger) in (0..WORKERS).zip(&ledgers) {
        for id in &ledger.confirmed {
            acknowledged += 1;
            let (stored_worker, n) = stored.get(id).unwrap_or_else(|| panic!("acknowledged row {id} is missing"));
            assert_eq!(*stored_worker, worker, "row {id}");
            let allowed = &ledger.candidates[id];
            assert!(allowed.contains(n), "row {id} holds n = {n}, which no write left (allowed {allowed:?})");
        }
        for group in &ledger.groups {
            let present = group.iter().filter(|id| stored.contains_key(id)).count();
            assert!(present == 0 || present == group.len(), "only {present} of the atomic writes {group:?} exist");
        }
    }
    let unacknowledged: Vec<_> =
        stored.keys().filter(|id| !ledgers.iter().any(|l| l.candidates.contains_key(id))).collect();
    for id in &unacknowledged {
        assert!(ledgers.iter().any(|l| l.attempted.contains(id)), "row {id} was never written by the test");
        assert_eq!(stored[id].1, 0, "row {id} was never acknowledged, so never updated");
    }
    println!(
        "figure: {name}: {} rows stored: {acknowledged} acknowledged, {} from failed calls that reached the server",
        stored.len(),
        unacknowledged.len()
    );

    // Every connection comes back to the pool: none is stuck on a broken socket.
    let health = tokio::time::timeout(limit, storehaus.health_check()).await.expect("health check in time").unwrap();
    assert!(health.connections <= MAX_CONNECTIONS, "{health:?}");
    tokio::time::timeout(limit, storehaus.close()).await.expect("the pool closes: every connection came back");
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_reset_by_the_network_mid_load_fail_transiently_and_the_pool_recovers() {
    let Some(db) = TestDatabase::new().await else { return };
    let (proxy, proxied) = fault_proxy::in_front_of(db.config()).await;
    load_under(&db, proxied, Fault::NetworkReset(&proxy)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backends_terminated_by_the_server_mid_load_fail_transiently_and_the_pool_recovers() {
    let Some(db) = TestDatabase::new().await else { return };
    // Through the proxy, passing traffic through: the server's side of the connection ends and
    // the proxy passes that on, as a network path between two hosts does.
    let (_proxy, proxied) = fault_proxy::in_front_of(db.config()).await;
    load_under(&db, proxied, Fault::ServerTerminate).await;
}

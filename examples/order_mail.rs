//! A durable consumer in two processes: this program writes orders, and two copies of itself,
//! started as consumer processes `A` and `B`, send the order e-mail for each (here: a row in
//! `order_mail_sent_mails`). Halfway through, process A is killed with SIGKILL and not restarted:
//! B takes its partitions over from their last saved positions, redelivered events are
//! recognised with `Transaction::mark_handled`, and every order gets exactly one mail.
//!
//! ```text
//! cargo run --example order_mail
//! ```
//!
//! It reads its configuration with `AppConfig::load()` (`DATABASE_URL`, default
//! `postgres://postgres@localhost:5432/storehaus`; see docs/configuration.md) and needs
//! PostgreSQL: durable consumers keep their positions in the database. The consumer processes
//! get the same URL. It recreates the tables `order_mail_orders` and `order_mail_sent_mails`,
//! and at the end drops them and removes the consumer (the order events stay in the event log
//! until retention prunes them). It prints what each process sent and exits non-zero when an
//! order got no mail or two, or when an event became a dead letter. Whatever happens, it kills
//! and waits for the processes it started; and a consumer process whose parent dies ends by
//! itself, since its standard input closes. docs/signals.md (*Durable consumers*) is the guide.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use storehaus::prelude::*;
use storehaus::signals::{CallbackError, Subscription};
use tokio::sync::mpsc;

#[model]
#[table(name = "order_mail_orders")]
pub struct Order {
    #[primary_key]
    pub id: Uuid,
    pub number: i32,
    pub email: String,
}

/// The outbox: one row per mail sent. No unique key on `order_id`, so a mail sent twice would
/// show as two rows.
#[model]
#[table(name = "order_mail_sent_mails")]
pub struct SentMail {
    #[primary_key]
    pub id: Uuid,
    #[index]
    pub order_id: Uuid,
    pub recipient: String,
    /// The consumer process that sent it, `A` or `B`.
    pub sent_by: String,
}

/// The consumer's name: the same in both processes, so they share its partitions.
const CONSUMER: &str = "order-mail";
const PARTITIONS: u32 = 4;
/// Orders written before process A is killed, and after.
const FIRST_HALF: i32 = 100;
const ORDERS: i32 = 200;
/// Mails A sends before it is killed (at least).
const KILL_AFTER: u64 = 10;
/// How long sending one mail takes.
const SEND_TIME: Duration = Duration::from_millis(5);
/// Upper bound of each wait; a step that takes longer fails the run.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// What a consumer process prints once it holds partitions.
const READY: &str = "ready";

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Res {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => orders().await,
        ["consumer", label] => consumer(label).await,
        _ => Err("usage: order_mail [consumer LABEL]".into()),
    }
}

/// The first process: writes the orders, runs and kills the consumers, checks the mails.
async fn orders() -> Res {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    if storehaus.pool().as_postgres().is_none() {
        return Err("order_mail needs PostgreSQL (durable consumers keep their positions there): \
                    set DATABASE_URL=postgres://…"
            .into());
    }
    println!("order_mail on {}", config.database.redacted_url());
    storehaus.auto_migrate::<Order>(true).await?;
    storehaus.auto_migrate::<SentMail>(true).await?;
    let signals = storehaus.signal_manager(config.signal.clone()).await?;
    // A run that was interrupted may have left the consumer registered, with its position.
    signals.remove_consumer(CONSUMER).await?;

    let outcome = run(&storehaus, &signals, &config.database.to_url()).await;

    signals.remove_consumer(CONSUMER).await?;
    for table in [Order::TABLE.name, SentMail::TABLE.name] {
        drop_table(storehaus.pool(), table).await?;
    }
    storehaus.close().await;
    outcome
}

async fn run(storehaus: &StoreHaus, signals: &Arc<SignalManager>, url: &str) -> Res {
    let orders = GenericStore::<Order>::new(storehaus.pool().clone(), Some(Arc::clone(signals)), None);
    let mails = GenericStore::<SentMail>::new(storehaus.pool().clone(), None, None);
    let started = Instant::now();

    // Both processes register the consumer and split its partitions before the first order.
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let mut processes = Processes::default();
    for label in ["A", "B"] {
        processes.start(label, url, ready_tx.clone())?;
    }
    drop(ready_tx);
    for _ in 0..2 {
        let label = within(STEP_TIMEOUT, "a consumer process to start", ready.recv())
            .await?
            .ok_or("a consumer process ended before it held a partition")?;
        println!("consumer {label} holds its partitions");
    }

    write_orders(&orders, 0..FIRST_HALF).await?;
    within(STEP_TIMEOUT, "process A to send its first mails", async {
        while sent_by(&mails, "A").await? < KILL_AFTER {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok::<_, StoreError>(())
    })
    .await??;
    processes.kill("A");
    let at_kill = mails.count().await?;
    println!("killed consumer A (SIGKILL) with {at_kill} of the first {FIRST_HALF} orders mailed; it is not restarted");

    write_orders(&orders, FIRST_HALF..ORDERS).await?;
    within(STEP_TIMEOUT, "every order to be mailed", async {
        while mails.count().await? < ORDERS as u64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok::<_, StoreError>(())
    })
    .await??;
    // A mail sent twice would be committed by now as well; B says what it did as it stops.
    processes.stop("B").await?;

    report(&mails, signals, started.elapsed()).await
}

/// Creates orders `numbers`, ten per transaction.
async fn write_orders(orders: &GenericStore<Order>, numbers: std::ops::Range<i32>) -> Res {
    let all: Vec<Order> =
        numbers.map(|n| Order::new(Uuid::new_v4(), n + 1, format!("customer{}@shop.example", n + 1))).collect();
    for batch in all.chunks(10) {
        orders.create_many(batch.to_vec(), None).await?;
    }
    Ok(())
}

/// Mails sent by process `label` so far.
async fn sent_by(mails: &GenericStore<SentMail>, label: &str) -> storehaus::Result<u64> {
    mails.count_where(QueryBuilder::new().filter(SentMail::columns().sent_by.eq(label))).await
}

/// Compares the mails with the orders and prints the report; an error when one is off.
async fn report(mails: &GenericStore<SentMail>, signals: &SignalManager, elapsed: Duration) -> Res {
    let sent = mails.list_all().await?;
    let mut per_order: std::collections::HashMap<Uuid, u32> = std::collections::HashMap::new();
    let mut per_process: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    for mail in &sent {
        *per_order.entry(mail.order_id).or_default() += 1;
        *per_process.entry(mail.sent_by.clone()).or_default() += 1;
    }
    let duplicates = sent.len() - per_order.len();
    let lost = ORDERS as usize - per_order.len();
    let dead_letters = signals.dead_letters(CONSUMER)?.list().await?.len();
    let senders: Vec<String> = per_process.iter().map(|(label, n)| format!("{label} {n}")).collect();

    println!();
    println!("orders:       {ORDERS}");
    println!("mails sent:   {} ({})", sent.len(), senders.join(", "));
    println!("lost:         {lost}");
    println!("duplicates:   {duplicates}");
    println!("dead letters: {dead_letters}");
    println!("time:         {:.1} s", elapsed.as_secs_f64());
    if lost > 0 || duplicates > 0 || dead_letters > 0 {
        return Err(
            format!("{lost} orders without a mail, {duplicates} sent twice, {dead_letters} dead letters").into()
        );
    }
    println!("order_mail: every order got exactly one mail");
    Ok(())
}

/// A consumer process: sends the mail of every order event of its partitions until its
/// standard input closes (or it is killed).
async fn consumer(label: &str) -> Res {
    let config = AppConfig::load()?;
    let storehaus = Arc::new(StoreHaus::new(config.database).await?);
    let signals = storehaus.signal_manager(config.signal).await?;
    let counts = Arc::new(Counts::default());
    let mail = {
        let (storehaus, counts, label) = (Arc::clone(&storehaus), Arc::clone(&counts), label.to_owned());
        signals
            .consumer(CONSUMER)
            .subscription(Subscription::table(Order::TABLE.name).events([EventType::Create]))
            .partitions(PARTITIONS)
            .start(move |event| {
                let (storehaus, counts, label) = (Arc::clone(&storehaus), Arc::clone(&counts), label.clone());
                async move { send_mail(&storehaus, &counts, &label, event).await }
            })
            .await?
    };
    let deadline = Instant::now() + STEP_TIMEOUT;
    while mail.stats().partitions_held == 0 {
        if Instant::now() > deadline {
            return Err("no partition became free".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tell_parent(READY)?;

    // The parent closes the pipe to stop this process the orderly way.
    tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await??;
    mail.stop().await;
    let (sent, again) = (counts.sent.load(Ordering::Relaxed), counts.already_sent.load(Ordering::Relaxed));
    storehaus.close().await;
    // A parent that died is not there to read it; the position is saved all the same.
    let _ = tell_parent(&format!(
        "stopped: sent {sent} mails; {again} events came again after A was killed and were recognised as sent"
    ));
    Ok(())
}

/// Writes a line to the parent through standard output; an error when the parent is gone.
fn tell_parent(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    already_sent: AtomicU64,
}

/// The callback: records the mail and that the event was handled in one transaction, so a
/// redelivered event (the other process may have sent it before it died) sends nothing.
async fn send_mail(
    storehaus: &StoreHaus,
    counts: &Counts,
    label: &str,
    event: DatabaseEvent,
) -> Result<(), CallbackError> {
    let order_id: Uuid = event.record_id.parse()?;
    let recipient = event.payload["email"].as_str().ok_or("the order event has no e-mail")?.to_owned();
    tokio::time::sleep(SEND_TIME).await;
    let tx = storehaus.begin().await?;
    if tx.mark_handled(CONSUMER, &event).await? {
        let outbox = GenericStore::<SentMail>::new(storehaus.pool().clone(), None, None);
        let mail = SentMail::new(Uuid::new_v4(), order_id, recipient, label.to_owned());
        outbox.with_transaction(&tx).create(mail, None).await?;
        tx.commit().await?;
        counts.sent.fetch_add(1, Ordering::Relaxed);
    } else {
        tx.commit().await?;
        counts.already_sent.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// The consumer processes; every one still running is killed and waited for on drop, so no
/// path out of the program leaves one behind.
#[derive(Debug, Default)]
struct Processes {
    running: Vec<(&'static str, Child)>,
}

impl Processes {
    /// Starts this program as consumer `label`; its output is shown prefixed with the label, and
    /// the label is sent on `ready` once it holds partitions.
    fn start(&mut self, label: &'static str, url: &str, ready: mpsc::UnboundedSender<&'static str>) -> Res {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["consumer", label])
            .env("DATABASE_URL", url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no pipe to the consumer")?;
        self.running.push((label, child));
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == READY {
                    let _ = ready.send(label);
                } else {
                    println!("  [consumer {label}] {line}");
                }
            }
        });
        Ok(())
    }

    /// Kills process `label` at once (SIGKILL on Unix): no stop, no saved position.
    fn kill(&mut self, label: &str) {
        if let Some(at) = self.running.iter().position(|(l, _)| *l == label) {
            let (_, mut child) = self.running.remove(at);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops process `label` the orderly way: closes its input and waits for it to exit.
    async fn stop(&mut self, label: &str) -> Res {
        let Some(at) = self.running.iter().position(|(l, _)| *l == label) else { return Ok(()) };
        drop(self.running[at].1.stdin.take());
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if let Some(status) = self.running[at].1.try_wait()? {
                self.running.remove(at);
                return if status.success() { Ok(()) } else { Err(format!("consumer {label} {status}").into()) };
            }
            if Instant::now() > deadline {
                return Err(format!("consumer {label} did not stop").into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child) in &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `work`, or an error saying what did not happen within `limit`.
async fn within<T>(limit: Duration, what: &str, work: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(limit, work).await.map_err(|_| format!("waited {limit:?} for {what}"))
}

/// Drops `table`. StoreHaus has no call for this, so the statement goes to the driver's pool.
async fn drop_table(pool: &DbPool, table: &str) -> Res {
    // `table` is one of this program's own table names, never input.
    let sql = format!("DROP TABLE IF EXISTS \"{table}\"");
    if let Some(postgres) = pool.as_postgres() {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(postgres).await?;
    }
    Ok(())
}

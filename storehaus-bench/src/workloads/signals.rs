//! Commit → callback latency of a change signal.
//!
//! StoreHaus: a store with a `SignalManager`; a sample takes the time right after `create`
//! returns (its commit is done) and the time its callback starts, sent back over a channel.
//! The floor (`sqlx`): a raw `PgListener` on `LISTEN`, and `INSERT` + `pg_notify` in a
//! transaction; the time right after `COMMIT` returns and the time the listener task receives
//! the notification. The sample is the difference (0 when the callback came first).

use crate::Result;
use crate::runner::{Contender, Cost, measure};
use crate::schema::{USERS, User, new_user, truncate};
use crate::setup::Bench;
use crate::sql;
use crate::stats::Summary;
use sqlx::postgres::PgListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use storehaus::GenericStore;
use storehaus::signals::{EventType, SignalConfig, Subscription};
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

pub const NAME: &str = "signal_latency";
const CHANNEL: &str = "storehaus_bench_doorbell";
/// Far beyond any healthy latency; a sample that waits this long fails the run.
const WAIT: Duration = Duration::from_secs(5);

/// Arrival times, one per delivered change.
struct Arrivals {
    rx: Mutex<UnboundedReceiver<Instant>>,
    /// Samples whose callback started before the writer got its commit back.
    early: AtomicUsize,
}

impl Arrivals {
    /// Forgets arrivals left from earlier samples, if any.
    async fn clear(&self) {
        let mut rx = self.rx.lock().await;
        while rx.try_recv().is_ok() {}
    }

    /// Waits for the arrival of the change committed at `committed`.
    async fn latency(&self, committed: Instant) -> Result<Duration> {
        let fired = tokio::time::timeout(WAIT, self.rx.lock().await.recv()).await?.ok_or("the listener stopped")?;
        if fired < committed {
            self.early.fetch_add(1, Ordering::Relaxed);
        }
        Ok(fired.saturating_duration_since(committed))
    }
}

fn user(b: &Bench) -> User {
    let id = b.fresh_ids(1).start;
    new_user(id, id as usize, Some("black"))
}

pub async fn run(b: &Bench) -> Result<Vec<Summary>> {
    truncate(&b.setup, &[USERS]).await?;

    let signals = b.storehaus.signal_manager(SignalConfig::default()).await?;
    let store = &GenericStore::<User>::new(b.storehaus.pool().clone(), Some(signals.clone()), None);
    let (tx, rx) = unbounded_channel();
    signals.add_callback_for(Subscription::table(USERS).events([EventType::Create]), move |_event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Instant::now());
            Ok(())
        }
    })?;
    let storehaus_arrivals = &Arrivals { rx: Mutex::new(rx), early: AtomicUsize::new(0) };

    let mut listener = PgListener::connect_with(&b.sqlx).await?;
    listener.listen(CHANNEL).await?;
    let (tx, rx) = unbounded_channel();
    let listening = tokio::spawn(async move {
        while listener.recv().await.is_ok() {
            if tx.send(Instant::now()).is_err() {
                break;
            }
        }
    });
    let raw_arrivals = &Arrivals { rx: Mutex::new(rx), early: AtomicUsize::new(0) };

    let mut contenders = vec![
        Contender::new("storehaus", move |_| {
            Box::pin(async move {
                let user = user(b);
                storehaus_arrivals.clear().await;
                store.create(user, None).await?;
                storehaus_arrivals.latency(Instant::now()).await
            })
        }),
        Contender::new("sqlx", move |_| {
            Box::pin(async move {
                let user = user(b);
                raw_arrivals.clear().await;
                let mut tx = b.sqlx.begin().await?;
                sqlx::query(sql::INSERT_USER)
                    .bind(user.id)
                    .bind(&user.name)
                    .bind(&user.hair_color)
                    .bind(Vec::<String>::new())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(&mut *tx).await?;
                tx.commit().await?;
                raw_arrivals.latency(Instant::now()).await
            })
        }),
    ];
    let summaries = measure(NAME, 1, b.mode.plan(Cost::Light), &mut contenders).await?;
    drop(contenders);

    signals.shutdown().await;
    listening.abort();
    for (who, arrivals) in [("storehaus", storehaus_arrivals), ("sqlx", raw_arrivals)] {
        let early = arrivals.early.load(Ordering::Relaxed);
        if early > 0 {
            b.note(format!("{NAME}: {early} {who} samples arrived before the commit returned (counted as 0 µs)"));
        }
    }
    Ok(summaries)
}

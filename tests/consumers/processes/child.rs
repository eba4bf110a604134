//! The child side: a process running one durable consumer until it is killed.

use super::Mail;
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::signals::{CallbackResult, Subscription};
use storehaus_suite::pg;

/// Set (to `1`) in a child's environment; without it the child test returns at once.
pub const CHILD: &str = "STOREHAUS_CONSUMER_CHILD";
/// The URL of the test database.
pub const DATABASE_URL: &str = "STOREHAUS_CHILD_DATABASE_URL";
/// The consumer's name.
pub const CONSUMER: &str = "STOREHAUS_CHILD_CONSUMER";
/// The consumer's partition count.
pub const PARTITIONS: &str = "STOREHAUS_CHILD_PARTITIONS";
/// What the child writes into `deliveries.child`, `mails.child` and `child_status.child`.
pub const LABEL: &str = "STOREHAUS_CHILD_LABEL";

/// A child left behind (its parent killed before it could kill it) ends by itself after this.
const LIFETIME: Duration = Duration::from_secs(120);

/// What a child needs in its callback.
struct Context {
    storehaus: StoreHaus,
    mails: GenericStore<Mail>,
    consumer: String,
    label: String,
}

/// A number in `0..bound`, from the randomness of a version 4 UUID.
pub fn random_below(bound: u64) -> u64 {
    (Uuid::new_v4().as_u128() % u128::from(bound)) as u64
}

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("a child consumer needs {name}"))
}

/// Runs the consumer the environment describes, when [`CHILD`] is set: until killed, until its
/// parent is gone, or for [`LIFETIME`] at most.
pub async fn run_if_asked() {
    if std::env::var(CHILD).as_deref() != Ok("1") {
        return;
    }
    let parent = std::os::unix::process::parent_id();
    let mut config = DatabaseConfig::from_url(&setting(DATABASE_URL)).expect("a database URL");
    // One callback at a time per partition needs few connections; the server is shared.
    config.max_connections = 6;
    let storehaus = StoreHaus::new(config).await.expect("the test database");
    let partitions: u32 = setting(PARTITIONS).parse().expect("a partition count");
    let context = Arc::new(Context {
        mails: GenericStore::new(storehaus.pool().clone(), None, None),
        storehaus,
        consumer: setting(CONSUMER),
        label: setting(LABEL),
    });
    let manager = context
        .storehaus
        .signal_manager(SignalConfig { heartbeat_seconds: 2, ..SignalConfig::default() })
        .await
        .unwrap();
    let handler = Arc::clone(&context);
    let consumer = manager
        .consumer(context.consumer.clone())
        .partitions(partitions)
        .subscription(Subscription::table("orders").events([EventType::Create]))
        .from_beginning()
        .start(move |event| {
            let context = Arc::clone(&handler);
            async move { deliver(&context, event).await }
        })
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + LIFETIME;
    while tokio::time::Instant::now() < deadline && std::os::unix::process::parent_id() == parent {
        sqlx::query(
            "INSERT INTO child_status (child, partitions_held, reported_at) VALUES ($1, $2, now()) \
             ON CONFLICT (child) DO UPDATE SET partitions_held = EXCLUDED.partitions_held, \
             reported_at = EXCLUDED.reported_at",
        )
        .bind(&context.label)
        .bind(i32::try_from(consumer.stats().partitions_held).unwrap_or(i32::MAX))
        .execute(pg(&context.storehaus))
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    consumer.stop().await;
    manager.shutdown().await;
}

/// The callback: records the delivery first, in autocommit, so a kill at any later point still
/// leaves evidence of it; then mails the order exactly once, in one transaction with
/// `mark_handled`; then records that the delivery ended.
async fn deliver(context: &Context, event: DatabaseEvent) -> CallbackResult {
    let db = pg(&context.storehaus);
    let delivery: i64 = sqlx::query_scalar(
        "INSERT INTO deliveries (event_id, order_id, child, started_at) VALUES ($1, $2, $3, clock_timestamp()) \
         RETURNING id",
    )
    .bind(event.id)
    .bind(&event.record_id)
    .bind(&context.label)
    .fetch_one(db)
    .await?;
    let tx = context.storehaus.begin().await?;
    if tx.mark_handled(&context.consumer, &event).await? {
        // A pause inside the transaction, so that kills often land between the mark and the
        // mail and prove that neither is kept without the other.
        tokio::time::sleep(Duration::from_millis(random_below(4))).await;
        let mail = Mail::new(Uuid::new_v4(), event.record_id.clone(), context.label.clone());
        context.mails.with_transaction(&tx).create(mail, None).await?;
    }
    tx.commit().await?;
    sqlx::query("UPDATE deliveries SET ended_at = clock_timestamp() WHERE id = $1").bind(delivery).execute(db).await?;
    Ok(())
}

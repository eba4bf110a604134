//! The shared store: state that services share through Redis, isolated per tenant. A billing
//! service keeps an organization's settings in kv, limits its calls with a counter that expires,
//! lets one of three racing workers claim a job, tells two subscribers that an invoice was paid,
//! and exports invoices through a stream read by a group of two consumers, one of which dies
//! mid-batch: the survivor takes its messages over with `claim_stale`.
//!
//! ```text
//! cargo run --example shared_store
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example shared_store
//! ```
//!
//! It runs on Redis when `REDIS_URL` is set, which must then answer, and on the in-memory cache
//! otherwise. Its keys are under a prefix of this run alone and deleted at the end. Every step
//! reads its result back and the example exits non-zero when one is not what it should be.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use storehaus::cache::shared::{
    EventContext, Namespace, SharedStore, SharedStoreError, StreamAppend, StreamGroup, StreamMessage,
};
use storehaus::prelude::*;
use tokio::sync::{Barrier, mpsc};

const SERVICE: &str = "billing-api";
/// Calls an organization may make per window, and how many it tries.
const LIMIT: i64 = 3;
const ATTEMPTS: i64 = 5;
/// Invoices exported through the stream, and how many each read takes.
const INVOICES: i64 = 6;
const BATCH: usize = 3;
/// How long a message must wait unacknowledged before another consumer takes it over.
const STALE_AFTER: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Settings {
    plan: String,
    seats: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct InvoicePaid {
    invoice: i64,
    cents: i64,
}

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> Res {
    let redis_url = std::env::var("REDIS_URL").ok().filter(|url| !url.is_empty());
    let (cache, runs_on) = match &redis_url {
        Some(url) => {
            let config = CacheConfig::from_url(url)?;
            let on = format!("Redis at {}", config.redacted_url());
            (CacheManager::new(config)?, on)
        }
        None => (CacheManager::memory(&CacheConfig::default())?, "memory".to_owned()),
    };
    if let Err(error) = cache.ping().await {
        return Err(format!("the cache in {runs_on} does not answer: {error}").into());
    }
    let cache = Arc::new(cache);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let prefix = format!("shared_store_example:{}-{nanos}", std::process::id());

    let store = SharedStore::builder(cache.clone())
        .service(SERVICE)
        .prefix(prefix.as_str())
        .scope_kind("organization", true)
        .event::<InvoicePaid>("invoice:paid")
        .build()?;
    println!("Shared store of {SERVICE} on {runs_on}, keys under {prefix}:{SERVICE}");
    let acme = store.scope("organization", "acme")?;
    let globex = store.scope("organization", "globex")?;

    let outcome = run(&store, &acme, &globex).await;
    let stats = store.stats();
    // The clean-up runs whatever happened, so a failed run leaves nothing behind either.
    let removed = clean_up(cache, &prefix).await?;
    println!("removed {removed} keys of this run");
    outcome?;
    println!("stats: {stats:?}");
    check(stats.failures as i64, 0, "failed operations")?;
    println!("shared_store: every check passed");
    Ok(())
}

async fn run(store: &SharedStore, acme: &SharedStore, globex: &SharedStore) -> Res {
    settings(store, acme, globex).await?;
    rate_limit(acme).await?;
    claim_job(acme).await?;
    events(acme, globex).await?;
    export_stream(acme).await
}

/// An organization's settings in kv: only that organization sees them.
async fn settings(store: &SharedStore, acme: &SharedStore, globex: &SharedStore) -> Res {
    let settings = Settings { plan: "team".into(), seats: 12 };
    acme.kv().set("settings", &settings, None).await?;
    let read: Option<Settings> = acme.kv().get("settings").await?;
    println!("acme settings: {read:?} at {}", acme.key(Namespace::Kv, "settings"));
    if read.as_ref() != Some(&settings) {
        return Err(format!("acme's settings read back as {read:?}").into());
    }
    if globex.kv().get::<Settings>("settings").await?.is_some() {
        return Err("globex sees acme's settings".into());
    }
    match store.kv().get::<Settings>("settings").await {
        Err(SharedStoreError::MissingScope { kind }) if kind == "organization" => {
            println!("a store without an organization is refused: MissingScope {{ kind: {kind:?} }}");
            Ok(())
        }
        other => Err(format!("a store without an organization should be refused, got {other:?}").into()),
    }
}

/// A rate limit: a counter per window that expires with it.
async fn rate_limit(acme: &SharedStore) -> Res {
    let counter = acme.counter();
    let mut allowed = 0;
    for _ in 0..ATTEMPTS {
        let calls = counter.increment("calls:window", 1).await?;
        if calls == 1 {
            counter.expire("calls:window", Duration::from_secs(60)).await?;
        }
        if calls <= LIMIT {
            allowed += 1;
        }
    }
    let count = counter.get("calls:window").await?;
    // The counter API has no TTL read; the adapter answers it for the counter's full key.
    let key = acme.key(Namespace::Counter, "calls:window");
    let Some(left) = acme.adapter().ttl(&key).await? else {
        return Err(format!("the window of {key} does not expire").into());
    };
    println!("rate limit: {allowed} of {ATTEMPTS} calls allowed, counter at {count}, window ends in {left:.0?}");
    check(allowed, LIMIT, "calls allowed")?;
    check(count, ATTEMPTS, "calls counted")?;
    if left > Duration::from_secs(60) {
        return Err(format!("the window of {key} should end within 60 s, ends in {left:?}").into());
    }
    check(i64::from(counter.reset("calls:window").await?), 1, "counter reset")?;
    check(counter.get("calls:window").await?, 0, "calls after the reset")
}

/// Three workers race for one job; exactly one gets it, does it, and releases it. The second
/// barrier keeps the winner from releasing before every worker has tried, so the race is real.
async fn claim_job(acme: &SharedStore) -> Res {
    let (start, tried) = (Arc::new(Barrier::new(3)), Arc::new(Barrier::new(3)));
    let workers: Vec<_> = ["worker-1", "worker-2", "worker-3"]
        .into_iter()
        .map(|worker| {
            let (org, start, tried) = (acme.clone(), start.clone(), tried.clone());
            tokio::spawn(async move {
                start.wait().await;
                let claimed = org.claim().once("job:invoice-42", worker, Duration::from_secs(30)).await;
                tried.wait().await;
                let Some(claim) = claimed? else {
                    return Ok::<_, SharedStoreError>(None);
                };
                if org.claim().owner(claim.key()).await?.as_deref() != Some(worker) {
                    return Ok(None);
                }
                org.kv().set("job:invoice-42:done-by", &worker, Some(Duration::from_secs(60))).await?;
                org.claim().release(claim.key(), claim.owner()).await?;
                Ok(Some(worker))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for worker in workers {
        winners.extend(worker.await??);
    }
    println!("job:invoice-42 claimed and done by {winners:?}");
    check(winners.len() as i64, 1, "workers that got the job")?;
    let done_by: Option<String> = acme.kv().get("job:invoice-42:done-by").await?;
    if done_by.as_deref() != Some(winners[0]) {
        return Err(format!("the job was recorded as done by {done_by:?}").into());
    }
    if let Some(owner) = acme.claim().owner("job:invoice-42").await? {
        return Err(format!("the claim is still held by {owner}").into());
    }
    Ok(())
}

/// Two subscribers of acme receive the event, with its scope and actor; globex's does not.
async fn events(acme: &SharedStore, globex: &SharedStore) -> Res {
    let (seen, mut received) = mpsc::unbounded_channel();
    let mut subscriptions = Vec::new();
    for (org, name) in [(acme, "mailer"), (acme, "audit"), (globex, "globex-audit")] {
        let seen = seen.clone();
        let handler = move |ctx: EventContext<InvoicePaid>| {
            let seen = seen.clone();
            async move {
                let _ = seen.send((name, ctx));
            }
        };
        subscriptions.push(org.events().subscribe("invoice:paid", handler).await?);
    }
    let paid = InvoicePaid { invoice: 42, cents: 9_900 };
    let receivers = acme.with_actor("user:7").events().publish("invoice:paid", &paid).await?;
    println!("invoice:paid published to {receivers} subscriptions");

    let mut got = BTreeSet::new();
    while got.len() < 2 {
        let (name, ctx) = tokio::time::timeout(Duration::from_secs(5), received.recv())
            .await
            .map_err(|_| format!("only {got:?} received invoice:paid within 5 s"))?
            .ok_or("the subscriptions stopped")?;
        println!("{name}: {} {:?} from {:?} in {:?}", ctx.event_type, ctx.data, ctx.actor, ctx.scope);
        let scope = ctx.scope.as_ref().map(|scope| (scope.key.as_str(), scope.identifier.as_str()));
        if ctx.data != paid || ctx.actor.as_deref() != Some("user:7") || scope != Some(("organization", "acme")) {
            return Err(format!("{name} received {ctx:?}").into());
        }
        got.insert(name);
    }
    // A message on globex's channel would have arrived by now, after acme's two.
    tokio::time::sleep(Duration::from_millis(100)).await;
    if let Ok((name, ctx)) = received.try_recv() {
        return Err(format!("{name} received {ctx:?} as well").into());
    }
    for subscription in subscriptions {
        subscription.unsubscribe().await;
    }
    Ok(())
}

/// Invoices exported through a stream by a group of two consumers. Worker A dies with part of
/// its batch unacknowledged; worker B exports its own messages, then takes A's over.
async fn export_stream(acme: &SharedStore) -> Res {
    let streams = acme.streams();
    for invoice in 1..=INVOICES {
        streams.append("exports", &InvoicePaid { invoice, cents: invoice * 100 }, StreamAppend::max_len(1_000)).await?;
    }
    let a = streams.group("exporters", "worker-a");
    let b = streams.group("exporters", "worker-b");
    check(i64::from(a.ensure("exports", "0").await?), 1, "group created")?;
    check(i64::from(b.ensure("exports", "0").await?), 0, "group created twice")?;

    // Worker A reads a batch, exports and acknowledges its first message, and dies on the second.
    let (first_done, mut first_done_rx) = mpsc::unbounded_channel();
    let worker_a = tokio::spawn({
        let a = a.clone();
        async move {
            let batch = a.read::<InvoicePaid>("exports", BATCH, Some(Duration::from_secs(1))).await?;
            a.ack("exports", &[batch[0].id.clone()]).await?;
            let _ = first_done.send(batch[0].data.invoice);
            std::future::pending::<()>().await; // stuck on the second message until it dies
            Ok::<_, SharedStoreError>(())
        }
    });
    let first = tokio::time::timeout(Duration::from_secs(5), first_done_rx.recv()).await?.ok_or("worker A failed")?;
    worker_a.abort();
    let _ = worker_a.await;
    println!("worker A exported invoice {first}, then died with {} unacknowledged", BATCH - 1);

    let mut exported = BTreeSet::from([first]);
    exported.extend(export_batch(&b, b.read("exports", BATCH, Some(Duration::from_secs(1))).await?).await?);
    let pending = b.pending("exports").await?;
    println!("worker B exported its batch; pending: {pending:?}");
    check(pending.count as i64, (BATCH - 1) as i64, "messages pending after A died")?;
    if pending.consumers != [("worker-a".to_owned(), (BATCH - 1) as u64)] {
        return Err(format!("the pending messages should all be worker A's: {:?}", pending.consumers).into());
    }

    // Nothing is stale yet; once A's messages wait longer than STALE_AFTER, B takes them.
    check(b.claim_stale::<InvoicePaid>("exports", STALE_AFTER, 10).await?.len() as i64, 0, "claimed early")?;
    tokio::time::sleep(STALE_AFTER + Duration::from_millis(50)).await;
    let rescued: Vec<StreamMessage<InvoicePaid>> = b.claim_stale("exports", STALE_AFTER, 10).await?;
    println!("worker B took over {:?}", rescued.iter().map(|m| m.data.invoice).collect::<Vec<_>>());
    exported.extend(export_batch(&b, rescued).await?);

    check(exported.len() as i64, INVOICES, "invoices exported")?;
    check(b.pending("exports").await?.count as i64, 0, "messages pending at the end")?;
    check(streams.len("exports").await? as i64, INVOICES, "stream length")?;
    println!("all {INVOICES} invoices exported once: {exported:?}");
    Ok(())
}

/// Exports `messages` (here: collects their invoice numbers) and acknowledges them.
async fn export_batch(group: &StreamGroup, messages: Vec<StreamMessage<InvoicePaid>>) -> Res<Vec<i64>> {
    let ids: Vec<String> = messages.iter().map(|message| message.id.clone()).collect();
    check(group.ack("exports", &ids).await? as i64, ids.len() as i64, "messages acknowledged")?;
    Ok(messages.into_iter().map(|message| message.data.invoice).collect())
}

/// Deletes every key under this run's prefix, through a store without scopes that sees them all.
async fn clean_up(cache: Arc<CacheManager>, prefix: &str) -> Res<usize> {
    let all = SharedStore::builder(cache).service(SERVICE).prefix(prefix).build()?;
    let keys = every_key(&all).await?;
    if !keys.is_empty() {
        all.adapter().delete(&keys).await?;
    }
    let left = every_key(&all).await?;
    if !left.is_empty() {
        return Err(format!("keys left after the clean-up: {left:?}").into());
    }
    Ok(keys.len())
}

/// Every key of `store`, by a full scan.
async fn every_key(store: &SharedStore) -> Res<Vec<String>> {
    let mut keys = BTreeSet::new();
    let mut cursor = 0;
    loop {
        let page = store.dev().scan("*", cursor, 500).await?;
        keys.extend(page.keys);
        if page.cursor == 0 {
            return Ok(keys.into_iter().collect());
        }
        cursor = page.cursor;
    }
}

fn check(got: i64, want: i64, what: &str) -> Res {
    if got == want { Ok(()) } else { Err(format!("{what}: expected {want}, got {got}").into()) }
}

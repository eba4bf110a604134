//! The full system: a support desk built on every layer of StoreHaus at once. It loads its
//! configuration and checks the database's health, migrates its tables, registers stores that
//! announce their writes and read through a Redis cache, takes in tickets in batches, lets a
//! second process keep an activity log from the change events, has agents claim tickets
//! concurrently with `FOR UPDATE SKIP LOCKED`, announces an escalation on a typed channel from
//! inside a transaction, reads through the cache before and after a write, pages through resolved
//! tickets with keyset pagination, soft-deletes and restores a ticket, and shuts everything down.
//!
//! ```text
//! cargo run --example complete_integration
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! overridden by `DATABASE_URL`, `REDIS_URL` and `STOREHAUS_*` variables (see
//! docs/configuration.md). It is written for PostgreSQL and Redis, e.g.
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/app REDIS_URL=redis://127.0.0.1:6379`, and needs
//! Redis to answer. With `DATABASE_URL=sqlite::memory:` every step runs except the second process:
//! on SQLite change events never leave the process (docs/backends.md), so that step says it is
//! skipped; and the workers take turns there instead of skipping each other's locked rows. The
//! tables `desk_agents`, `desk_tickets` and `desk_activity` are recreated on every run. Every step
//! checks its result; the example exits non-zero when one is not what it should be.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use storehaus::cache::CacheManager;
use storehaus::prelude::*;
use storehaus::signals::{CallbackError, Envelope, EventType, Subscription};
use tokio::sync::mpsc;

/// A support agent; agents are the workers that resolve tickets.
#[model]
#[table(name = "desk_agents")]
pub struct Agent {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    #[unique]
    pub email: String,
}

/// A customer's ticket. Deleting one keeps the row; every write bumps `__version__`. Priority and
/// labels are tags, where the ticket came from is JSON metadata.
#[model]
#[table(name = "desk_tickets", soft_delete, versioned)]
#[index(status, number)]
#[derive(PartialEq)]
pub struct Ticket {
    #[primary_key]
    pub id: Uuid,
    /// The number customers quote; set once, on intake.
    #[field(create)]
    pub number: i32,
    pub subject: String,
    /// "open" or "resolved".
    pub status: String,
    pub assignee: Option<Uuid>,
    pub metadata: serde_json::Value,
}

/// What happened to tickets, written by the auditor process from change events. Keyed by the event
/// id, so an event delivered twice (delivery is at least once) still makes one row.
#[model]
#[table(name = "desk_activity")]
#[index(ticket_id)]
pub struct Activity {
    #[primary_key]
    pub event_id: i64,
    pub ticket_id: Uuid,
    /// "created" or "updated".
    pub action: String,
    /// The ticket's status after the change.
    pub status: String,
}

/// Announced on the channel `desk.ticket_escalated` when a ticket needs a lead's attention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEscalated {
    pub ticket: Uuid,
    pub number: i32,
    pub reason: String,
}

const URGENT: [&str; 4] = ["Card charged twice", "Refund not received", "Invoice has wrong VAT", "Account locked"];
const ROUTINE: [&str; 8] = [
    "Password reset link expired",
    "How do I export my data?",
    "Typo on the pricing page",
    "Add a second admin",
    "Dark mode request",
    "Change billing e-mail",
    "Slow dashboard in the evening",
    "Buy cheap watches now",
];
const TICKETS: usize = URGENT.len() + ROUTINE.len();
const AGENTS: [&str; 4] = ["Ana", "Ben", "Chloe", "Dev"];
/// Tickets an agent claims per transaction, and how long working on them takes.
const CLAIM_BATCH: u64 = 2;
const WORK_TIME: Duration = Duration::from_millis(20);
const PAGE_SIZE: u64 = 5;
/// How long a committed change may take to reach a callback.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Configuration and health. Passwords never reach the output: print the redacted URLs.
    let config = AppConfig::load()?;
    println!("database {}, cache {}", config.database.redacted_url(), config.cache.redacted_url());
    let mut storehaus = StoreHaus::new(config.database.clone()).await?;
    let health = storehaus.health_check().await?;
    println!("health: {} answered in {:?} ({} connection(s) open)", health.backend, health.latency, health.connections);
    let cross_process = storehaus.pool().signals_cross_process();

    // 2. Tables, cache, signals and the store registry.
    storehaus.auto_migrate::<Agent>(true).await?;
    storehaus.auto_migrate::<Ticket>(true).await?;
    storehaus.auto_migrate::<Activity>(true).await?;
    for plan in
        [storehaus.plan::<Agent>().await?, storehaus.plan::<Ticket>().await?, storehaus.plan::<Activity>().await?]
    {
        assert!(plan.is_empty(), "a table still differs from its model after auto_migrate: {plan:?}");
    }
    let cache = Arc::new(CacheManager::new(config.cache.clone())?);
    if let Err(error) = cache.ping().await {
        return Err(format!("Redis at {} does not answer: {error}", config.cache.redacted_url()).into());
    }
    let params = CacheParams::new(Arc::clone(&cache), 300, format!("complete_integration:{}", Uuid::new_v4().simple()));
    let signals = storehaus.signal_manager(config.signal.clone()).await?;
    let (pool, announce) = (storehaus.pool().clone(), Some(Arc::clone(&signals)));
    storehaus
        .register_store("agents", GenericStore::<Agent>::new(pool.clone(), announce.clone(), Some(params.clone())))?;
    storehaus.register_store("tickets", GenericStore::<Ticket>::new(pool.clone(), announce, Some(params.clone())))?;
    // Elsewhere in the application the stores are looked up by name; the type is checked.
    let agents = storehaus.get_store::<GenericStore<Agent>>("agents")?;
    let tickets = storehaus.get_store::<GenericStore<Ticket>>("tickets")?;
    assert!(storehaus.get_store::<GenericStore<Agent>>("tickets").is_err(), "the registry checks store types");
    let activity_log = GenericStore::<Activity>::new(pool.clone(), None, None);
    // From here on the worker tasks share it.
    let storehaus = Arc::new(storehaus);
    println!("schema: 3 tables recreated; stores `agents` and `tickets` registered with signals and the Redis cache");

    // 3. The second process. It connects on its own, with its own signal manager, and keeps the
    // activity log; its callback sees this process's writes only through the database.
    let mut auditor = if cross_process {
        Some(Auditor::start(&config).await?)
    } else {
        println!("auditor: skipped, on {} change events never leave the process", health.backend);
        None
    };

    // 4. Intake: one batch per priority, each batch with its tags; then a resubmitted ticket.
    let draft = |number: usize, subject: &str, channel: &str| {
        let metadata = json!({ "channel": channel, "customer": format!("customer-{number}") });
        Ticket::new(Uuid::new_v4(), number as i32, subject.into(), "open".into(), None, metadata)
    };
    let urgent: Vec<Ticket> = URGENT.iter().enumerate().map(|(i, subject)| draft(i + 1, subject, "phone")).collect();
    let routine: Vec<Ticket> =
        ROUTINE.iter().enumerate().map(|(i, subject)| draft(URGENT.len() + i + 1, subject, "email")).collect();
    let urgent = tickets.create_many(urgent, Some(vec!["priority:high".into(), "billing".into()])).await?;
    let routine = tickets.create_many(routine, Some(vec!["priority:normal".into()])).await?;
    assert_eq!(tickets.count().await?, TICKETS as u64, "every ticket of both batches is stored");
    let high = tickets.count_where(QueryBuilder::new().filter_by_tag("priority:high")).await?;
    assert_eq!(high, URGENT.len() as u64, "the urgent batch carries its tags");
    let by_email = QueryFilter::json_path_text_eq("metadata", ["channel"], "email");
    let by_email = tickets.count_where(QueryBuilder::new().filter(by_email)).await?;
    assert_eq!(by_email, ROUTINE.len() as u64, "the routine batch came in by e-mail");
    // The customer writes again about a ticket that exists: upsert updates it instead of failing.
    let original = &routine[0];
    let follow_up = Ticket {
        subject: format!("{} (follow-up)", original.subject),
        metadata: json!({ "channel": "email", "customer": original.metadata["customer"], "replies": 1 }),
        ..original.data().clone()
    };
    let resubmitted = tickets.upsert(follow_up, None).await?;
    assert_eq!(resubmitted.version(), Some(2), "upsert of an existing ticket is an update");
    assert_eq!(resubmitted.created_at(), original.created_at(), "upsert keeps __created_at__");
    assert_eq!(resubmitted.tags(), ["priority:normal"], "upsert with None keeps the tags");
    assert_eq!(tickets.count().await?, TICKETS as u64, "upsert of an existing key adds no row");
    let (high, normal, again) = (urgent.len(), routine.len(), resubmitted.number);
    println!(
        "intake: create_many stored {high} urgent + {normal} routine tickets; upsert updated #{again} to version 2"
    );

    if let Some(auditor) = &mut auditor {
        auditor.wait_for(TICKETS + 1).await?;
        let created = activity_log.find(QueryBuilder::new().filter(Activity::columns().action.eq("created"))).await?;
        let logged: HashSet<Uuid> = created.iter().map(|entry| entry.ticket_id).collect();
        let stored: HashSet<Uuid> = urgent.iter().chain(&routine).map(|ticket| ticket.id).collect();
        assert_eq!(logged, stored, "the auditor logged the creation of every ticket, once each");
        assert_eq!(created.len(), TICKETS, "one creation entry per ticket");
        let updated = activity_log.find(QueryBuilder::new().filter(Activity::columns().action.eq("updated"))).await?;
        let updated: Vec<Uuid> = updated.iter().map(|entry| entry.ticket_id).collect();
        assert_eq!(updated, [resubmitted.id], "the auditor logged the upsert as an update");
        println!("auditor: the second process logged {TICKETS} creations and the upsert from the change events");
    }

    // 5. Workers: every agent claims open tickets in its own transactions, concurrently.
    let drafts = AGENTS.iter().map(|name| Agent::new(Uuid::new_v4(), name.to_string(), format!("{name}@desk.example")));
    let team = agents.create_many(drafts.collect(), Some(vec!["on-shift".into()])).await?;
    let workers: Vec<_> = team
        .iter()
        .map(|agent| {
            let (storehaus, tickets, agent) = (Arc::clone(&storehaus), GenericStore::clone(&tickets), agent.id);
            tokio::spawn(async move { work_queue(&storehaus, &tickets, agent).await.map(|done| (agent, done)) })
        })
        .collect();
    let mut resolved_by: HashMap<Uuid, Uuid> = HashMap::new();
    for worker in workers {
        let (agent, done) = worker.await??;
        let name = &team.iter().find(|a| a.id == agent).ok_or("an unknown agent")?.name;
        println!("  {name} resolved {} ticket(s)", done.len());
        for ticket in done {
            assert!(resolved_by.insert(ticket, agent).is_none(), "ticket {ticket} was claimed twice");
        }
    }
    assert_eq!(resolved_by.len(), TICKETS, "every ticket was claimed");
    let resolved = tickets.find(QueryBuilder::new().filter(Ticket::columns().status.eq("resolved"))).await?;
    assert_eq!(resolved.len(), TICKETS, "every ticket is resolved in the database");
    for ticket in &resolved {
        assert_eq!(ticket.assignee, resolved_by.get(&ticket.id).copied(), "#{} names its agent", ticket.number);
        // One write more than before: the workers updated each ticket exactly once.
        let expected = if ticket.id == resubmitted.id { 3 } else { 2 };
        assert_eq!(ticket.version(), Some(expected), "#{} was written once by the workers", ticket.number);
    }
    println!("workers: {} agents resolved all {TICKETS} tickets with SKIP LOCKED, each exactly once", team.len());
    if let Some(auditor) = &mut auditor {
        auditor.wait_for(TICKETS).await?;
        let c = Activity::columns();
        let q = QueryBuilder::new().filter(c.action.eq("updated")).filter(c.status.eq("resolved"));
        let entries = activity_log.find(q).await?;
        let logged: HashSet<Uuid> = entries.iter().map(|entry| entry.ticket_id).collect();
        assert_eq!((entries.len(), logged.len()), (TICKETS, TICKETS), "the auditor logged one resolution per ticket");
        println!("auditor: the second process logged all {TICKETS} resolutions");
    }

    // 6. A typed channel: the escalation is published inside the transaction that tags the ticket,
    // so subscribers hear of it only once the tag is committed.
    let escalations = signals.channel::<TicketEscalated>("desk.ticket_escalated");
    let (announce, mut announced) = mpsc::unbounded_channel();
    escalations.subscribe(move |envelope: Envelope<TicketEscalated>| {
        let sent = announce.send(envelope);
        async move { sent.map_err(|_| CallbackError::from("nobody listens for escalations")) }
    })?;
    let hot = &urgent[0];
    let message = TicketEscalated { ticket: hot.id, number: hot.number, reason: "charged twice, third call".into() };
    let tx = storehaus.begin().await?;
    tickets.with_transaction(&tx).add_tags(&hot.id, ["escalated"]).await?;
    tx.publish(&escalations.with_scope("team", "billing").with_actor("lead:Ana"), &message).await?;
    let early = tokio::time::timeout(Duration::from_millis(300), announced.recv()).await;
    assert!(early.is_err(), "the escalation arrived before its transaction committed");
    tx.commit().await?;
    let envelope = tokio::time::timeout(DELIVERY_TIMEOUT, announced.recv()).await?.ok_or("the channel closed")?;
    assert_eq!(envelope.data, message, "the subscriber receives the message as published");
    assert_eq!(envelope.actor.as_deref(), Some("lead:Ana"), "the envelope names who escalated");
    let concerns = envelope.scope.as_ref().map(|scope| (scope.key.as_str(), scope.identifier.as_str()));
    assert_eq!(concerns, Some(("team", "billing")), "the envelope names the team it concerns");
    let by = envelope.actor.as_deref().unwrap_or("nobody");
    println!("channel: the escalation of #{} by {by} was received only after its transaction committed", hot.number);

    // 7. Cached reads: a second read is a hit; after a write the next read sees the write.
    let escalated = || QueryBuilder::new().filter_by_tag("escalated").order(Ticket::columns().number.asc());
    let before = cache.stats();
    let read = tickets.get_by_id(&hot.id).await?.ok_or("the escalated ticket is missing")?;
    let again = tickets.get_by_id(&hot.id).await?;
    let listed = tickets.find_cached(escalated()).await?;
    let listed_again = tickets.find_cached(escalated()).await?;
    let warm = cache.stats();
    assert_eq!((warm.hits - before.hits, warm.misses - before.misses), (2, 2), "each second read is a hit");
    assert_eq!(again.as_ref(), Some(&read), "the cached row equals the one read from the database");
    assert_eq!(listed_again, listed, "the cached query result equals the first one");
    assert_eq!(read.tags(), ["priority:high", "billing", "escalated"], "the committed tag is visible");
    let mut edit = read.clone();
    edit.subject = format!("{} [lead: Ana]", edit.subject);
    let saved = tickets.save(&edit).await?;
    let fresh = tickets.get_by_id(&hot.id).await?.ok_or("the edited ticket is missing")?;
    assert_eq!((&fresh.subject, fresh.version()), (&saved.subject, saved.version()), "get_by_id is never stale");
    let listed = tickets.find_cached(escalated()).await?;
    assert_eq!(listed.first().map(|t| &t.subject), Some(&saved.subject), "find_cached is never stale");
    let stats = cache.stats();
    let (hits, misses, fills, invalidations) = (stats.hits, stats.misses, stats.fills, stats.invalidations);
    println!("cache: second reads hit; after save both reads saw the new subject ({hits} hits, {misses} misses)");
    println!("cache: {fills} fills, {invalidations} invalidations so far");

    // 8. Keyset pagination over the resolved tickets, the cursor travelling as text (as to a client).
    let resolved_pages = || {
        QueryBuilder::new()
            .filter(Ticket::columns().status.eq("resolved"))
            .order(Ticket::columns().number.asc())
            .limit(PAGE_SIZE)
    };
    let (mut numbers, mut token, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let query = match &token {
            Some(text) => resolved_pages().after(&Cursor::decode(text)?),
            None => resolved_pages(),
        };
        let page = tickets.find_page(query).await?;
        pages += 1;
        numbers.extend(page.records.iter().map(|ticket| ticket.number));
        match page.next {
            Some(cursor) => token = Some(cursor.encode()),
            None => break,
        }
    }
    let every_number: Vec<i32> = (1..=TICKETS as i32).collect();
    assert_eq!(numbers, every_number, "the pages hold every resolved ticket once, in order");
    println!("pagination: {pages} pages of at most {PAGE_SIZE} returned tickets #1..#{TICKETS} in order");

    // 9. Soft delete and restore: the spam ticket disappears from reads, then comes back.
    let spam = routine.last().ok_or("no routine tickets")?;
    assert!(tickets.delete(&spam.id).await?, "delete finds the spam ticket");
    assert!(tickets.get_by_id(&spam.id).await?.is_none(), "a deleted ticket is hidden, also from the cache");
    assert_eq!(tickets.count().await?, TICKETS as u64 - 1, "count leaves the deleted ticket out");
    let trash: Vec<Uuid> = tickets.find(QueryBuilder::new().only_deleted()).await?.iter().map(|t| t.id).collect();
    assert_eq!(trash, [spam.id], "only the spam ticket is in the trash");
    let restored = tickets.restore(&spam.id).await?;
    assert!(!restored.is_deleted() && restored.tags() == spam.tags(), "restore brings it back with its tags");
    assert_eq!(tickets.get_by_id(&spam.id).await?.map(|t| t.id), Some(spam.id), "the restored ticket reads again");
    assert_eq!(tickets.count().await?, TICKETS as u64, "count includes the restored ticket");
    println!("soft delete: #{} hidden, found in only_deleted(), restored", spam.number);

    // 10. A graceful end: this run's cache keys, then both processes' signals and pools.
    for table in [Agent::TABLE.name, Ticket::TABLE.name] {
        cache.forget_table(&params.table(table)).await?;
    }
    if let Some(auditor) = auditor {
        auditor.stop().await;
    }
    signals.shutdown().await;
    storehaus.close().await;
    assert!(signals.is_shut_down() && !signals.get_stats().listener_connected, "the signal manager stopped");
    assert!(signals.add_callback(|_| async { Ok(()) }).is_err(), "no callback can be added after shutdown");
    assert!(storehaus.health_check().await.is_err(), "the closed pool hands out no connection");
    println!("shutdown: cache keys forgotten, signal managers stopped, pools closed; all steps passed");
    Ok(())
}

/// One agent's shift: claim up to `CLAIM_BATCH` open tickets that no other agent holds, resolve
/// them and commit, until no open ticket is left to claim. Returns the tickets it resolved.
async fn work_queue(
    storehaus: &StoreHaus,
    tickets: &GenericStore<Ticket>,
    agent: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let c = Ticket::columns();
    let mut resolved = Vec::new();
    loop {
        let claimed = storehaus
            .transaction(|tx| {
                let tickets = tickets.with_transaction(&tx);
                async move {
                    // Rows another agent has locked are skipped, not waited for.
                    let open = QueryBuilder::new().filter(c.status.eq("open")).order(c.number.asc()).limit(CLAIM_BATCH);
                    let ids: Vec<Uuid> =
                        tickets.find(open.for_update_skip_locked()).await?.iter().map(|t| t.id).collect();
                    if !ids.is_empty() {
                        tokio::time::sleep(WORK_TIME).await; // working on them, the rows still locked
                        let resolve = UpdateSet::new().set_column(c.status, "resolved").set_column(c.assignee, agent);
                        tickets.update_where(QueryBuilder::new().filter(c.id.in_values(ids.clone())), resolve).await?;
                    }
                    Ok::<_, StoreError>(ids)
                }
            })
            .await?;
        if claimed.is_empty() {
            return Ok(resolved);
        }
        resolved.extend(claimed);
    }
}

/// The second process: its own `StoreHaus` and `SignalManager` on the same database, writing an
/// activity entry for every ticket created or updated by anyone.
struct Auditor {
    storehaus: StoreHaus,
    signals: Arc<SignalManager>,
    /// The event id of every entry written, in order.
    written: mpsc::UnboundedReceiver<i64>,
}

impl Auditor {
    async fn start(config: &AppConfig) -> Result<Self, Box<dyn std::error::Error>> {
        let storehaus = StoreHaus::new(config.database.clone()).await?;
        let signals = storehaus.signal_manager(config.signal.clone()).await?;
        let activity = GenericStore::<Activity>::new(storehaus.pool().clone(), None, None);
        let (sender, written) = mpsc::unbounded_channel();
        let changes = Subscription::table(Ticket::TABLE.name).events([EventType::Create, EventType::Update]);
        signals.add_callback_for(changes, move |event| {
            let (activity, sender) = (activity.clone(), sender.clone());
            async move {
                let entry = Activity {
                    event_id: event.id,
                    ticket_id: event.record_id.parse()?,
                    action: if event.event_type == EventType::Create { "created" } else { "updated" }.into(),
                    status: event.payload["status"].as_str().unwrap_or_default().into(),
                };
                // Idempotent: a redelivered event overwrites its own entry.
                activity.upsert(entry, None).await?;
                sender.send(event.id).map_err(|_| CallbackError::from("nobody reads the activity log"))
            }
        })?;
        println!("auditor: a second StoreHaus with its own signal manager logs ticket changes to desk_activity");
        Ok(Auditor { storehaus, signals, written })
    }

    /// Waits until `count` more entries are written, at most `DELIVERY_TIMEOUT` in all.
    async fn wait_for(&mut self, count: usize) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
        for received in 0..count {
            if !matches!(tokio::time::timeout_at(deadline, self.written.recv()).await, Ok(Some(_))) {
                return Err(format!("the auditor wrote {received} of {count} entries within {DELIVERY_TIMEOUT:?}"));
            }
        }
        Ok(())
    }

    /// Stops the listener (waiting for a callback still running), then closes the pool.
    async fn stop(self) {
        self.signals.shutdown().await;
        self.storehaus.close().await;
        assert!(self.signals.is_shut_down(), "the auditor's signal manager stopped");
        assert!(self.storehaus.health_check().await.is_err(), "the auditor's closed pool hands out no connection");
    }
}

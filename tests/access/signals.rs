//! Change events under principal and tenant scopes: an event's payload carries its row's
//! `__auth__` and `__tenant__`, and a subscription filtered on a principal or a tenant receives
//! the events of the rows that principal or tenant may see, and none of the others.
//!
//! Every test also keeps an unfiltered inbox: it shows that the events a filtered subscription
//! did not receive were written and delivered to others.

use super::*;
use std::time::Duration;
use storehaus::signals::{DatabaseEvent, EventType, Subscription};
use storehaus_suite::inbox::Inbox;
use storehaus_suite::{TestBackend, on_both_backends};

/// Neither `auth` nor `#[tenant]`: its events say nothing about who may see the row.
#[model]
#[table(name = "signal_open_rows")]
pub struct OpenRow {
    #[primary_key]
    pub id: i64,
    pub label: String,
}

/// The events one subscription received, in delivery order.
#[derive(Clone)]
struct Received(Inbox);

impl Received {
    fn on(manager: &SignalManager, subscription: Subscription) -> Self {
        Received(Inbox::attached_for(manager, subscription))
    }

    fn events(&self) -> Vec<DatabaseEvent> {
        self.0.events()
    }

    /// Kinds and keys, sorted: rows of one statement arrive in an order SQL leaves open.
    fn kinds_and_keys(&self) -> Vec<(EventType, String)> {
        let mut got: Vec<_> = self.events().iter().map(|e| (e.event_type, e.record_id.clone())).collect();
        got.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
        got
    }

    /// Waits until `n` events arrived, then for a quiet spell in which the callbacks of other
    /// subscriptions finish the same events (each event's callbacks run side by side).
    async fn settle(&self, n: usize) -> Vec<DatabaseEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.0.len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        let events = self.events();
        assert_eq!(events.len(), n, "every event of the test, and no other");
        events
    }
}

fn sorted(mut expected: Vec<(EventType, String)>) -> Vec<(EventType, String)> {
    expected.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    expected
}

struct Setup {
    storehaus: StoreHaus,
    manager: Arc<SignalManager>,
    projects: GenericStore<Project>,
    invoices: GenericStore<Invoice>,
    notes: GenericStore<Note>,
    open: GenericStore<OpenRow>,
    /// Everything the manager delivers.
    every: Received,
}

/// The tables, a signal manager and stores announcing their writes to it (one pool, as
/// SQLite's in-process events require).
async fn setup(db: &impl TestBackend) -> Setup {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Project>(false).await.unwrap();
    storehaus.auto_migrate::<Invoice>(false).await.unwrap();
    storehaus.auto_migrate::<Note>(false).await.unwrap();
    storehaus.auto_migrate::<OpenRow>(false).await.unwrap();
    let config = SignalConfig { heartbeat_seconds: 1, ..SignalConfig::default() };
    let manager = storehaus.signal_manager(config).await.unwrap();
    let pool = storehaus.pool().clone();
    let signals = Some(manager.clone());
    Setup {
        projects: GenericStore::new(pool.clone(), signals.clone(), None),
        invoices: GenericStore::new(pool.clone(), signals.clone(), None),
        notes: GenericStore::new(pool.clone(), signals.clone(), None),
        open: GenericStore::new(pool, signals, None),
        every: Received::on(&manager, Subscription::all()),
        manager,
        storehaus,
    }
}

fn new_project(name: &str) -> Project {
    Project { id: Uuid::new_v4(), name: format!("{name}-{}", Uuid::new_v4().simple()), stars: 0 }
}

fn key(id: Uuid) -> String {
    id.hyphenated().to_string()
}

on_both_backends! {
    /// Principal a's creates, updates, soft deletes, restores, query writes and deletes reach a
    /// subscription on "a" and never one on "b"; b's own rows, and a row granted to b, reach b.
    async fn a_principal_filter_receives_only_the_principals_rows(db) {
        use EventType::*;
        let s = setup(&db).await;
        let of_a = Received::on(&s.manager, Subscription::table("projects").principal("a"));
        let of_b = Received::on(&s.manager, Subscription::table("projects").principal("b"));
        let of_c_or_b = Received::on(&s.manager, Subscription::all().principal("c").principal("b"));

        let a = s.projects.auth("a");
        let p = a.create(new_project("p"), None).await.unwrap();
        a.update(&p.id, Project { stars: 2, ..p.clone().into_inner() }, None).await.unwrap();
        a.delete(&p.id).await.unwrap();
        a.restore(&p.id).await.unwrap();
        let many = a.create_many(vec![new_project("m1"), new_project("m2")], None).await.unwrap();
        a.update_where(QueryBuilder::new().all_rows(), UpdateSet::new().set("stars", json!(9))).await.unwrap();
        a.force_delete(&p.id).await.unwrap();
        let b = s.projects.auth("b");
        let q = b.create(new_project("q"), None).await.unwrap();
        b.delete_where(QueryBuilder::new().all_rows()).await.unwrap();
        // Visible to no principal: announced, but to no principal's subscription.
        let orphan = s.projects.unrestricted().create(new_project("orphan"), None).await.unwrap();
        a.grant(&many[0].id, "b").await.unwrap();
        a.revoke(&many[0].id, "b").await.unwrap();

        let every = s.every.settle(15).await;
        let (m1, m2) = (key(many[0].id), key(many[1].id));
        assert_eq!(
            of_a.kinds_and_keys(),
            sorted(vec![
                (Create, key(p.id)), (Update, key(p.id)), (SoftDelete, key(p.id)), (Restore, key(p.id)),
                (Create, m1.clone()), (Create, m2.clone()),
                (Update, key(p.id)), (Update, m1.clone()), (Update, m2.clone()),
                (Delete, key(p.id)), (Update, m1.clone()), (Update, m1.clone()),
            ])
        );
        // b receives its own rows and the grant, never a's other writes nor the revoke.
        let to_b = sorted(vec![(Create, key(q.id)), (SoftDelete, key(q.id)), (Update, m1.clone())]);
        assert_eq!(of_b.kinds_and_keys(), to_b);
        assert_eq!(of_c_or_b.kinds_and_keys(), to_b, "any of the principals");
        let granted = of_b.events().into_iter().find(|e| e.record_id == m1).unwrap();
        assert_eq!(granted.principals(), Some(vec!["a".to_owned(), "b".to_owned()]));

        // The filters are exactly the rows' `__auth__`, as the unfiltered inbox shows.
        let orphan_event = every.iter().find(|e| e.record_id == key(orphan.id)).unwrap();
        assert_eq!(orphan_event.principals(), Some(Vec::new()));
        for (received, principal) in [(&of_a, "a"), (&of_b, "b")] {
            let holding: Vec<i64> = every
                .iter()
                .filter(|e| e.principals().unwrap().iter().any(|p| p == principal))
                .map(|e| e.id)
                .collect();
            assert_eq!(received.events().iter().map(|e| e.id).collect::<Vec<_>>(), holding, "{principal}");
        }
        s.manager.shutdown().await;
    }

    /// A tenant filter receives the events of its tenant's rows only, with `__tenant__` the
    /// tenant column as JSON (text and uuid tenants), and combines with a principal filter.
    async fn a_tenant_filter_receives_only_the_tenants_rows(db) {
        use EventType::*;
        let s = setup(&db).await;
        let org_1 = Received::on(&s.manager, Subscription::table("notes").tenant("org_1"));
        let org_2 = Received::on(&s.manager, Subscription::table("notes").tenant("org_2"));
        let (x, y) = (Uuid::new_v4(), Uuid::new_v4());
        let of_x = Received::on(&s.manager, Subscription::table("invoices").tenant(x));
        let of_y = Received::on(&s.manager, Subscription::table("invoices").tenant(y));
        let of_x_and_a = Received::on(&s.manager, Subscription::all().tenant(x).principal("a"));
        let of_x_and_b = Received::on(&s.manager, Subscription::all().tenant(x).principal("b"));

        let first = s.notes.tenant("org_1".to_owned());
        first.create(Note { id: 1, org: "org_1".into(), body: "x".into() }, None).await.unwrap();
        first.update(&1, Note { id: 1, org: "org_1".into(), body: "y".into() }, None).await.unwrap();
        first.delete(&1).await.unwrap();
        first.force_delete(&1).await.unwrap();
        let second = s.notes.tenant("org_2".to_owned());
        let org_2_note = |id: i64, body: &str| Note { id, org: "org_2".into(), body: body.into() };
        second.create(org_2_note(2, "z"), None).await.unwrap();
        second.upsert(org_2_note(3, "u"), None).await.unwrap();
        second.update_many(vec![(2, org_2_note(2, "v")), (3, org_2_note(3, "w"))]).await.unwrap();
        second.delete_many(vec![3]).await.unwrap();
        // Out of org_1's scope: refused, and nothing announced.
        assert!(first.update(&2, Note { id: 2, org: "org_1".into(), body: "taken".into() }, None).await.is_err());

        let ax = s.invoices.tenant(x).auth("a");
        let i1 = ax.create(Invoice { id: Uuid::new_v4(), org_id: x, total: 1 }, None).await.unwrap();
        ax.update(&i1.id, Invoice { total: 2, ..i1.clone().into_inner() }, None).await.unwrap();
        ax.delete(&i1.id).await.unwrap();
        let by = s.invoices.auth("b").tenant(y);
        let i2 = by.create(Invoice { id: Uuid::new_v4(), org_id: y, total: 3 }, None).await.unwrap();

        let every = s.every.settle(13).await;
        assert_eq!(
            org_1.kinds_and_keys(),
            sorted(vec![(Create, "1".into()), (Update, "1".into()), (SoftDelete, "1".into()), (Delete, "1".into())])
        );
        assert_eq!(
            org_2.kinds_and_keys(),
            sorted(vec![
                (Create, "2".into()), (Create, "3".into()), (Update, "2".into()), (Update, "3".into()), (SoftDelete, "3".into()),
            ])
        );
        let i1_events = sorted(vec![(Create, key(i1.id)), (Update, key(i1.id)), (Delete, key(i1.id))]);
        assert_eq!(of_x.kinds_and_keys(), i1_events);
        assert_eq!(of_y.kinds_and_keys(), [(Create, key(i2.id))]);
        assert_eq!(of_x_and_a.kinds_and_keys(), i1_events);
        assert!(of_x_and_b.events().is_empty(), "b may see no row of x: {:?}", of_x_and_b.events());

        // Payloads: the tenant column repeated as `__tenant__`, next to the principals.
        for event in &every {
            let (tenant, principals) = (event.tenant().cloned(), event.principals());
            match event.table() {
                Some("notes") => {
                    assert_eq!(tenant, Some(event.payload["org"].clone()));
                    assert_eq!(principals, None, "notes are not an auth table");
                }
                Some("invoices") if event.record_id == key(i1.id) => {
                    assert_eq!((tenant, principals), (Some(json!(x)), Some(vec!["a".to_owned()])));
                }
                Some("invoices") => assert_eq!((tenant, principals), (Some(json!(y)), Some(vec!["b".to_owned()]))),
                other => panic!("unexpected event of {other:?}"),
            }
        }
        s.manager.shutdown().await;
    }

    /// Events that do not say who may see their row (an unscoped table, a channel message, even
    /// one whose payload looks like a scoped row) never reach a principal or tenant filter.
    async fn scope_filters_fail_closed(db) {
        let s = setup(&db).await;
        let of_a = Received::on(&s.manager, Subscription::all().principal("a"));
        let of_org = Received::on(&s.manager, Subscription::all().tenant("org_1"));
        let channel_a = Received::on(&s.manager, Subscription::channel("projects").principal("a"));

        s.open.create(OpenRow { id: 1, label: "a".into() }, None).await.unwrap();
        let forger = s.manager.channel::<serde_json::Value>("projects");
        forger.publish(&json!({"__auth__": ["a"], "__tenant__": "org_1", "org": "org_1"})).await.unwrap();
        let tx = s.storehaus.begin().await.unwrap();
        tx.publish(&forger, &json!({"__auth__": ["a"], "__tenant__": "org_1"})).await.unwrap();
        tx.commit().await.unwrap();
        let p = s.projects.auth("a").create(new_project("p"), None).await.unwrap();
        s.notes.tenant("org_1".to_owned()).create(Note { id: 1, org: "org_1".into(), body: String::new() }, None).await.unwrap();

        let every = s.every.settle(5).await;
        assert_eq!(every.iter().filter(|e| e.channel() == Some("projects")).count(), 2, "both messages delivered");
        assert_eq!(of_a.kinds_and_keys(), [(EventType::Create, key(p.id))]);
        assert_eq!(of_org.kinds_and_keys(), [(EventType::Create, "1".to_owned())]);
        assert_eq!(of_org.events()[0].table(), Some("notes"));
        assert!(channel_a.events().is_empty(), "messages are not rows: {:?}", channel_a.events());
        s.manager.shutdown().await;
    }
}

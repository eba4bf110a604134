//! `#[table(auto_increment)]`: keys the database assigns, on both backends.

use super::*;

/// A key the database assigns, with soft delete so deleted rows stay visible to raw SQL.
#[model]
#[table(name = "tickets", auto_increment)]
#[derive(PartialEq)]
pub struct Ticket {
    #[primary_key]
    pub id: i64,
    #[field(create, update)]
    pub title: String,
    #[field(create)]
    pub opened_by: Option<String>,
}

/// The narrower key width.
#[model]
#[table(name = "small_tickets", auto_increment, soft_delete)]
pub struct SmallTicket {
    #[primary_key]
    pub id: i32,
    pub title: String,
}

/// The same table as `Ticket`, with a key the application chooses.
#[model]
#[table(name = "tickets")]
pub struct TicketByHand {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub opened_by: Option<String>,
}

fn ticket(title: &str) -> Ticket {
    Ticket { id: 0, title: title.to_owned(), opened_by: Some("ann".to_owned()) }
}

async fn tickets(storehaus: &StoreHaus) -> GenericStore<Ticket> {
    storehaus.auto_migrate::<Ticket>(false).await.unwrap();
    GenericStore::<Ticket>::new(storehaus.pool().clone(), None, None)
}

/// `(id, title)` of every row, by key.
async fn stored(storehaus: &StoreHaus) -> Vec<(i64, String)> {
    raw::rows(storehaus, "SELECT \"id\", \"title\" FROM \"tickets\" ORDER BY \"id\"").await
}

fn is_validation_of(error: &StoreError, column: &str) -> bool {
    matches!(error, StoreError::Validation { field: Some(field), .. } if field == column)
}

on_both_backends! {
    async fn create_returns_the_key_the_database_assigned(db) {
        let storehaus = db.storehaus().await;
        let store = tickets(&storehaus).await;
        let first = store.create(ticket("first"), tags(&["new"])).await.unwrap();
        let second = store.create(ticket("second"), None).await.unwrap();
        assert!(first.id > 0, "{}", first.id);
        assert!(second.id > first.id, "{} then {}", first.id, second.id);
        assert_eq!(first.title, "first");
        assert_eq!(first.tags(), ["new"]);
        assert_eq!(stored(&storehaus).await, vec![(first.id, "first".to_owned()), (second.id, "second".to_owned())]);

        let read = store.get_by_id(&second.id).await.unwrap().expect("the created row");
        assert_eq!(read.into_inner(), Ticket { id: second.id, ..ticket("second") });
        let updated = store.update(&first.id, Ticket { title: "renamed".into(), ..ticket("x") }, None).await.unwrap();
        assert_eq!((updated.id, updated.title.as_str()), (first.id, "renamed"));
        assert!(store.delete(&first.id).await.unwrap());
        assert_eq!(stored(&storehaus).await, vec![(second.id, "second".to_owned())]);
    }

    async fn create_refuses_a_key_given_by_the_caller(db) {
        let storehaus = db.storehaus().await;
        let store = tickets(&storehaus).await;
        let error = store.create(Ticket { id: 7, ..ticket("mine") }, None).await.unwrap_err();
        assert!(is_validation_of(&error, "id"), "{error:?}");
        assert!(error.to_string().contains("assigned by the database"), "{error}");

        let batch = vec![ticket("a"), Ticket { id: 42, ..ticket("b") }, ticket("c")];
        let error = store.create_many(batch, None).await.unwrap_err();
        assert!(is_validation_of(&error, "id"), "{error:?}");
        assert_eq!(row_count(&storehaus, "tickets").await, 0, "a refused call writes nothing");
    }

    async fn create_many_returns_every_assigned_key_in_order(db) {
        let storehaus = db.storehaus().await;
        let store = tickets(&storehaus).await;
        let titles: Vec<String> = (0..250).map(|i| format!("t{i:03}")).collect();
        let records = store.create_many(titles.iter().map(|t| ticket(t)).collect(), tags(&["bulk"])).await.unwrap();
        let returned: Vec<(i64, String)> = records.iter().map(|r| (r.id, r.title.clone())).collect();
        assert_eq!(returned.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(), titles);
        let mut keys: Vec<i64> = returned.iter().map(|(id, _)| *id).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 250, "every row has its own key");
        let mut by_key = returned.clone();
        by_key.sort();
        assert_eq!(stored(&storehaus).await, by_key, "the keys returned are the keys stored");
    }

    async fn keys_of_deleted_rows_are_never_given_again(db) {
        let storehaus = db.storehaus().await;
        let store = tickets(&storehaus).await;
        let first = store.create(ticket("one"), None).await.unwrap();
        let last = store.create(ticket("two"), None).await.unwrap();
        assert!(store.delete(&last.id).await.unwrap());
        let next = store.create(ticket("three"), None).await.unwrap();
        assert!(next.id > last.id, "{} after deleting {} (first {})", next.id, last.id, first.id);
    }

    async fn upsert_inserts_unset_keys_and_updates_set_ones(db) {
        let storehaus = db.storehaus().await;
        let store = tickets(&storehaus).await;
        let existing = store.create(ticket("old"), None).await.unwrap();

        let inserted = store.upsert(ticket("fresh"), tags(&["u"])).await.unwrap();
        assert!(inserted.id > existing.id);
        assert_eq!(inserted.tags(), ["u"]);
        let updated = store.upsert(Ticket { id: existing.id, ..ticket("changed") }, None).await.unwrap();
        assert_eq!((updated.id, updated.title.as_str()), (existing.id, "changed"));

        // A set key no row has is not inserted as given: the database assigns keys.
        let error = store.upsert(Ticket { id: 9_999, ..ticket("ghost") }, None).await.unwrap_err();
        assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");

        let batch = vec![ticket("n1"), Ticket { id: inserted.id, ..ticket("fresh2") }, ticket("n2"),
            Ticket { id: 8_888, ..ticket("ghost") }];
        let records = store.upsert_many(batch, None).await.unwrap();
        let titles: Vec<&str> = records.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["n1", "fresh2", "n2"]);
        assert_eq!(records[1].id, inserted.id);
        assert!(records[0].id > inserted.id && records[2].id > records[0].id);
        let rows = stored(&storehaus).await;
        assert_eq!(rows, vec![
            (existing.id, "changed".to_owned()),
            (inserted.id, "fresh2".to_owned()),
            (records[0].id, "n1".to_owned()),
            (records[2].id, "n2".to_owned()),
        ]);
    }

    async fn upsert_with_and_insert_or_ignore_never_take_a_given_key(db) {
        let storehaus = db.storehaus().await;
        let store = tickets(&storehaus).await;
        let existing = store.create(ticket("old"), None).await.unwrap();

        // On the key: unset inserts, set updates that row with the per-branch controls.
        let inserted = store.upsert_with(ticket("fresh"), None, Upsert::on_key()).await.unwrap();
        assert!(inserted.id > existing.id);
        let changed = Ticket { id: existing.id, title: "changed".to_owned(), opened_by: None };
        let updated = store.upsert_with(changed, None, Upsert::on_key().insert_only(["title"])).await.unwrap();
        assert_eq!((updated.id, updated.title.as_str()), (existing.id, "old"), "title is written on insert only");
        let error = store.upsert_with(Ticket { id: 7_777, ..ticket("ghost") }, None, Upsert::on_key()).await.unwrap_err();
        assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");

        // Inserts that ignore conflicts refuse a given key like create does.
        let error = store.create_or_ignore(Ticket { id: 5, ..ticket("given") }, None).await.unwrap_err();
        assert!(is_validation_of(&error, "id"), "{error:?}");
        let error = store.create_many_or_ignore(vec![ticket("a"), Ticket { id: 6, ..ticket("given") }], None).await.unwrap_err();
        assert!(is_validation_of(&error, "id"), "{error:?}");
        let created = store.create_or_ignore(ticket("new"), None).await.unwrap().expect("a new row");
        assert!(created.id > inserted.id);
        assert_eq!(stored(&storehaus).await, vec![
            (existing.id, "old".to_owned()),
            (inserted.id, "fresh".to_owned()),
            (created.id, "new".to_owned()),
        ]);
    }

    async fn narrow_generated_keys_work_with_soft_delete(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<SmallTicket>(false).await.unwrap();
        let store = GenericStore::<SmallTicket>::new(storehaus.pool().clone(), None, None);
        let a = store.create(SmallTicket { id: 0, title: "a".into() }, None).await.unwrap();
        let b = store.create(SmallTicket { id: 0, title: "b".into() }, None).await.unwrap();
        assert!(a.id > 0 && b.id > a.id);
        assert!(store.delete(&b.id).await.unwrap());
        assert!(store.get_by_id(&b.id).await.unwrap().is_none());
        assert_eq!(store.restore(&b.id).await.unwrap().id, b.id);
        assert_eq!(store.count().await.unwrap(), 2);
    }

    async fn migrations_create_the_generated_key_and_keep_it(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Ticket>(false).await.unwrap();
        assert!(storehaus.plan::<Ticket>().await.unwrap().is_empty(), "a second migration has nothing to do");
        storehaus.auto_migrate::<SmallTicket>(false).await.unwrap();
        assert!(storehaus.plan::<SmallTicket>().await.unwrap().is_empty());

        let pool = storehaus.pool();
        if let Some(pg) = pool.as_postgres() {
            let (identity, generation): (String, Option<String>) = sqlx::query_as(
                "SELECT is_identity, identity_generation FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = 'tickets' AND column_name = 'id'",
            )
            .fetch_one(pg)
            .await
            .unwrap();
            assert_eq!((identity.as_str(), generation.as_deref()), ("YES", Some("ALWAYS")));
            // The database itself refuses a key from any other writer.
            let error = sqlx::query("INSERT INTO tickets (id, title, __updated_at__) VALUES (5, 'raw', now())")
                .execute(pg)
                .await
                .unwrap_err();
            assert_eq!(error.as_database_error().and_then(|e| e.code()).as_deref(), Some("428C9"));
        } else {
            let lite = pool.as_sqlite().expect("every pool is PostgreSQL or SQLite");
            let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE name = 'tickets'")
                .fetch_one(lite)
                .await
                .unwrap();
            assert!(sql.contains("\"id\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"), "{sql}");
        }
    }

    async fn migrations_refuse_to_change_who_assigns_the_key(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<TicketByHand>(false).await.unwrap();
        let error = storehaus.auto_migrate::<Ticket>(false).await.unwrap_err();
        assert!(matches!(&error, StoreError::UnsafeMigration { column, .. } if column == "id"), "{error:?}");
        let error = storehaus.plan::<Ticket>().await.unwrap_err();
        assert!(error.to_string().contains("auto_increment"), "{error}");

        // Recreating is the way over, and the other way is refused as well.
        storehaus.auto_migrate::<Ticket>(true).await.unwrap();
        let error = storehaus.auto_migrate::<TicketByHand>(false).await.unwrap_err();
        assert!(matches!(&error, StoreError::UnsafeMigration { column, .. } if column == "id"), "{error:?}");
    }
}

//! Inserts that meet an existing row: `create_or_ignore`, `create_many_or_ignore`, and upserts by
//! the key or any unique constraint with per-branch control, on PostgreSQL and on SQLite.

use std::time::Duration;
use storehaus::prelude::*;
use storehaus::{GenericStore, Upsert};
use storehaus_suite::raw::{int, rows};
use storehaus_suite::{TestBackend, on_both_backends};

/// One field of every write kind, a unique field and a composite unique constraint.
#[model]
#[table(name = "upsert_accounts", soft_delete, versioned)]
#[unique(tenant, handle)]
pub struct Account {
    #[primary_key]
    pub id: Uuid,
    #[unique]
    pub email: String,
    pub tenant: String,
    pub handle: String,
    /// Written on create only.
    #[field(create)]
    pub referrer: Option<String>,
    /// Written on update only.
    #[field(update)]
    pub last_seen: Option<String>,
    pub visits: i64,
    pub name: String,
}

fn account(email: &str, handle: &str, name: &str) -> Account {
    Account {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        tenant: "acme".to_owned(),
        handle: handle.to_owned(),
        referrer: Some(format!("ref-{name}")),
        last_seen: Some(format!("seen-{name}")),
        visits: 1,
        name: name.to_owned(),
    }
}

async fn accounts<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Account>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Account>(false).await.unwrap();
    let store = GenericStore::<Account>::new(storehaus.pool().clone(), None, None);
    (storehaus, store)
}

/// `(email, name, referrer, last_seen, visits)` of every row, deleted ones too, by email.
type RawAccount = (String, String, Option<String>, Option<String>, i64);

async fn stored(storehaus: &StoreHaus) -> Vec<RawAccount> {
    rows(
        storehaus,
        r#"SELECT "email", "name", "referrer", "last_seen", "visits" FROM "upsert_accounts" ORDER BY "email""#,
    )
    .await
}

/// Lets the clock move past the previous statement's.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

on_both_backends! {
    /// A conflict on the key, on a unique field or on a composite unique constraint skips the
    /// value and writes nothing; a value without conflict is created as `create` creates it.
    async fn create_or_ignore_skips_a_conflict_on_any_unique_constraint(db) {
        let (storehaus, store) = accounts(&db).await;
        let first = store.create(account("a@x", "a", "first"), Some(vec!["t".into()])).await.unwrap();
        let same_key = Account { email: "other@x".into(), handle: "other".into(), ..account("", "", "k") };
        let same_key = Account { id: first.id, ..same_key };
        assert!(store.create_or_ignore(same_key, None).await.unwrap().is_none(), "the key");
        assert!(store.create_or_ignore(account("a@x", "b", "e"), None).await.unwrap().is_none(), "email");
        assert!(store.create_or_ignore(account("c@x", "a", "h"), None).await.unwrap().is_none(), "(tenant, handle)");
        let created = store.create_or_ignore(account("d@x", "d", "new"), Some(vec!["n".into()])).await.unwrap();
        let created = created.expect("no conflict: inserted");
        assert_eq!((created.tags(), created.version(), created.last_seen.as_deref()), (&["n".to_owned()][..], Some(1), None));

        assert!(store.delete(&created.id).await.unwrap());
        assert!(store.create_or_ignore(account("d@x", "z", "again"), None).await.unwrap().is_none(), "a deleted row's email");
        assert_eq!(
            stored(&storehaus).await,
            [
                ("a@x".into(), "first".into(), Some("ref-first".into()), None, 1),
                ("d@x".into(), "new".into(), Some("ref-new".into()), None, 1),
            ]
        );
    }

    /// A batch half of whose values conflict (with stored rows on the key, the unique field or the
    /// composite constraint, or with an earlier value of the batch) inserts exactly the other half
    /// and reports it, in the order given.
    async fn create_many_or_ignore_inserts_the_half_without_conflicts(db) {
        let (storehaus, store) = accounts(&db).await;
        let old: Vec<Account> = (0..30).map(|i| account(&format!("old{i:02}@x"), &format!("old{i}"), "old")).collect();
        let kept = store.create_many(old, None).await.unwrap();

        let mut batch = Vec::new();
        let mut fresh = Vec::new();
        for i in 0..60 {
            let new = account(&format!("new{i:02}@x"), &format!("new{i}"), "new");
            fresh.push(new.id);
            batch.push(new);
            let conflict = match i % 4 {
                0 => Account { id: kept[i / 4].id, ..account(&format!("k{i}@x"), &format!("k{i}"), "clash") },
                1 => account(&kept[i / 4].email, &format!("e{i}"), "clash"),
                2 => account(&format!("h{i}@x"), &kept[i / 4].handle, "clash"),
                // The value just before it in this batch.
                _ => account(&format!("new{i:02}@x"), &format!("dup{i}"), "clash"),
            };
            batch.push(conflict);
        }
        let inserted = store.create_many_or_ignore(batch, Some(vec!["batch".into()])).await.unwrap();
        assert_eq!(inserted.iter().map(|r| r.id).collect::<Vec<_>>(), fresh, "the new half, in order");
        assert!(inserted.iter().all(|r| r.tags() == ["batch"] && r.name == "new"));
        assert_eq!(int(&storehaus, r#"SELECT COUNT(*) FROM "upsert_accounts""#).await, 90);
        let clashes = int(&storehaus, r#"SELECT COUNT(*) FROM "upsert_accounts" WHERE "name" = 'clash'"#).await;
        assert_eq!(clashes, 0, "no conflicting value was written");
        assert!(store.create_many_or_ignore(Vec::new(), None).await.unwrap().is_empty());
    }

    /// Upsert on the unique email: the insert writes what `create` writes, the update what
    /// `update` writes (update-only fields included, create-only ones left alone), with
    /// insert-only fields and increments on top; system fields as an update moves them.
    async fn upsert_by_a_unique_field_updates_the_row_that_holds_it(db) {
        let (storehaus, store) = accounts(&db).await;
        let on_email = || Upsert::on(["email"]);
        let first = store.upsert_with(account("u@x", "u", "first"), Some(vec!["a".into()]), on_email()).await.unwrap();
        assert_eq!((first.name.as_str(), first.last_seen.as_deref(), first.version()), ("first", None, Some(1)));
        tick().await;

        let second = account("u@x", "u2", "second");
        let updated = store.upsert_with(second, None, on_email()).await.unwrap();
        assert_eq!(updated.id, first.id, "the stored row, met on its email");
        assert_eq!(updated.created_at(), first.created_at());
        assert!(updated.updated_at() > first.updated_at());
        assert_eq!((updated.version(), updated.tags()), (Some(2), &["a".to_owned()][..]));
        assert_eq!(
            (updated.name.as_str(), updated.handle.as_str(), updated.referrer.as_deref(), updated.last_seen.as_deref()),
            ("second", "u2", Some("ref-first"), Some("seen-second")),
            "update fields written, the update-only one too; the create-only referrer kept"
        );

        let how = on_email().insert_only(["name"]).increment("visits", json!(10));
        let third = store.upsert_with(account("u@x", "u3", "third"), Some(vec!["b".into()]), how.clone()).await.unwrap();
        assert_eq!((third.name.as_str(), third.handle.as_str(), third.visits), ("second", "u3", 11));
        assert_eq!((third.version(), third.tags()), (Some(3), &["b".to_owned()][..]));
        // The same call for a new email inserts the value as given.
        let new = store.upsert_with(account("v@x", "v", "fresh"), None, how).await.unwrap();
        assert_eq!((new.name.as_str(), new.visits, new.last_seen.as_deref()), ("fresh", 1, None));

        // The composite constraint, in any order of its fields.
        let moved = Account { email: "w@x".into(), ..account("", "u3", "fourth") };
        let by_handle = store.upsert_with(moved, None, Upsert::on(["handle", "tenant"])).await.unwrap();
        assert_eq!((by_handle.id, by_handle.email.as_str(), by_handle.name.as_str()), (first.id, "w@x", "fourth"));
        assert_eq!(store.count().await.unwrap(), 2);

        // Only a unique constraint or the key can be met on; nothing is written otherwise.
        let before = stored(&storehaus).await;
        for (what, how) in [
            ("a field without a unique constraint", Upsert::on(["name"])),
            ("part of a composite constraint", Upsert::on(["handle"])),
            ("more than a constraint", Upsert::on(["email", "handle"])),
            ("no field", Upsert::on(Vec::<String>::new())),
            ("a create-only field as insert-only", on_email().insert_only(["referrer"])),
            ("an increment of text", on_email().increment("name", json!(1))),
        ] {
            let err = store.upsert_with(account("w@x", "x", "refused"), None, how).await.unwrap_err();
            assert!(matches!(err, StoreError::Validation { .. }), "{what}: {err:?}");
        }
        let err = store.upsert_with(account("w@x", "x", "refused"), None, Upsert::on(["mail"])).await.unwrap_err();
        assert!(matches!(err, StoreError::UnknownField { .. }), "{err:?}");
        assert_eq!(stored(&storehaus).await, before);

        // A value meeting one row on the target and another on a different constraint fails.
        let err = store.upsert_with(account("w@x", "v", "clash"), None, on_email()).await.unwrap_err();
        assert!(matches!(err, StoreError::UniqueViolation { .. }), "{err:?}");
        assert_eq!(stored(&storehaus).await, before);
    }

    /// `upsert` (on the key) and `upsert_many` write an existing row what `update` writes,
    /// update-only fields included; a soft-deleted row is never revived.
    async fn upsert_on_the_key_writes_what_update_writes(db) {
        let (storehaus, store) = accounts(&db).await;
        let created = store.upsert(account("k@x", "k", "one"), None).await.unwrap();
        assert_eq!(created.last_seen, None, "create does not write an update-only field");
        let again = Account { id: created.id, ..account("k@x", "k", "two") };
        let updated = store.upsert(again, None).await.unwrap();
        assert_eq!((updated.last_seen.as_deref(), updated.referrer.as_deref()), (Some("seen-two"), Some("ref-one")));
        let via_update = store.update(&created.id, account("k@x", "k", "three"), None).await.unwrap();
        assert_eq!(via_update.last_seen.as_deref(), Some("seen-three"));

        let many = vec![Account { id: created.id, ..account("k@x", "k", "four") }, account("m@x", "m", "five")];
        let written = store.upsert_many(many, None).await.unwrap();
        assert_eq!(
            written.iter().map(|r| (r.name.as_str(), r.last_seen.as_deref(), r.version())).collect::<Vec<_>>(),
            [("four", Some("seen-four"), Some(4)), ("five", None, Some(1))]
        );

        // Soft-deleted: the upsert fails and the row stays as it was, by key or by email.
        assert!(store.delete(&created.id).await.unwrap());
        let before = stored(&storehaus).await;
        let by_key = Account { id: created.id, ..account("k@x", "k", "revived?") };
        let err = store.upsert(by_key, None).await.unwrap_err();
        assert!(matches!(err, StoreError::Deleted { .. }), "{err:?}");
        let err = store.upsert_with(account("k@x", "k", "revived?"), None, Upsert::on(["email"])).await.unwrap_err();
        assert!(matches!(err, StoreError::Deleted { .. }), "{err:?}");
        assert_eq!(stored(&storehaus).await, before);
        assert!(store.get_by_id_with_deleted(&created.id).await.unwrap().unwrap().is_deleted());
    }

    /// In a transaction both halves of an upsert and an insert-or-ignore are part of it: seen
    /// inside, gone after a rollback.
    async fn upserts_in_a_transaction_roll_back_with_it(db) {
        let (storehaus, store) = accounts(&db).await;
        let kept = store.create(account("t@x", "t", "kept"), None).await.unwrap();
        let tx = storehaus.begin().await.unwrap();
        let in_tx = store.with_transaction(&tx);
        let updated = in_tx.upsert_with(account("t@x", "t2", "changed"), None, Upsert::on(["email"])).await.unwrap();
        assert_eq!((updated.id, updated.name.as_str()), (kept.id, "changed"));
        in_tx.upsert_with(account("n@x", "n", "new"), None, Upsert::on(["email"])).await.unwrap();
        let batch = vec![account("t@x", "q", "skipped"), account("o@x", "o", "other")];
        assert_eq!(in_tx.create_many_or_ignore(batch, None).await.unwrap().len(), 1);
        assert_eq!(in_tx.count().await.unwrap(), 3);
        tx.rollback().await.unwrap();
        assert_eq!(stored(&storehaus).await, [("t@x".into(), "kept".into(), Some("ref-kept".into()), None, 1)]);
    }

    /// Eight upserts of one email at once (each a different key) end with exactly one row,
    /// which counted every call.
    async fn concurrent_upserts_of_one_email_end_with_one_row(db) {
        let (storehaus, store) = accounts(&db).await;
        let calls = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let how = Upsert::on(["email"]).increment("visits", json!(1));
                store.upsert_with(account("same@x", "same", &format!("caller {i}")), None, how).await
            })
        });
        let results = futures_util::future::join_all(calls).await;
        let ids: std::collections::HashSet<Uuid> = results.into_iter().map(|r| r.unwrap().unwrap().id).collect();
        assert_eq!(ids.len(), 1, "every call met the same row");
        assert_eq!(int(&storehaus, r#"SELECT COUNT(*) FROM "upsert_accounts""#).await, 1);
        assert_eq!(int(&storehaus, r#"SELECT "visits" FROM "upsert_accounts""#).await, 8);
        let row = store.get_by_id(ids.iter().next().unwrap()).await.unwrap().unwrap();
        assert_eq!(row.version(), Some(8), "one insert and seven updates");
    }
}

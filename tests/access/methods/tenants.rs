//! Tenant scopes: creates take the scope's tenant, writes cannot move a row to another tenant,
//! wrong tenant values are refused, and tenant and principal scopes combine in any order.

use super::*;

#[track_caller]
fn assert_tenant_field<R: Debug>(result: Result<R, StoreError>, field: &str, what: &str) {
    match result {
        Err(StoreError::Validation { field: Some(f), .. }) if f == field => {}
        other => panic!("{what}: expected a Validation error for `{field}`, got {other:?}"),
    }
}

on_both_backends! {
    /// A create in the scope's tenant is stored as is; one naming another tenant is refused with a
    /// `Validation` error for the tenant column, and writes nothing, on every create path.
    async fn creates_refuse_another_tenant(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let acme = env.notes.tenant("acme".to_owned());
        let made = acme.create(note(next_id(), "acme", "ok"), None).await.unwrap();
        assert_eq!(stored_text(sh, "notes", "org", &made.id).await.as_deref(), Some("acme"));

        let before = snapshot(sh, "notes").await;
        let foreign = || note(next_id(), "globex", "smuggled");
        assert_tenant_field(acme.create(foreign(), None).await, "org", "create");
        assert_tenant_field(acme.create_many(vec![note(next_id(), "acme", "fine"), foreign()], None).await, "org", "create_many");
        assert_tenant_field(acme.create_or_ignore(foreign(), None).await, "org", "create_or_ignore");
        assert_tenant_field(acme.upsert(foreign(), None).await, "org", "upsert");
        assert_tenant_field(acme.upsert_many(vec![foreign()], None).await, "org", "upsert_many");
        assert_eq!(snapshot(sh, "notes").await, before, "a refused create wrote a row");

        let org = Uuid::new_v4();
        let scoped = env.invoices.tenant(org).auth("user_a");
        let before = snapshot(sh, "invoices").await;
        assert_tenant_field(scoped.create(invoice(Uuid::new_v4(), 1), None).await, "org_id", "invoice create");
        assert_eq!(snapshot(sh, "invoices").await, before);
        let made = scoped.create(invoice(org, 2), None).await.unwrap();
        assert_eq!(stored_text(sh, "invoices", "org_id", &made.id).await, Some(org.hyphenated().to_string()));
        assert_eq!(stored_principals(sh, "invoices", &made.id).await, Some(strings(&["user_a"])));
    }

    /// A tenant field left empty is filled with the scope's tenant.
    async fn creates_fill_an_empty_tenant(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let acme = env.memos.tenant("acme".to_owned());
        let empty = acme.create(Memo { id: 1, org: None, text: "a".into() }, None).await.unwrap();
        assert_eq!(empty.org.as_deref(), Some("acme"), "the returned record carries the tenant");
        assert_eq!(stored_text(sh, "memos", "org", &1_i64).await.as_deref(), Some("acme"));
        let many = acme.create_many(vec![Memo { id: 2, org: None, text: "b".into() }], None).await.unwrap();
        assert_eq!(many[0].org.as_deref(), Some("acme"));
        assert_eq!(stored_text(sh, "memos", "org", &2_i64).await.as_deref(), Some("acme"));
        let before = snapshot(sh, "memos").await;
        assert_tenant_field(acme.create(Memo { id: 4, org: Some("globex".into()), text: "d".into() }, None).await, "org", "memo");
        assert_eq!(snapshot(sh, "memos").await, before);
        assert_eq!(env.memos.tenant("globex".to_owned()).count().await.unwrap(), 0);
        assert_eq!(acme.count().await.unwrap(), 2);
        // The insert half of an upsert is a create too.
        acme.upsert(Memo { id: 3, org: None, text: "c".into() }, None).await.unwrap();
        assert_eq!(stored_text(sh, "memos", "org", &3_i64).await.as_deref(), Some("acme"));
    }

    /// No update path moves a row to another tenant; the row stays as it was.
    async fn updates_cannot_move_a_row_to_another_tenant(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let acme = env.notes.tenant("acme".to_owned());
        let id = next_id();
        let record = acme.create(note(id, "acme", "body"), None).await.unwrap();
        let before = snapshot(sh, "notes").await;
        let moved = note(id, "globex", "moved");
        assert_tenant_field(acme.update(&id, moved.clone(), None).await, "org", "update");
        let mut edited = record.clone();
        edited.org = "globex".into();
        assert_tenant_field(acme.save(&edited).await, "org", "save");
        assert_tenant_field(acme.update_many(vec![(id, moved.clone())]).await, "org", "update_many");
        let by_id = QueryBuilder::new().filter(QueryFilter::eq("id", id));
        assert_tenant_field(acme.update_where(by_id, UpdateSet::new().set("org", "globex")).await, "org", "update_where");
        assert_tenant_field(acme.upsert(moved, None).await, "org", "upsert");
        assert_eq!(snapshot(sh, "notes").await, before, "a refused update changed the table");
        assert_eq!(env.notes.tenant("globex".to_owned()).count().await.unwrap(), 0);

        let org = Uuid::new_v4();
        let scoped = env.invoices.tenant(org).auth("user_a");
        let inv = scoped.create(invoice(org, 5), None).await.unwrap();
        let before = snapshot(sh, "invoices").await;
        let away = Invoice { org_id: Uuid::new_v4(), ..inv.data().clone() };
        assert_tenant_field(scoped.update(&inv.id, away.clone(), None).await, "org_id", "invoice update");
        assert_tenant_field(scoped.update_many(vec![(inv.id, away)]).await, "org_id", "invoice update_many");
        assert_eq!(snapshot(sh, "invoices").await, before);
        // Within the tenant the update goes through.
        scoped.update(&inv.id, Invoice { total: 6, ..inv.data().clone() }, None).await.unwrap();
        assert_eq!(stored_text(sh, "invoices", "total", &inv.id).await.as_deref(), Some("6"));
    }

    /// A tenant value of the wrong type, or NULL, is a `Validation` error before anything runs.
    async fn wrong_tenant_values_are_refused(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let before = (snapshot(sh, "notes").await, snapshot(sh, "invoices").await, snapshot(sh, "memos").await);
        let wrong = env.notes.tenant(5_i64);
        assert_validation(wrong.count().await, "integer tenant on a text column");
        assert_validation(wrong.create(note(next_id(), "acme", "x"), None).await, "integer tenant, create");
        let wrong = env.invoices.tenant("acme".to_owned()).auth("user_a");
        assert_validation(wrong.list_all().await, "text tenant on a uuid column");
        assert_validation(wrong.create(invoice(Uuid::new_v4(), 1), None).await, "text tenant, create");
        let null = env.memos.tenant(None::<String>);
        assert_validation(null.list_all().await, "NULL tenant");
        assert_validation(null.create(Memo { id: 9, org: None, text: "x".into() }, None).await, "NULL tenant, create");
        assert_eq!((snapshot(sh, "notes").await, snapshot(sh, "invoices").await, snapshot(sh, "memos").await), before);
    }

    /// `tenant(org).auth(user)` and `auth(user).tenant(org)` are the same scope.
    async fn scopes_combine_in_any_order(db) {
        let env = env(&db).await;
        let (org, other) = (Uuid::new_v4(), Uuid::new_v4());
        let inv = &env.invoices;
        let mut expected = Vec::new();
        for (tenant, user) in [(org, "user_a"), (org, "user_b"), (other, "user_a"), (other, "user_b")] {
            let made = inv.tenant(tenant).auth(user).create(invoice(tenant, 1), None).await.unwrap();
            if (tenant, user) == (org, "user_a") {
                expected.push(made.id);
            }
        }
        let made = inv.auth("user_a").tenant(org).create(invoice(org, 2), None).await.unwrap();
        expected.push(made.id);
        expected.sort();
        assert_eq!(stored_principals(&env.storehaus, "invoices", &made.id).await, Some(strings(&["user_a"])));
        for (what, store) in [("tenant, auth", inv.tenant(org).auth("user_a")), ("auth, tenant", inv.auth("user_a").tenant(org))] {
            let mut seen: Vec<Uuid> = store.list_all().await.unwrap().iter().map(|r| r.id).collect();
            seen.sort();
            assert_eq!(seen, expected, "{what}");
            assert_eq!(store.count().await.unwrap(), 2, "{what}");
            assert_eq!(store.count_where(QueryBuilder::new()).await.unwrap(), 2, "{what}");
        }
    }
}

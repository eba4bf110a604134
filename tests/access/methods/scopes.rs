//! Missing, misplaced and malformed scopes run nothing; `.unrestricted()` lifts the requirement.

use super::*;
use futures_util::StreamExt;

/// Runs every kind of call of `store` on `record`'s row (and on `fresh`, for creates); returns
/// each call's name and result, values dropped.
async fn every_call<T>(
    store: &GenericStore<T>,
    record: &Record<T>,
    fresh: impl Fn() -> T,
) -> Vec<(&'static str, Result<(), StoreError>)>
where
    T: Model + Clone + Debug,
{
    fn done<R>(result: Result<R, StoreError>) -> Result<(), StoreError> {
        result.map(|_| ())
    }
    let key = record.key();
    let data: T = record.data().clone();
    let any = || QueryBuilder::new().all_rows();
    let mut out = vec![
        ("create", done(store.create(fresh(), None).await)),
        ("create_many", done(store.create_many(vec![fresh()], None).await)),
        ("create_or_ignore", done(store.create_or_ignore(fresh(), None).await)),
        ("upsert", done(store.upsert(fresh(), None).await)),
        ("upsert, existing key", done(store.upsert(data.clone(), None).await)),
        ("upsert_many", done(store.upsert_many(vec![fresh()], None).await)),
        ("get_by_id", done(store.get_by_id(&key).await)),
        ("get_by_id_with_deleted", done(store.get_by_id_with_deleted(&key).await)),
        ("list_all", done(store.list_all().await)),
        ("count", done(store.count().await)),
        ("find", done(store.find(QueryBuilder::new()).await)),
        ("find_one", done(store.find_one(QueryBuilder::new()).await)),
        ("find_cached", done(store.find_cached(QueryBuilder::new()).await)),
        ("find_page", done(store.find_page(QueryBuilder::new().limit(5)).await)),
        ("count_where", done(store.count_where(QueryBuilder::new()).await)),
        ("update", done(store.update(&key, data.clone(), None).await)),
        ("save", done(store.save(record).await)),
        ("update_many", done(store.update_many(vec![(key.clone(), data.clone())]).await)),
        (
            "update_where",
            done(store.update_where(any(), UpdateSet::new().set(T::TABLE.columns[1].name, data_field(record))).await),
        ),
        ("add_tags", done(store.add_tags(&key, ["x"]).await)),
        ("remove_tags", done(store.remove_tags(&key, ["x"]).await)),
        ("set_tags", done(store.set_tags(&key, ["x"]).await)),
        ("delete", done(store.delete(&key).await)),
        ("delete_many", done(store.delete_many(vec![key.clone()]).await)),
        ("delete_record", done(store.delete_record(record).await)),
        ("delete_where", done(store.delete_where(any()).await)),
        ("force_delete", done(store.force_delete(&key).await)),
        ("force_delete_where", done(store.force_delete_where(any()).await)),
    ];
    let streamed: Vec<_> = store.find_stream(QueryBuilder::new()).collect().await;
    out.push(("find_stream", streamed.into_iter().find(Result::is_err).map_or(Ok(()), done)));
    if T::TABLE.auth {
        out.push(("grant", done(store.grant(&key, "someone").await)));
        out.push(("revoke", done(store.revoke(&key, "someone").await)));
        out.push(("principals", done(store.principals(&key).await)));
    }
    if T::TABLE.versioned {
        let version = record.version().unwrap_or(1);
        out.push(("update_versioned", done(store.update_versioned(&key, data.clone(), None, version).await)));
        out.push(("delete_versioned", done(store.delete_versioned(&key, version).await)));
    }
    if T::TABLE.soft_delete {
        out.push(("restore", done(store.restore(&key).await)));
        out.push(("restore_where", done(store.restore_where(any()).await)));
    }
    out
}

/// The value of the first column after the key, as JSON, for an `update_where` that would write
/// it unchanged.
fn data_field<T: Model>(record: &Record<T>) -> serde_json::Value {
    let json = serde_json::to_value(record.data()).unwrap();
    json[T::TABLE.columns[1].name].clone()
}

/// Checks that every call failed as `check` wants and that no row changed.
async fn refuses_all<T>(
    storehaus: &StoreHaus,
    what: &str,
    store: &GenericStore<T>,
    record: &Record<T>,
    fresh: impl Fn() -> T,
    check: impl Fn(&str, Result<(), StoreError>),
) where
    T: Model + Clone + Debug,
{
    let before = snapshot(storehaus, T::TABLE.name).await;
    for (call, result) in every_call(store, record, fresh).await {
        check(&format!("{what}: {call}"), result);
    }
    assert_eq!(snapshot(storehaus, T::TABLE.name).await, before, "{what}: a refused call changed the table");
}

on_both_backends! {
    /// Without a principal scope, every call on an `auth` table is `AuthRequired` and runs nothing.
    async fn an_auth_table_needs_a_principal(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let record = env.projects.auth("user_a").create(project("p", 1), None).await.unwrap();
        refuses_all(sh, "no scope", &env.projects, &record, || project("new", 1), |what, r| assert_auth_required(r, "projects", what)).await;
        assert_eq!(row_count(sh, "projects").await, 1);

        // Invoices need both scopes: either alone is refused for the missing one.
        let org = Uuid::new_v4();
        let invoice_row = env.invoices.tenant(org).auth("user_a").create(invoice(org, 5), None).await.unwrap();
        refuses_all(sh, "tenant only", &env.invoices.tenant(org), &invoice_row, || invoice(org, 1), |what, r| assert_auth_required(r, "invoices", what)).await;
        refuses_all(sh, "auth only", &env.invoices.auth("user_a"), &invoice_row, || invoice(org, 1), |what, r| assert_tenant_required(r, "invoices", what)).await;
        let neither = env.invoices.find(QueryBuilder::new()).await;
        assert!(matches!(neither, Err(StoreError::AuthRequired { .. } | StoreError::TenantRequired { .. })), "{neither:?}");
        assert_eq!(row_count(sh, "invoices").await, 1);
    }

    /// Without a tenant scope, every call on a tenant table is `TenantRequired`.
    async fn a_tenant_table_needs_a_tenant(db) {
        let env = env(&db).await;
        let record = env.notes.tenant("acme".to_owned()).create(note(1, "acme", "n"), None).await.unwrap();
        let fresh = || note(next_id(), "acme", "new");
        refuses_all(&env.storehaus, "no scope", &env.notes, &record, fresh, |what, r| assert_tenant_required(r, "notes", what)).await;
        assert_eq!(row_count(&env.storehaus, "notes").await, 1);
    }

    /// A scope on a model it does not apply to is a `Validation` error on every call.
    async fn a_scope_on_a_model_without_it_is_refused(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let record = env.plain.create(PlainRow { id: 1, label: "l".into() }, None).await.unwrap();
        let fresh = || PlainRow { id: 2, label: "new".into() };
        refuses_all(sh, "auth on plain", &env.plain.auth("user_a"), &record, fresh, |what, r| assert_validation(r, what)).await;
        refuses_all(sh, "tenant on plain", &env.plain.tenant("acme".to_owned()), &record, fresh, |what, r| assert_validation(r, what)).await;
        let note_row = env.notes.tenant("acme".to_owned()).create(note(1, "acme", "n"), None).await.unwrap();
        refuses_all(sh, "auth on notes", &env.notes.tenant("acme".to_owned()).auth("user_a"), &note_row, || note(2, "acme", "x"), |what, r| assert_validation(r, what)).await;
        assert_eq!(row_count(sh, "plain_rows").await, 1);
        // The model without scopes is unaffected by their absence.
        assert_eq!(env.plain.count().await.unwrap(), 1);
    }

    /// Empty principals, NUL bytes, an empty list, too many principals: `Validation`, nothing runs.
    async fn malformed_principals_are_refused(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let record = env.projects.auth("user_a").create(project("p", 1), None).await.unwrap();
        let too_many: Vec<String> = (0..1001).map(|i| format!("user_{i}")).collect();
        let bad = [
            ("empty principal", env.projects.auth("")),
            ("NUL byte", env.projects.auth("user\0a")),
            ("empty list", env.projects.auth_any(Vec::<String>::new())),
            ("empty among others", env.projects.auth_any(["user_a", ""])),
            ("1001 principals", env.projects.auth_any(too_many)),
            ("unrestricted, empty principal", env.projects.unrestricted().auth("")),
        ];
        for (what, store) in &bad {
            refuses_all(sh, what, store, &record, || project("new", 1), |what, r| assert_validation(r, what)).await;
        }
        assert_eq!(row_count(sh, "projects").await, 1);
        // A thousand is allowed.
        let thousand: Vec<String> = (0..999).map(|i| format!("user_{i}")).chain(["user_a".to_owned()]).collect();
        assert_eq!(env.projects.auth_any(thousand).count().await.unwrap(), 1);
    }

    /// `.unrestricted()` sees and writes every row; its creates belong to nobody; a scope given as
    /// well still applies.
    async fn unrestricted_sees_everything_and_creates_for_nobody(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let a = env.projects.auth("user_a").create(project("a", 1), None).await.unwrap().id;
        let b = env.projects.auth("user_b").create(project("b", 2), None).await.unwrap().id;
        let admin = env.projects.unrestricted();
        assert_eq!(admin.count().await.unwrap(), 2);
        let made = admin.create(project("admin", 3), None).await.unwrap();
        assert_eq!(stored_principals(sh, "projects", &made.id).await, Some(vec![]));
        assert_eq!(made.principals(), Some(&[][..]));
        assert_eq!(env.projects.auth("user_a").count().await.unwrap(), 1, "a row of nobody is visible to no principal");
        admin.update(&b, Project { id: b, name: "b-admin".into(), stars: 20 }, None).await.unwrap();
        assert_eq!(stored_text(sh, "projects", "name", &b).await.as_deref(), Some("b-admin"));
        assert_eq!(stored_principals(sh, "projects", &b).await, Some(strings(&["user_b"])), "an admin edit keeps __auth__");

        let scoped = env.projects.unrestricted().auth("user_a");
        let seen: Vec<Uuid> = scoped.list_all().await.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(seen, vec![a]);
        assert_eq!(scoped.get_by_id(&b).await.unwrap(), None);

        // Tenant tables too: unrestricted sees every tenant, and a tenant scope still applies.
        env.notes.tenant("acme".to_owned()).create(note(1, "acme", "x"), None).await.unwrap();
        env.notes.tenant("globex".to_owned()).create(note(2, "globex", "y"), None).await.unwrap();
        assert_eq!(env.notes.unrestricted().count().await.unwrap(), 2);
        assert_eq!(env.notes.unrestricted().tenant("acme".to_owned()).count().await.unwrap(), 1);
    }

    /// A scope holds inside a transaction, whichever was given first, and the writes it refused
    /// are not there after the commit.
    async fn scopes_hold_inside_a_transaction(db) {
        let env = env(&db).await;
        let sh = &env.storehaus;
        let theirs = env.projects.auth("user_b").create(project("theirs", 1), None).await.unwrap();
        let before = snapshot(sh, "projects").await;
        let tx = sh.begin().await.unwrap();
        for (what, a) in [
            ("auth, then transaction", env.projects.auth("user_a").with_transaction(&tx)),
            ("transaction, then auth", env.projects.with_transaction(&tx).auth("user_a")),
        ] {
            assert_eq!(a.get_by_id(&theirs.id).await.unwrap(), None, "{what}");
            assert_eq!(a.list_all().await.unwrap(), vec![], "{what}");
            let update = a.update(&theirs.id, Project { stars: 7, ..theirs.data().clone() }, None).await;
            assert!(matches!(update, Err(StoreError::NotFound { .. })), "{what}: {update:?}");
            assert!(!a.delete(&theirs.id).await.unwrap(), "{what}");
            let all = QueryBuilder::new().all_rows();
            assert_eq!(a.update_where(all, UpdateSet::new().set("stars", 7)).await.unwrap(), vec![], "{what}");
        }
        let refused = env.projects.with_transaction(&tx).count().await;
        assert!(matches!(refused, Err(StoreError::AuthRequired { .. })), "{refused:?}");
        tx.commit().await.unwrap();
        assert_eq!(snapshot(sh, "projects").await, before);
    }
}

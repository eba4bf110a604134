//! Composite primary keys: `#[primary_key]` on several fields, the key a tuple in declaration
//! order, on both backends.

use super::*;

/// A per-tenant key, with soft delete.
#[model]
#[table(name = "memberships", soft_delete)]
#[derive(PartialEq)]
pub struct Membership {
    #[primary_key]
    pub tenant: String,
    #[primary_key]
    pub user_id: i64,
    pub role: String,
}

/// A join table without soft delete: deletes remove rows.
#[model]
#[table(name = "post_tags")]
pub struct PostTag {
    #[primary_key]
    pub post: Uuid,
    #[primary_key]
    pub tag: String,
    pub weight: i32,
}

fn member(tenant: &str, user_id: i64, role: &str) -> Membership {
    Membership { tenant: tenant.to_owned(), user_id, role: role.to_owned() }
}

fn key(tenant: &str, user_id: i64) -> (String, i64) {
    (tenant.to_owned(), user_id)
}

/// 21 rows of one role whose tenants and user ids repeat: only the pair is unique.
fn same_role_members() -> Vec<Membership> {
    ["b", "a", "c"].iter().flat_map(|tenant| (1..=7).rev().map(move |id| member(tenant, id, "same"))).collect()
}

/// The keys of [`same_role_members`], in key order.
fn same_role_keys() -> Vec<(String, i64)> {
    ["a", "b", "c"].iter().flat_map(|t| (1..=7).map(move |id| key(t, id))).collect()
}

async fn memberships(storehaus: &StoreHaus) -> GenericStore<Membership> {
    storehaus.auto_migrate::<Membership>(false).await.unwrap();
    GenericStore::<Membership>::new(storehaus.pool().clone(), None, None)
}

/// `(tenant, user_id, role, deleted)` of every row, by key.
async fn stored(storehaus: &StoreHaus) -> Vec<(String, i64, String, bool)> {
    raw::rows(
        storehaus,
        "SELECT \"tenant\", \"user_id\", \"role\", \"__deleted_at__\" IS NOT NULL FROM \"memberships\" \
         ORDER BY \"tenant\", \"user_id\"",
    )
    .await
}

fn row(tenant: &str, user_id: i64, role: &str, deleted: bool) -> (String, i64, String, bool) {
    (tenant.to_owned(), user_id, role.to_owned(), deleted)
}

on_both_backends! {
    async fn crud_takes_the_key_tuple(db) {
        let storehaus = db.storehaus().await;
        let store = memberships(&storehaus).await;
        let created = store.create(member("acme", 1, "owner"), tags(&["t"])).await.unwrap();
        assert_eq!(created.key(), key("acme", 1));
        store.create(member("acme", 2, "viewer"), None).await.unwrap();
        store.create(member("globex", 1, "admin"), None).await.unwrap();

        let read = store.get_by_id(&key("globex", 1)).await.unwrap().expect("the row of (globex, 1)");
        assert_eq!(read.into_inner(), member("globex", 1, "admin"));
        assert!(store.get_by_id(&key("globex", 2)).await.unwrap().is_none());
        let listed: Vec<(String, i64)> = store.list_all().await.unwrap().iter().map(|r| r.key()).collect();
        assert_eq!(listed, [key("acme", 1), key("acme", 2), key("globex", 1)], "ordered by every key column");

        // Only the row of both key values changes, though each value alone matches others.
        let updated = store.update(&key("acme", 1), member("ignored", 99, "admin"), None).await.unwrap();
        assert_eq!(updated.key(), key("acme", 1), "update writes row `key`, not the key inside the value");
        assert!(store.delete(&key("acme", 2)).await.unwrap());
        assert_eq!(stored(&storehaus).await, vec![
            row("acme", 1, "admin", false),
            row("acme", 2, "viewer", true),
            row("globex", 1, "admin", false),
        ]);

        let error = store.update(&key("acme", 3), member("acme", 3, "x"), None).await.unwrap_err();
        assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
        let error = store.update(&key("acme", 2), member("acme", 2, "x"), None).await.unwrap_err();
        assert!(matches!(error, StoreError::Deleted { .. }), "{error:?}");
        let error = store.create(member("globex", 1, "again"), None).await.unwrap_err();
        assert!(matches!(error, StoreError::UniqueViolation { .. }), "{error:?}");
        assert_eq!(store.restore(&key("acme", 2)).await.unwrap().role, "viewer");
        assert!(store.force_delete(&key("acme", 2)).await.unwrap());
        assert_eq!(store.add_tags(&key("acme", 1), ["x"]).await.unwrap().tags(), ["t", "x"]);
        assert_eq!(row_count(&storehaus, "memberships").await, 2);
    }

    async fn batches_take_key_tuples(db) {
        let storehaus = db.storehaus().await;
        let store = memberships(&storehaus).await;
        let batch: Vec<Membership> =
            (1..=3).flat_map(|id| [member("acme", id, "viewer"), member("globex", id, "viewer")]).collect();
        assert_eq!(store.create_many(batch, None).await.unwrap().len(), 6);

        let updates = vec![(key("acme", 2), member("acme", 2, "editor")), (key("globex", 3), member("x", 0, "owner"))];
        let mut updated: Vec<(String, i64)> =
            store.update_many(updates).await.unwrap().iter().map(|r| r.key()).collect();
        updated.sort();
        assert_eq!(updated, [key("acme", 2), key("globex", 3)]);

        let deleted = store.delete_many(vec![key("acme", 1), key("globex", 2), key("nobody", 1)]).await.unwrap();
        assert_eq!(deleted, 2);

        let upserts = vec![member("acme", 3, "admin"), member("initech", 1, "owner")];
        let upserted = store.upsert_many(upserts, None).await.unwrap();
        assert_eq!(upserted.len(), 2);

        let error = store.delete_many(vec![key("acme", 3), key("acme", 3)]).await;
        assert_eq!(error.unwrap(), 1, "delete_many takes a key twice as one row");
        let error = store.upsert_many(vec![member("a", 1, "x"), member("a", 1, "y")], None).await.unwrap_err();
        assert!(matches!(error, StoreError::Validation { .. }), "{error:?}");

        assert_eq!(stored(&storehaus).await, vec![
            row("acme", 1, "viewer", true),
            row("acme", 2, "editor", false),
            row("acme", 3, "admin", true),
            row("globex", 1, "viewer", false),
            row("globex", 2, "viewer", true),
            row("globex", 3, "owner", false),
            row("initech", 1, "owner", false),
        ]);
    }

    async fn pages_tie_break_by_every_key_column(db) {
        let storehaus = db.storehaus().await;
        let store = memberships(&storehaus).await;
        store.create_many(same_role_members(), None).await.unwrap();
        let mut seen = Vec::new();
        let mut query = QueryBuilder::new().order_by("role", SortOrder::Asc).limit(4);
        loop {
            let page = store.find_page(query.clone()).await.unwrap();
            seen.extend(page.records.iter().map(|r| r.key()));
            match page.next {
                Some(cursor) => query = QueryBuilder::new().order_by("role", SortOrder::Asc).limit(4).after(&cursor),
                None => break,
            }
        }
        let expected = same_role_keys();
        assert_eq!(seen, expected, "each row once, in (role, tenant, user_id) order");
    }

    async fn backward_pages_tie_break_by_every_key_column(db) {
        let storehaus = db.storehaus().await;
        let store = memberships(&storehaus).await;
        store.create_many(same_role_members(), None).await.unwrap();
        let query = || QueryBuilder::new().order_by("role", SortOrder::Asc);
        let mut page = store.find_page(query().last(4)).await.unwrap();
        let mut seen: Vec<(String, i64)> = Vec::new();
        loop {
            // Each page is in the query's order; pages come last to first.
            seen.splice(0..0, page.records.iter().map(|r| r.key()));
            match page.previous {
                Some(cursor) => page = store.find_page(query().limit(4).before(&cursor)).await.unwrap(),
                None => break,
            }
        }
        let expected = same_role_keys();
        assert_eq!(seen, expected, "each row once, read from the end");
    }

    async fn insert_or_ignore_and_upserts_meet_rows_on_the_whole_key(db) {
        let storehaus = db.storehaus().await;
        let store = memberships(&storehaus).await;
        store.create(member("acme", 1, "owner"), None).await.unwrap();

        // (acme, 1) conflicts; (acme, 2) and (globex, 1) share one key value each with it only.
        let inserted = store
            .create_many_or_ignore(vec![member("acme", 1, "x"), member("acme", 2, "viewer"), member("globex", 1, "admin")], None)
            .await
            .unwrap();
        let keys: Vec<(String, i64)> = inserted.iter().map(|r| r.key()).collect();
        assert_eq!(keys, [key("acme", 2), key("globex", 1)]);
        assert!(store.create_or_ignore(member("globex", 1, "y"), None).await.unwrap().is_none());

        let upserted = store.upsert(member("acme", 1, "admin"), None).await.unwrap();
        assert_eq!((upserted.key(), upserted.role.as_str()), (key("acme", 1), "admin"));
        let records = store.upsert_many(vec![member("acme", 2, "owner"), member("initech", 5, "new")], None).await.unwrap();
        let written: Vec<(String, i64)> = records.iter().map(|r| r.key()).collect();
        assert_eq!(written, [key("acme", 2), key("initech", 5)]);
        let by_target = store.upsert_with(member("initech", 5, "renamed"), None, Upsert::on(["tenant", "user_id"])).await.unwrap();
        assert_eq!(by_target.role, "renamed");
        assert_eq!(stored(&storehaus).await, vec![
            row("acme", 1, "admin", false),
            row("acme", 2, "owner", false),
            row("globex", 1, "admin", false),
            row("initech", 5, "renamed", false),
        ]);
    }

    async fn migrations_create_the_composite_key(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<PostTag>(false).await.unwrap();
        assert!(storehaus.plan::<PostTag>().await.unwrap().is_empty(), "a second migration has nothing to do");
        let store = GenericStore::<PostTag>::new(storehaus.pool().clone(), None, None);
        let post = Uuid::new_v4();
        store.create(PostTag { post, tag: "rust".into(), weight: 1 }, None).await.unwrap();
        store.create(PostTag { post, tag: "sql".into(), weight: 2 }, None).await.unwrap();
        let error = store.create(PostTag { post, tag: "rust".into(), weight: 3 }, None).await.unwrap_err();
        assert!(matches!(error, StoreError::UniqueViolation { .. }), "the pair is the key: {error:?}");
        assert!(store.delete(&(post, "rust".to_owned())).await.unwrap());
        let left: Vec<(Uuid, String)> = store.list_all().await.unwrap().iter().map(|r| r.key()).collect();
        assert_eq!(left, [(post, "sql".to_owned())]);
        assert_eq!(row_count(&storehaus, "post_tags").await, 1, "a delete without soft delete removes the row");
    }
}

//! `GenericStore` CRUD, tags, soft delete and optimistic locking against a real PostgreSQL server.
//!
//! Every test checks the rows themselves with raw SQL, not only what the store returned.

use chrono::{DateTime, Utc};
use sqlx::Row;
use std::time::Duration;
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::pg;

/// Soft delete, a unique column and one field of each write kind.
#[model]
#[table(name = "people", soft_delete)]
#[derive(PartialEq)]
pub struct Person {
    #[primary_key]
    pub id: Uuid,
    #[field(create, update)]
    pub name: String,
    #[field(create, update)]
    #[unique]
    pub email: String,
    #[field(create)]
    pub referrer: Option<String>,
    #[field(update)]
    pub note: Option<String>,
    pub age: Option<i32>,
}

/// Optimistic locking (and soft delete).
#[model]
#[table(name = "documents", soft_delete, versioned)]
#[derive(PartialEq)]
pub struct Doc {
    #[primary_key]
    pub id: Uuid,
    pub title: String,
}

/// No soft delete, no versioning: deletes remove rows.
#[model]
#[table(name = "plain_items")]
pub struct Item {
    #[primary_key]
    pub id: i64,
    pub label: String,
}

fn person(name: &str) -> Person {
    Person {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase()),
        referrer: Some("ads".to_owned()),
        note: Some("ignored on create".to_owned()),
        age: Some(30),
    }
}

fn tags(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|t| (*t).to_owned()).collect())
}

async fn people(db: &TestDatabase) -> (StoreHaus, GenericStore<Person>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Person>(false).await.unwrap();
    let store = GenericStore::<Person>::new(storehaus.pool().clone(), None, None);
    (storehaus, store)
}

/// The row as stored, read without StoreHaus.
#[derive(Debug, Clone, PartialEq)]
struct PersonRow {
    id: Uuid,
    name: String,
    email: String,
    referrer: Option<String>,
    note: Option<String>,
    age: Option<i32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    tags: Vec<String>,
    deleted_at: Option<DateTime<Utc>>,
}

async fn row(storehaus: &StoreHaus, id: Uuid) -> Option<PersonRow> {
    let row =
        sqlx::query("SELECT * FROM people WHERE id = $1").bind(id).fetch_optional(pg(storehaus)).await.unwrap()?;
    Some(PersonRow {
        id: row.get("id"),
        name: row.get("name"),
        email: row.get("email"),
        referrer: row.get("referrer"),
        note: row.get("note"),
        age: row.get("age"),
        created_at: row.get("__created_at__"),
        updated_at: row.get("__updated_at__"),
        tags: row.get("__tags__"),
        deleted_at: row.get("__deleted_at__"),
    })
}

async fn row_count(storehaus: &StoreHaus, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM \"{table}\"")).fetch_one(pg(storehaus)).await.unwrap()
}

async fn server_now(storehaus: &StoreHaus) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT now()").fetch_one(pg(storehaus)).await.unwrap()
}

fn assert_close(a: DateTime<Utc>, b: DateTime<Utc>) {
    assert!((a - b).num_seconds().abs() <= 5, "{a} and {b} are more than 5 seconds apart");
}

/// `now()` is the transaction's start time; a short pause makes consecutive writes distinguishable.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn create_stores_the_tags_and_returns_server_set_system_fields() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = person("Ada");

    let created = store.create(ada.clone(), tags(&["vip", "beta"])).await.unwrap();
    assert_eq!(created.id, ada.id);
    assert_eq!(created.name, "Ada");
    assert_eq!(created.tags(), ["vip", "beta"]);
    assert_eq!(created.created_at(), created.updated_at(), "one insert sets both to the same instant");
    assert_close(created.created_at(), server_now(&storehaus).await);
    assert_eq!(created.deleted_at(), None);
    assert_eq!(created.version(), None, "`people` is not versioned");

    let stored = row(&storehaus, ada.id).await.expect("the row was inserted");
    assert_eq!(stored.tags, ["vip", "beta"]);
    assert_eq!((stored.created_at, stored.updated_at), (created.created_at(), created.updated_at()));
    assert_eq!((stored.name.as_str(), stored.email.as_str()), ("Ada", "ada@example.com"));

    let untagged = store.create(person("Bob"), None).await.unwrap();
    assert!(untagged.tags().is_empty());
    assert!(row(&storehaus, untagged.id).await.unwrap().tags.is_empty());
}

#[tokio::test]
async fn repeated_tags_are_stored_once_and_empty_tags_are_refused() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let created = store.create(person("Ada"), tags(&["b", "a", "b"])).await.unwrap();
    assert_eq!(created.tags(), ["b", "a"]);
    assert_eq!(row(&storehaus, created.id).await.unwrap().tags, ["b", "a"]);

    let err = store.create(person("Bob"), tags(&["ok", ""])).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    assert_eq!(row_count(&storehaus, "people").await, 1);
}

#[tokio::test]
async fn get_by_id_list_all_and_count() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = people(&db).await;
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(store.list_all().await.unwrap().is_empty());

    let mut ids = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        ids.push(store.create(person(name), None).await.unwrap().id);
    }
    let found = store.get_by_id(&ids[1]).await.unwrap().expect("Bob exists");
    assert_eq!(found.name, "Bob");
    assert!(store.get_by_id(&Uuid::new_v4()).await.unwrap().is_none());

    let all = store.list_all().await.unwrap();
    let listed: Vec<Uuid> = all.iter().map(|r| r.id).collect();
    ids.sort();
    assert_eq!(listed, ids, "list_all orders by key");
    assert_eq!(store.count().await.unwrap(), 3);
}

#[tokio::test]
async fn update_without_tags_keeps_them_and_with_tags_replaces_them() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), tags(&["a", "b"])).await.unwrap();

    let mut changed = ada.clone().into_inner();
    changed.name = "Ada L.".to_owned();
    let updated = store.update(&ada.id, changed.clone(), None).await.unwrap();
    assert_eq!(updated.name, "Ada L.");
    assert_eq!(updated.tags(), ["a", "b"]);
    let stored = row(&storehaus, ada.id).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.tags.clone()), ("Ada L.", vec!["a".to_owned(), "b".to_owned()]));

    let updated = store.update(&ada.id, changed.clone(), tags(&["c"])).await.unwrap();
    assert_eq!(updated.tags(), ["c"]);
    assert_eq!(row(&storehaus, ada.id).await.unwrap().tags, ["c"]);

    let updated = store.update(&ada.id, changed, Some(Vec::new())).await.unwrap();
    assert!(updated.tags().is_empty());
    assert!(row(&storehaus, ada.id).await.unwrap().tags.is_empty());
}

#[tokio::test]
async fn update_writes_the_row_named_by_id_not_the_key_inside_data() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), None).await.unwrap();
    let bob = store.create(person("Bob"), None).await.unwrap();
    let bob_before = row(&storehaus, bob.id).await.unwrap();

    // `data` carries Bob's key; the call names Ada's row.
    let data =
        Person { id: bob.id, name: "Renamed".to_owned(), email: "renamed@example.com".to_owned(), ..person("x") };
    let updated = store.update(&ada.id, data, None).await.unwrap();
    assert_eq!(updated.id, ada.id);
    assert_eq!(updated.name, "Renamed");

    let ada_after = row(&storehaus, ada.id).await.unwrap();
    assert_eq!((ada_after.name.as_str(), ada_after.email.as_str()), ("Renamed", "renamed@example.com"));
    assert_eq!(row(&storehaus, bob.id).await.unwrap(), bob_before, "the row whose key was in `data` is untouched");
}

#[tokio::test]
async fn create_only_fields_survive_update_and_update_only_fields_start_null() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = person("Ada");
    let created = store.create(ada.clone(), None).await.unwrap();
    assert_eq!(created.note, None, "an update-only field is not written by create");
    assert_eq!(created.referrer.as_deref(), Some("ads"));
    let stored = row(&storehaus, ada.id).await.unwrap();
    assert_eq!((stored.note, stored.referrer.as_deref(), stored.age), (None, Some("ads"), Some(30)));

    let data = Person { referrer: Some("changed".to_owned()), note: Some("hello".to_owned()), age: Some(31), ..ada };
    let updated = store.update(&data.id.clone(), data, None).await.unwrap();
    assert_eq!(updated.referrer.as_deref(), Some("ads"), "a create-only field is not written by update");
    assert_eq!(updated.note.as_deref(), Some("hello"));
    let stored = row(&storehaus, updated.id).await.unwrap();
    assert_eq!(
        (stored.referrer.as_deref(), stored.note.as_deref(), stored.age),
        (Some("ads"), Some("hello"), Some(31))
    );
}

#[tokio::test]
async fn created_at_never_moves_and_updated_at_moves_on_every_write() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), None).await.unwrap();
    let created_at = ada.created_at();
    let mut last = row(&storehaus, ada.id).await.unwrap().updated_at;
    assert_eq!(last, created_at);

    for step in ["update", "add_tags", "remove_tags", "set_tags", "delete", "restore", "save"] {
        tick().await;
        let before = server_now(&storehaus).await;
        let returned: Option<Record<Person>> = match step {
            "update" => Some(store.update(&ada.id, person("Ada2"), None).await.unwrap()),
            "add_tags" => Some(store.add_tags(&ada.id, ["x", "y"]).await.unwrap()),
            "remove_tags" => Some(store.remove_tags(&ada.id, ["x"]).await.unwrap()),
            "set_tags" => Some(store.set_tags(&ada.id, ["z"]).await.unwrap()),
            "delete" => {
                assert!(store.delete(&ada.id).await.unwrap());
                None
            }
            "restore" => Some(store.restore(&ada.id).await.unwrap()),
            "save" => {
                let current = store.get_by_id(&ada.id).await.unwrap().unwrap();
                Some(store.save(&current).await.unwrap())
            }
            _ => unreachable!(),
        };
        let stored = row(&storehaus, ada.id).await.unwrap();
        assert_eq!(stored.created_at, created_at, "{step} changed __created_at__");
        assert!(stored.updated_at > last, "{step} did not move __updated_at__ ({} <= {last})", stored.updated_at);
        assert!(stored.updated_at >= before, "{step}: __updated_at__ comes from the server clock");
        if let Some(record) = returned {
            assert_eq!(record.updated_at(), stored.updated_at, "{step} returned a stale __updated_at__");
            assert_eq!(record.created_at(), created_at);
        }
        last = stored.updated_at;
    }
}

#[tokio::test]
async fn batch_and_bulk_writes_set_system_fields_like_single_ones() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let created = store.create_many(vec![person("Ada"), person("Bob")], tags(&["batch"])).await.unwrap();
    let now = server_now(&storehaus).await;
    for record in &created {
        let stored = row(&storehaus, record.id).await.unwrap();
        assert_eq!(stored.created_at, stored.updated_at);
        assert_close(stored.created_at, now);
        assert_eq!(stored.tags, ["batch"]);
        assert_eq!(stored.note, None, "update-only fields are not written by create_many either");
    }
    let (ada, bob) = (created[0].id, created[1].id);
    let before = row(&storehaus, ada).await.unwrap();

    tick().await;
    store.update_many(vec![(ada, person("Ada2"))]).await.unwrap();
    let after = row(&storehaus, ada).await.unwrap();
    assert_eq!((after.name.as_str(), after.created_at), ("Ada2", before.created_at));
    assert!(after.updated_at > before.updated_at, "update_many moves __updated_at__");
    assert_eq!(after.tags, ["batch"], "update_many keeps the tags");
    assert_eq!(after.referrer, before.referrer, "update_many leaves create-only fields alone");

    tick().await;
    let q = QueryBuilder::new().filter(QueryFilter::eq("id", json!(ada)));
    store.update_where(q, UpdateSet::new().set("age", json!(50))).await.unwrap();
    let bulk = row(&storehaus, ada).await.unwrap();
    assert_eq!((bulk.age, bulk.created_at), (Some(50), before.created_at));
    assert!(bulk.updated_at > after.updated_at, "update_where moves __updated_at__");

    tick().await;
    let upserted = store.upsert(Person { id: bob, ..person("Bobby") }, None).await.unwrap();
    let stored = row(&storehaus, bob).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.tags.clone()), ("Bobby", vec!["batch".to_owned()]));
    assert_eq!(stored.created_at, created[1].created_at(), "an upsert of an existing row keeps __created_at__");
    assert!(stored.updated_at > created[1].updated_at());
    assert_eq!(upserted.updated_at(), stored.updated_at);

    tick().await;
    assert_eq!(store.delete_many(vec![ada, bob]).await.unwrap(), 2);
    for id in [ada, bob] {
        let stored = row(&storehaus, id).await.unwrap();
        assert!(stored.deleted_at.is_some() && stored.updated_at == stored.deleted_at.unwrap());
    }
}

#[tokio::test]
async fn tag_edits_add_without_duplicates_keep_order_remove_and_set() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), tags(&["b", "a"])).await.unwrap();

    let r = store.add_tags(&ada.id, ["c", "a", "d", "c"]).await.unwrap();
    assert_eq!(r.tags(), ["b", "a", "c", "d"], "existing tags keep their place; new ones are appended once");
    assert_eq!(row(&storehaus, ada.id).await.unwrap().tags, ["b", "a", "c", "d"]);

    let r = store.remove_tags(&ada.id, ["a", "missing"]).await.unwrap();
    assert_eq!(r.tags(), ["b", "c", "d"]);
    assert_eq!(row(&storehaus, ada.id).await.unwrap().tags, ["b", "c", "d"]);

    let r = store.set_tags(&ada.id, ["y", "x", "y"]).await.unwrap();
    assert_eq!(r.tags(), ["y", "x"]);
    assert_eq!(row(&storehaus, ada.id).await.unwrap().tags, ["y", "x"]);

    let r = store.set_tags(&ada.id, Vec::<String>::new()).await.unwrap();
    assert!(r.tags().is_empty());
    assert!(row(&storehaus, ada.id).await.unwrap().tags.is_empty());

    let missing = Uuid::new_v4();
    let err = store.add_tags(&missing, ["x"]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn soft_delete_hides_the_row_but_keeps_it_in_the_table() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), tags(&["t"])).await.unwrap();
    let bob = store.create(person("Bob"), None).await.unwrap();

    assert!(store.delete(&ada.id).await.unwrap());
    assert!(store.get_by_id(&ada.id).await.unwrap().is_none());
    let listed: Vec<Uuid> = store.list_all().await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(listed, [bob.id]);
    assert_eq!(store.count().await.unwrap(), 1);
    let by_name = store.find(QueryBuilder::new().filter(QueryFilter::eq("name", json!("Ada")))).await.unwrap();
    assert!(by_name.is_empty(), "find does not see deleted rows: {by_name:?}");

    let stored = row(&storehaus, ada.id).await.expect("a soft delete keeps the row");
    let deleted_at = stored.deleted_at.expect("__deleted_at__ is set");
    assert_close(deleted_at, server_now(&storehaus).await);
    assert_eq!(row_count(&storehaus, "people").await, 2);

    let seen = store.get_by_id_with_deleted(&ada.id).await.unwrap().expect("visible with deleted");
    assert!(seen.is_deleted());
    assert_eq!(seen.deleted_at(), Some(deleted_at));
    assert_eq!(seen.tags(), ["t"]);

    assert!(!store.delete(&ada.id).await.unwrap(), "deleting a deleted row deletes nothing");
    assert_eq!(row(&storehaus, ada.id).await.unwrap().deleted_at, Some(deleted_at), "the first deletion time stays");
}

#[tokio::test]
async fn writing_to_a_deleted_row_fails_and_leaves_it_deleted_and_unchanged() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), tags(&["t"])).await.unwrap();
    store.delete(&ada.id).await.unwrap();
    let before = row(&storehaus, ada.id).await.unwrap();

    let err = store.update(&ada.id, person("Zed"), tags(&["new"])).await.unwrap_err();
    assert!(matches!(err, StoreError::Deleted { .. }), "{err:?}");
    let err = store.add_tags(&ada.id, ["new"]).await.unwrap_err();
    assert!(matches!(err, StoreError::Deleted { .. }), "{err:?}");
    let err = store.set_tags(&ada.id, ["new"]).await.unwrap_err();
    assert!(matches!(err, StoreError::Deleted { .. }), "{err:?}");

    assert_eq!(row(&storehaus, ada.id).await.unwrap(), before, "the deleted row stays deleted and unchanged");
}

#[tokio::test]
async fn restore_brings_a_deleted_row_back() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), tags(&["t"])).await.unwrap();
    store.delete(&ada.id).await.unwrap();

    let restored = store.restore(&ada.id).await.unwrap();
    assert!(!restored.is_deleted());
    assert_eq!(restored.tags(), ["t"]);
    assert_eq!(row(&storehaus, ada.id).await.unwrap().deleted_at, None);
    assert_eq!(store.get_by_id(&ada.id).await.unwrap().unwrap().name, "Ada");
    assert_eq!(store.count().await.unwrap(), 1);

    let err = store.restore(&ada.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "restoring a live row: {err:?}");
    let err = store.restore(&Uuid::new_v4()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn force_delete_removes_the_row_deleted_or_not() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), None).await.unwrap();
    let bob = store.create(person("Bob"), None).await.unwrap();
    store.delete(&bob.id).await.unwrap();

    assert!(store.force_delete(&ada.id).await.unwrap());
    assert!(store.force_delete(&bob.id).await.unwrap());
    assert!(row(&storehaus, ada.id).await.is_none());
    assert!(row(&storehaus, bob.id).await.is_none());
    assert!(store.get_by_id_with_deleted(&bob.id).await.unwrap().is_none());
    assert!(!store.force_delete(&ada.id).await.unwrap());
    assert_eq!(row_count(&storehaus, "people").await, 0);
}

#[tokio::test]
async fn delete_without_soft_delete_removes_the_row() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Item>(false).await.unwrap();
    let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);
    store.create(Item { id: 1, label: "one".into() }, None).await.unwrap();
    store.create(Item { id: 2, label: "two".into() }, None).await.unwrap();

    assert!(store.delete(&1).await.unwrap());
    assert!(!store.delete(&1).await.unwrap());
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM plain_items").fetch_all(pg(&storehaus)).await.unwrap();
    assert_eq!(ids, [2]);
    assert!(store.get_by_id_with_deleted(&1).await.unwrap().is_none());

    let created = store.get_by_id(&2).await.unwrap().unwrap();
    assert_eq!((created.deleted_at(), created.version()), (None, None));
    let err = store.restore(&2).await.unwrap_err();
    assert!(matches!(err, StoreError::Unsupported { .. }), "{err:?}");
    let err = store.update_versioned(&2, Item { id: 2, label: "x".into() }, None, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    assert_eq!(store.get_by_id(&2).await.unwrap().unwrap().label, "two");
}

#[tokio::test]
async fn missing_keys_are_not_found_never_conflict() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    store.create(person("Ada"), None).await.unwrap();
    let missing = Uuid::new_v4();

    let err = store.update(&missing, person("X"), None).await.unwrap_err();
    assert!(matches!(&err, StoreError::NotFound { table, .. } if table == "people"), "{err:?}");
    let err = store.remove_tags(&missing, ["x"]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(!store.delete(&missing).await.unwrap());
    assert!(!store.force_delete(&missing).await.unwrap());
    assert_eq!(row_count(&storehaus, "people").await, 1);

    let docs = documents(&storehaus).await;
    docs.create(doc("a"), None).await.unwrap();
    let err = docs.update_versioned(&missing, doc("x"), None, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "a missing row is not a version conflict: {err:?}");
    let err = docs.update(&missing, doc("x"), None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

fn doc(title: &str) -> Doc {
    Doc { id: Uuid::new_v4(), title: title.to_owned() }
}

async fn documents(storehaus: &StoreHaus) -> GenericStore<Doc> {
    storehaus.auto_migrate::<Doc>(false).await.unwrap();
    GenericStore::<Doc>::new(storehaus.pool().clone(), None, None)
}

/// `(title, __version__, __deleted_at__)` as stored.
async fn doc_row(storehaus: &StoreHaus, id: Uuid) -> (String, i64, Option<DateTime<Utc>>) {
    sqlx::query_as("SELECT title, __version__, __deleted_at__ FROM documents WHERE id = $1")
        .bind(id)
        .fetch_one(pg(storehaus))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_of_fifty_stale_versioned_writers_wins() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let store = documents(&storehaus).await;
    let original = store.create(doc("v1"), None).await.unwrap();
    let stale = original.version().unwrap();
    assert_eq!(stale, 1);

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            let data = Doc { id: original.id, title: format!("writer {i}") };
            tokio::spawn(async move { store.update_versioned(&data.id.clone(), data, None, stale).await })
        })
        .collect();
    let (mut won, mut conflicts, mut winner) = (0, 0, None);
    for task in tasks {
        match task.await.unwrap() {
            Ok(record) => {
                won += 1;
                winner = Some(record);
            }
            Err(StoreError::Conflict { .. }) => conflicts += 1,
            Err(other) => panic!("a stale writer got {other:?} instead of Conflict"),
        }
    }
    assert_eq!((won, conflicts), (1, 49));
    let winner = winner.unwrap();
    assert_eq!(winner.version(), Some(stale + 1));
    let (title, version, _) = doc_row(&storehaus, original.id).await;
    assert_eq!(version, stale + 1, "the version went up by exactly one");
    assert_eq!(title, winner.title, "the row holds the winner's write");
}

#[tokio::test]
async fn update_bumps_the_version_and_save_checks_it() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let store = documents(&storehaus).await;
    let created = store.create(doc("v1"), None).await.unwrap();
    assert_eq!(created.version(), Some(1));
    assert_eq!(doc_row(&storehaus, created.id).await.1, 1);

    let mut first = store.get_by_id(&created.id).await.unwrap().unwrap();
    let mut second = first.clone();
    first.title = "first".to_owned();
    let saved = store.save(&first).await.unwrap();
    assert_eq!(saved.version(), Some(2));
    assert_eq!(doc_row(&storehaus, created.id).await.1, 2);

    second.title = "second".to_owned();
    let err = store.save(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(doc_row(&storehaus, created.id).await, ("first".to_owned(), 2, None), "the stale save wrote nothing");

    // A plain update does not check the version, but still bumps it; so do tag edits.
    let updated = store.update(&created.id, Doc { id: created.id, title: "third".into() }, None).await.unwrap();
    assert_eq!(updated.version(), Some(3));
    let tagged = store.add_tags(&created.id, ["t"]).await.unwrap();
    assert_eq!(tagged.version(), Some(4));
    assert_eq!(doc_row(&storehaus, created.id).await.1, 4);
    let err = store.update_versioned(&created.id, doc("stale"), None, 3).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let current = store.update_versioned(&created.id, doc("fresh"), tags(&["u"]), 4).await.unwrap();
    assert_eq!((current.title.as_str(), current.version(), current.tags()), ("fresh", Some(5), &["u".to_owned()][..]));
    assert_eq!(doc_row(&storehaus, created.id).await, ("fresh".to_owned(), 5, None));

    // Bulk updates bump it too, so a writer holding version 5 now loses.
    let q = QueryBuilder::new().filter(QueryFilter::eq("id", json!(created.id)));
    let bulk = store.update_where(q, UpdateSet::new().set("title", json!("bulk"))).await.unwrap();
    assert_eq!(bulk[0].version(), Some(6));
    let err = store.update_versioned(&created.id, doc("late"), None, 5).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(doc_row(&storehaus, created.id).await, ("bulk".to_owned(), 6, None));
}

#[tokio::test]
async fn a_versioned_write_to_a_deleted_row_is_deleted_not_conflict() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let store = documents(&storehaus).await;
    let created = store.create(doc("v1"), None).await.unwrap();
    assert!(store.delete(&created.id).await.unwrap());
    let before = doc_row(&storehaus, created.id).await;

    for expected in [before.1, before.1 + 7] {
        let err = store.update_versioned(&created.id, doc("x"), None, expected).await.unwrap_err();
        assert!(matches!(err, StoreError::Deleted { .. }), "{err:?}");
    }
    let deleted = store.get_by_id_with_deleted(&created.id).await.unwrap().unwrap();
    let err = store.save(&deleted).await.unwrap_err();
    assert!(matches!(err, StoreError::Deleted { .. }), "{err:?}");
    assert_eq!(doc_row(&storehaus, created.id).await, before, "still deleted, same values");
}

#[tokio::test]
async fn a_duplicate_unique_value_names_the_unique_index() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), None).await.unwrap();

    let twin = Person { email: ada.email.clone(), ..person("Twin") };
    let err = store.create(twin, None).await.unwrap_err();
    match &err {
        StoreError::UniqueViolation { constraint } => assert_eq!(constraint, "people_email_key"),
        other => panic!("expected UniqueViolation, got {other:?}"),
    }
    assert_eq!(err.sqlstate(), Some("23505"));
    assert!(!matches!(err, StoreError::Conflict { .. }));
    assert_eq!(row_count(&storehaus, "people").await, 1);

    let bob = store.create(person("Bob"), None).await.unwrap();
    let err = store.update(&bob.id, Person { email: ada.email.clone(), ..person("Bob") }, None).await.unwrap_err();
    assert!(matches!(&err, StoreError::UniqueViolation { constraint } if constraint == "people_email_key"), "{err:?}");
    assert_eq!(row(&storehaus, bob.id).await.unwrap().email, "bob@example.com");
}

#[tokio::test]
async fn a_nul_byte_in_text_is_a_validation_error_and_writes_nothing() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = people(&db).await;
    let err = store.create(Person { name: "a\0b".to_owned(), ..person("Ada") }, None).await.unwrap_err();
    assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "name"), "{err:?}");
    assert_eq!(row_count(&storehaus, "people").await, 0);

    let bob = store.create(person("Bob"), None).await.unwrap();
    let before = row(&storehaus, bob.id).await.unwrap();
    let err = store.update(&bob.id, Person { note: Some("\0".to_owned()), ..person("Bob") }, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    let err = store.add_tags(&bob.id, ["x\0y"]).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    let bob_only = QueryBuilder::new().filter(QueryFilter::eq("id", json!(bob.id)));
    let err = store.update_where(bob_only, UpdateSet::new().set("name", json!("x\0"))).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    let err = store.find(QueryBuilder::new().filter(QueryFilter::eq("name", json!("\0")))).await.unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    assert_eq!(row(&storehaus, bob.id).await.unwrap(), before);
}

#[tokio::test]
async fn a_record_serializes_as_one_flat_object() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = people(&db).await;
    let ada = store.create(person("Ada"), tags(&["vip"])).await.unwrap();

    let json = serde_json::to_value(&ada).unwrap();
    let object = json.as_object().expect("an object");
    assert_eq!(object["id"], json!(ada.id));
    assert_eq!(object["name"], json!("Ada"));
    assert_eq!(object["email"], json!("ada@example.com"));
    assert_eq!(object["note"], json!(null));
    assert_eq!(object["__tags__"], json!(["vip"]));
    assert!(!object.contains_key("__version__"), "`people` is not versioned: {json}");
    assert_eq!(object["__created_at__"], json!(ada.created_at()));
    assert_eq!(object["__updated_at__"], json!(ada.updated_at()));
    assert!(!object.contains_key("__deleted_at__"), "a live record has no deletion time: {json}");
    assert!(!object.contains_key("data") && !object.contains_key("system"), "{json}");

    let back: Record<Person> = serde_json::from_value(json).unwrap();
    assert_eq!(back, ada);

    store.delete(&ada.id).await.unwrap();
    let deleted = store.get_by_id_with_deleted(&ada.id).await.unwrap().unwrap();
    let json = serde_json::to_value(&deleted).unwrap();
    assert_eq!(json["__deleted_at__"], json!(deleted.deleted_at().unwrap()), "{json}");
    assert_eq!(ada.data().name, "Ada");
    assert_eq!(ada.clone().into_inner().email, "ada@example.com");
}

#[test]
fn generic_store_is_clone_send_sync() {
    fn assert_traits<S: Clone + Send + Sync + 'static>() {}
    assert_traits::<GenericStore<Person>>();
    assert_traits::<GenericStore<Item>>();
}

#[tokio::test]
async fn clones_share_one_table() {
    let Some(db) = TestDatabase::new().await else { return };
    let (_storehaus, store) = people(&db).await;
    let clone = store.clone();
    let ada = clone.create(person("Ada"), None).await.unwrap();
    assert_eq!(store.get_by_id(&ada.id).await.unwrap().unwrap().name, "Ada");
}

#[tokio::test]
async fn register_store_and_get_store_round_trip() {
    let Some(db) = TestDatabase::new().await else { return };
    let mut storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Person>(false).await.unwrap();
    let store = GenericStore::<Person>::new(storehaus.pool().clone(), None, None);
    storehaus.register_store("people".to_string(), store.clone()).unwrap();

    let registered = storehaus.get_store::<GenericStore<Person>>("people").unwrap();
    let ada = registered.create(person("Ada"), None).await.unwrap();
    assert_eq!(store.get_by_id(&ada.id).await.unwrap().unwrap().name, "Ada");
    assert_eq!(row(&storehaus, ada.id).await.unwrap().name, "Ada");

    let err = storehaus.get_store::<GenericStore<Item>>("people").unwrap_err();
    assert!(matches!(err, StoreError::Registry(_)), "{err:?}");
    let err = storehaus.get_store::<GenericStore<Person>>("nobody").unwrap_err();
    assert!(matches!(err, StoreError::Registry(_)), "{err:?}");
    let err = storehaus.register_store("people".to_string(), store).unwrap_err();
    assert!(matches!(err, StoreError::Registry(_)), "{err:?}");
}

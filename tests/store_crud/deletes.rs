//! Soft delete, restore, force delete, deletes without soft delete, and missing keys.

use super::*;

on_both_backends! {
    async fn soft_delete_hides_the_row_but_keeps_it_in_the_table(db) {
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
        assert_close(deleted_at, write_clock_now(&storehaus).await);
        assert_eq!(row_count(&storehaus, "people").await, 2);

        let seen = store.get_by_id_with_deleted(&ada.id).await.unwrap().expect("visible with deleted");
        assert!(seen.is_deleted());
        assert_eq!(seen.deleted_at(), Some(deleted_at));
        assert_eq!(seen.tags(), ["t"]);

        assert!(!store.delete(&ada.id).await.unwrap(), "deleting a deleted row deletes nothing");
        let kept = row(&storehaus, ada.id).await.unwrap().deleted_at;
        assert_eq!(kept, Some(deleted_at), "the first deletion time stays");
    }

    async fn writing_to_a_deleted_row_fails_and_leaves_it_deleted_and_unchanged(db) {
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

    async fn restore_brings_a_deleted_row_back(db) {
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

    async fn force_delete_removes_the_row_deleted_or_not(db) {
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

    async fn delete_without_soft_delete_removes_the_row(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Item>(false).await.unwrap();
        let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);
        store.create(Item { id: 1, label: "one".into() }, None).await.unwrap();
        store.create(Item { id: 2, label: "two".into() }, None).await.unwrap();

        assert!(store.delete(&1).await.unwrap());
        assert!(!store.delete(&1).await.unwrap());
        let ids = raw::texts(&storehaus, r#"SELECT CAST("id" AS TEXT) FROM "plain_items""#).await;
        assert_eq!(ids, [Some("2".to_owned())]);
        assert!(store.get_by_id_with_deleted(&1).await.unwrap().is_none());

        let created = store.get_by_id(&2).await.unwrap().unwrap();
        assert_eq!((created.deleted_at(), created.version()), (None, None));
        let err = store.restore(&2).await.unwrap_err();
        assert!(matches!(err, StoreError::Unsupported { .. }), "{err:?}");
        let err = store.update_versioned(&2, Item { id: 2, label: "x".into() }, None, 1).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
        assert_eq!(store.get_by_id(&2).await.unwrap().unwrap().label, "two");
    }

    async fn missing_keys_are_not_found_never_conflict(db) {
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
}

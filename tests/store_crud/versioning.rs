//! Optimistic locking: `__version__`, `update_versioned`, `save` and the version-checked deletes.

use super::*;

on_both_backends! {
    async fn exactly_one_of_fifty_stale_versioned_writers_wins(db) {
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

    async fn update_bumps_the_version_and_save_checks_it(db) {
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
        let stored = doc_row(&storehaus, created.id).await;
        assert_eq!(stored, ("first".to_owned(), 2, None), "the stale save wrote nothing");

        // A plain update does not check the version, but still bumps it; so do tag edits.
        let updated = store.update(&created.id, Doc { id: created.id, title: "third".into() }, None).await.unwrap();
        assert_eq!(updated.version(), Some(3));
        let tagged = store.add_tags(&created.id, ["t"]).await.unwrap();
        assert_eq!(tagged.version(), Some(4));
        assert_eq!(doc_row(&storehaus, created.id).await.1, 4);
        let err = store.update_versioned(&created.id, doc("stale"), None, 3).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let current = store.update_versioned(&created.id, doc("fresh"), tags(&["u"]), 4).await.unwrap();
        assert_eq!(
            (current.title.as_str(), current.version(), current.tags()),
            ("fresh", Some(5), &["u".to_owned()][..])
        );
        assert_eq!(doc_row(&storehaus, created.id).await, ("fresh".to_owned(), 5, None));

        // Bulk updates bump it too, so a writer holding version 5 now loses.
        let q = QueryBuilder::new().filter(QueryFilter::eq("id", json!(created.id)));
        let bulk = store.update_where(q, UpdateSet::new().set("title", json!("bulk"))).await.unwrap();
        assert_eq!(bulk[0].version(), Some(6));
        let err = store.update_versioned(&created.id, doc("late"), None, 5).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert_eq!(doc_row(&storehaus, created.id).await, ("bulk".to_owned(), 6, None));
    }

    async fn a_versioned_write_to_a_deleted_row_is_deleted_not_conflict(db) {
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
}

/// Versioned, without soft delete: a delete removes the row.
#[model]
#[table(name = "revisions", versioned)]
pub struct Revision {
    #[primary_key]
    pub id: i64,
    pub body: String,
}

async fn revisions(storehaus: &StoreHaus) -> GenericStore<Revision> {
    storehaus.auto_migrate::<Revision>(false).await.unwrap();
    GenericStore::<Revision>::new(storehaus.pool().clone(), None, None)
}

/// `(body, __version__)` of every row of `revisions`.
async fn revision_rows(storehaus: &StoreHaus) -> Vec<(String, i64)> {
    raw::rows(storehaus, r#"SELECT "body", "__version__" FROM "revisions" ORDER BY "id""#).await
}

on_both_backends! {
    /// Toasty's `stale_delete_fails`, on a soft-delete table: the stale delete is a conflict and
    /// leaves the row; the fresh one soft-deletes it and bumps the version.
    async fn a_stale_delete_fails_and_leaves_the_row(db) {
        let storehaus = db.storehaus().await;
        let store = documents(&storehaus).await;
        let created = store.create(doc("v1"), None).await.unwrap();
        let stale = store.get_by_id(&created.id).await.unwrap().unwrap();
        let mut fresh = stale.clone();
        fresh.title = "v2".to_owned();
        let fresh = store.save(&fresh).await.unwrap();
        assert_eq!(fresh.version(), Some(2));

        let err = store.delete_record(&stale).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let err = store.delete_versioned(&created.id, 1).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert_eq!(doc_row(&storehaus, created.id).await, ("v2".to_owned(), 2, None), "the row is untouched");
        assert!(store.get_by_id(&created.id).await.unwrap().is_some());

        store.delete_record(&fresh).await.unwrap();
        let (title, version, deleted_at) = doc_row(&storehaus, created.id).await;
        assert_eq!((title.as_str(), version), ("v2", 3), "the soft delete bumped the version");
        assert!(deleted_at.is_some(), "soft-deleted");
        assert!(store.get_by_id(&created.id).await.unwrap().is_none());
        let err = store.delete_versioned(&created.id, 3).await.unwrap_err();
        assert!(matches!(err, StoreError::Deleted { .. }), "already deleted: {err:?}");

        // A record read before the delete stays stale once the row is restored.
        store.restore(&created.id).await.unwrap();
        let err = store.delete_record(&fresh).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert_eq!(doc_row(&storehaus, created.id).await, ("v2".to_owned(), 3, None));

        let err = store.delete_versioned(&Uuid::new_v4(), 1).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    }

    async fn a_stale_delete_on_a_table_without_soft_delete_leaves_the_row(db) {
        let storehaus = db.storehaus().await;
        let store = revisions(&storehaus).await;
        let stale = store.create(Revision { id: 7, body: "first".into() }, None).await.unwrap();
        let fresh = store.update(&7, Revision { id: 7, body: "second".into() }, None).await.unwrap();

        let err = store.delete_record(&stale).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert_eq!(revision_rows(&storehaus).await, [("second".to_owned(), 2)], "the row is untouched");

        // Of several deleters holding the current version, exactly one deletes the row.
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                let fresh = fresh.clone();
                tokio::spawn(async move { store.delete_record(&fresh).await })
            })
            .collect();
        let mut deleted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => deleted += 1,
                Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => {}
                Err(other) => panic!("a losing deleter got {other:?}"),
            }
        }
        assert_eq!(deleted, 1);
        assert!(revision_rows(&storehaus).await.is_empty());
        let err = store.delete_versioned(&7, 2).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    }

    async fn a_delete_by_version_needs_a_versioned_table(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Item>(false).await.unwrap();
        let store = GenericStore::<Item>::new(storehaus.pool().clone(), None, None);
        let item = store.create(Item { id: 1, label: "kept".into() }, None).await.unwrap();
        let err = store.delete_versioned(&1, 1).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
        let labels: Vec<(String,)> = raw::rows(&storehaus, r#"SELECT "label" FROM "plain_items""#).await;
        assert_eq!(labels, [("kept".to_owned(),)]);

        // `delete_record` of an unversioned record deletes by key.
        store.delete_record(&item).await.unwrap();
        let labels: Vec<(String,)> = raw::rows(&storehaus, r#"SELECT "label" FROM "plain_items""#).await;
        assert!(labels.is_empty());
        let err = store.delete_record(&item).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    }
}

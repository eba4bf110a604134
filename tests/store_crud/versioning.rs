//! Optimistic locking: `__version__`, `update_versioned` and `save`.

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

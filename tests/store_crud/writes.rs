//! Creating, reading, updating and tagging rows, and the system fields each write sets.

use super::*;

on_both_backends! {
    async fn create_stores_the_tags_and_returns_server_set_system_fields(db) {
        let (storehaus, store) = people(&db).await;
        let ada = person("Ada");

        let created = store.create(ada.clone(), tags(&["vip", "beta"])).await.unwrap();
        assert_eq!(created.id, ada.id);
        assert_eq!(created.name, "Ada");
        assert_eq!(created.tags(), ["vip", "beta"]);
        assert_eq!(created.created_at(), created.updated_at(), "one insert sets both to the same instant");
        assert_close(created.created_at(), write_clock_now(&storehaus).await);
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

    async fn repeated_tags_are_stored_once_and_empty_tags_are_refused(db) {
        let (storehaus, store) = people(&db).await;
        let created = store.create(person("Ada"), tags(&["b", "a", "b"])).await.unwrap();
        assert_eq!(created.tags(), ["b", "a"]);
        assert_eq!(row(&storehaus, created.id).await.unwrap().tags, ["b", "a"]);

        let err = store.create(person("Bob"), tags(&["ok", ""])).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
        assert_eq!(row_count(&storehaus, "people").await, 1);
    }

    async fn get_by_id_list_all_and_count(db) {
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

    async fn update_without_tags_keeps_them_and_with_tags_replaces_them(db) {
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

    async fn update_writes_the_row_named_by_id_not_the_key_inside_data(db) {
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

    async fn create_only_fields_survive_update_and_update_only_fields_start_null(db) {
        let (storehaus, store) = people(&db).await;
        let ada = person("Ada");
        let created = store.create(ada.clone(), None).await.unwrap();
        assert_eq!(created.note, None, "an update-only field is not written by create");
        assert_eq!(created.referrer.as_deref(), Some("ads"));
        let stored = row(&storehaus, ada.id).await.unwrap();
        assert_eq!((stored.note, stored.referrer.as_deref(), stored.age), (None, Some("ads"), Some(30)));

        let data =
            Person { referrer: Some("changed".to_owned()), note: Some("hello".to_owned()), age: Some(31), ..ada };
        let updated = store.update(&data.id.clone(), data, None).await.unwrap();
        assert_eq!(updated.referrer.as_deref(), Some("ads"), "a create-only field is not written by update");
        assert_eq!(updated.note.as_deref(), Some("hello"));
        let stored = row(&storehaus, updated.id).await.unwrap();
        assert_eq!(
            (stored.referrer.as_deref(), stored.note.as_deref(), stored.age),
            (Some("ads"), Some("hello"), Some(31))
        );
    }

    async fn created_at_never_moves_and_updated_at_moves_on_every_write(db) {
        let (storehaus, store) = people(&db).await;
        let ada = store.create(person("Ada"), None).await.unwrap();
        let created_at = ada.created_at();
        let mut last = row(&storehaus, ada.id).await.unwrap().updated_at;
        assert_eq!(last, created_at);

        for step in ["update", "add_tags", "remove_tags", "set_tags", "delete", "restore", "save"] {
            tick().await;
            let before = write_clock_now(&storehaus).await;
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
            assert!(stored.updated_at >= before, "{step}: __updated_at__ comes from the write clock");
            if let Some(record) = returned {
                assert_eq!(record.updated_at(), stored.updated_at, "{step} returned a stale __updated_at__");
                assert_eq!(record.created_at(), created_at);
            }
            last = stored.updated_at;
        }
    }

    async fn batch_and_bulk_writes_set_system_fields_like_single_ones(db) {
        let (storehaus, store) = people(&db).await;
        let created = store.create_many(vec![person("Ada"), person("Bob")], tags(&["batch"])).await.unwrap();
        let now = write_clock_now(&storehaus).await;
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

    async fn tag_edits_add_without_duplicates_keep_order_remove_and_set(db) {
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
}

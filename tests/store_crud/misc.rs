//! Unique violations, NUL bytes, serialization, and sharing a store.

use super::*;

/// Whether `constraint` names the unique index of `people.email`: PostgreSQL names the
/// constraint; SQLite's message names the table and column instead.
fn names_the_email_index<B: TestBackend>(constraint: &str) -> bool {
    match B::NAME {
        "postgres" => constraint == "people_email_key",
        _ => constraint.contains("people.email"),
    }
}

on_both_backends! {
    async fn a_duplicate_unique_value_names_the_unique_index(db) {
        let (storehaus, store) = people(&db).await;
        let ada = store.create(person("Ada"), None).await.unwrap();

        let twin = Person { email: ada.email.clone(), ..person("Twin") };
        let err = store.create(twin, None).await.unwrap_err();
        match &err {
            StoreError::UniqueViolation { constraint } => {
                assert!(names_the_email_index::<B>(constraint), "{constraint}")
            }
            other => panic!("expected UniqueViolation, got {other:?}"),
        }
        assert_eq!(err.sqlstate(), Some("23505"));
        assert!(!matches!(err, StoreError::Conflict { .. }));
        assert_eq!(row_count(&storehaus, "people").await, 1);

        let bob = store.create(person("Bob"), None).await.unwrap();
        let err = store.update(&bob.id, Person { email: ada.email.clone(), ..person("Bob") }, None).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::UniqueViolation { constraint } if names_the_email_index::<B>(constraint)),
            "{err:?}"
        );
        assert_eq!(row(&storehaus, bob.id).await.unwrap().email, "bob@example.com");
    }

    async fn a_nul_byte_in_text_is_a_validation_error_and_writes_nothing(db) {
        let (storehaus, store) = people(&db).await;
        let err = store.create(Person { name: "a\0b".to_owned(), ..person("Ada") }, None).await.unwrap_err();
        assert!(matches!(&err, StoreError::Validation { field: Some(f), .. } if f == "name"), "{err:?}");
        assert_eq!(row_count(&storehaus, "people").await, 0);

        let bob = store.create(person("Bob"), None).await.unwrap();
        let before = row(&storehaus, bob.id).await.unwrap();
        let nul_note = Person { note: Some("\0".to_owned()), ..person("Bob") };
        let err = store.update(&bob.id, nul_note, None).await.unwrap_err();
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

    async fn a_record_serializes_as_one_flat_object(db) {
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

    async fn clones_share_one_table(db) {
        let (_storehaus, store) = people(&db).await;
        let clone = store.clone();
        let ada = clone.create(person("Ada"), None).await.unwrap();
        assert_eq!(store.get_by_id(&ada.id).await.unwrap().unwrap().name, "Ada");
    }

    async fn register_store_and_get_store_round_trip(db) {
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

    /// Code written for the original StoreHaus hands the sqlx pool it has to the store.
    async fn a_store_takes_the_sqlx_pool_an_application_already_has(db) {
        let (storehaus, _) = people(&db).await;
        let store = match (storehaus.pool().as_postgres(), storehaus.pool().as_sqlite()) {
            (Some(pg), _) => GenericStore::<Person>::new(pg.clone(), None, None),
            (_, Some(lite)) => GenericStore::<Person>::new(lite.clone(), None, None),
            _ => panic!("a pool of neither backend"),
        };
        assert_eq!(store.pool().backend_name(), B::NAME);
        let ada = store.create(person("Ada"), None).await.unwrap();
        assert_eq!(row(&storehaus, ada.id).await.unwrap().name, "Ada");
        let pool: DbPool = match storehaus.pool().as_postgres() {
            Some(pg) => pg.clone().into(),
            None => storehaus.pool().as_sqlite().unwrap().clone().into(),
        };
        let other = GenericStore::<Person>::new(pool, None, None);
        assert_eq!(other.get_by_id(&ada.id).await.unwrap().unwrap().email, ada.email);
    }
}

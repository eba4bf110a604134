//! Every write path, each followed by a read of the rows it wrote, and `find_cached` after each
//! kind of write.

use super::*;

pub(crate) async fn create_after_cached_absence<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("create", backend, &db).await else { return };
    let data = article("new");
    let id = data.id;
    assert_eq!(ctx.prime(&id).await, None, "no row yet");
    ctx.cached.create(data, None).await.unwrap();
    assert_eq!(ctx.fresh(&id, "create").await.expect("the created row").title, "new");
}

pub(crate) async fn update<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("update", backend, &db).await else { return };
    let id = ctx.seed("before", &[]).await;
    ctx.prime(&id).await.expect("seeded");
    ctx.cached.update(&id, titled(id, "after"), None).await.unwrap();
    assert_eq!(ctx.fresh(&id, "update").await.unwrap().title, "after");
}

pub(crate) async fn update_versioned<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("update_versioned", backend, &db).await else { return };
    let id = ctx.seed("v1", &[]).await;
    let version = ctx.prime(&id).await.unwrap().version().expect("versioned table");
    ctx.cached.update_versioned(&id, titled(id, "v2"), None, version).await.unwrap();
    let read = ctx.fresh(&id, "update_versioned").await.unwrap();
    assert_eq!((read.title.as_str(), read.version()), ("v2", Some(version + 1)));
}

pub(crate) async fn save<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("save", backend, &db).await else { return };
    let id = ctx.seed("loaded", &[]).await;
    let mut record = ctx.prime(&id).await.unwrap();
    record.title = "saved".to_owned();
    record.views = 42;
    ctx.cached.save(&record).await.unwrap();
    let read = ctx.fresh(&id, "save").await.unwrap();
    assert_eq!((read.title.as_str(), read.views), ("saved", 42));
}

pub(crate) async fn add_tags<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("add_tags", backend, &db).await else { return };
    let id = ctx.seed("tagged", &["a"]).await;
    ctx.prime(&id).await.unwrap();
    ctx.cached.add_tags(&id, ["b"]).await.unwrap();
    assert_eq!(ctx.fresh(&id, "add_tags").await.unwrap().tags(), ["a", "b"]);
}

pub(crate) async fn remove_tags<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("remove_tags", backend, &db).await else { return };
    let id = ctx.seed("tagged", &["a", "b"]).await;
    ctx.prime(&id).await.unwrap();
    ctx.cached.remove_tags(&id, ["a"]).await.unwrap();
    assert_eq!(ctx.fresh(&id, "remove_tags").await.unwrap().tags(), ["b"]);
}

pub(crate) async fn set_tags<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("set_tags", backend, &db).await else { return };
    let id = ctx.seed("tagged", &["a", "b"]).await;
    ctx.prime(&id).await.unwrap();
    ctx.cached.set_tags(&id, ["x"]).await.unwrap();
    assert_eq!(ctx.fresh(&id, "set_tags").await.unwrap().tags(), ["x"]);
}

pub(crate) async fn delete<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("delete", backend, &db).await else { return };
    let id = ctx.seed("doomed", &[]).await;
    ctx.prime(&id).await.unwrap();
    assert!(ctx.cached.delete(&id).await.unwrap());
    assert_eq!(ctx.fresh(&id, "delete").await, None);
    assert!(ctx.plain.get_by_id_with_deleted(&id).await.unwrap().unwrap().is_deleted(), "soft-deleted");
}

pub(crate) async fn restore<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("restore", backend, &db).await else { return };
    let id = ctx.seed("back", &[]).await;
    assert!(ctx.plain.delete(&id).await.unwrap());
    assert_eq!(ctx.prime(&id).await, None, "deleted");
    ctx.cached.restore(&id).await.unwrap();
    assert!(!ctx.fresh(&id, "restore").await.expect("restored").is_deleted());
}

pub(crate) async fn force_delete<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("force_delete", backend, &db).await else { return };
    let id = ctx.seed("gone", &[]).await;
    ctx.prime(&id).await.unwrap();
    assert!(ctx.cached.force_delete(&id).await.unwrap());
    assert_eq!(ctx.fresh(&id, "force_delete").await, None);
    assert_eq!(ctx.plain.get_by_id_with_deleted(&id).await.unwrap(), None, "removed for good");
}

pub(crate) async fn update_where<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("update_where", backend, &db).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    let set = UpdateSet::new().set("title", json!("bulk")).increment("views", 5);
    assert_eq!(ctx.cached.update_where(matching(&ids), set).await.unwrap().len(), 3);
    for id in &ids {
        let read = ctx.fresh(id, "update_where").await.unwrap();
        assert_eq!((read.title.as_str(), read.views), ("bulk", 5));
    }
}

pub(crate) async fn delete_where<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("delete_where", backend, &db).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    assert_eq!(ctx.cached.delete_where(matching(&ids)).await.unwrap(), 3);
    for id in &ids {
        assert_eq!(ctx.fresh(id, "delete_where").await, None);
    }
}

pub(crate) async fn restore_where<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("restore_where", backend, &db).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    assert_eq!(ctx.plain.delete_many(ids.clone()).await.unwrap(), 3);
    for id in &ids {
        assert_eq!(ctx.prime(id).await, None, "deleted");
    }
    assert_eq!(ctx.cached.restore_where(matching(&ids).only_deleted()).await.unwrap().len(), 3);
    for id in &ids {
        assert!(ctx.fresh(id, "restore_where").await.is_some(), "restored");
    }
}

pub(crate) async fn force_delete_where<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("force_delete_where", backend, &db).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    assert_eq!(ctx.cached.force_delete_where(matching(&ids).with_deleted()).await.unwrap(), 3);
    for id in &ids {
        assert_eq!(ctx.fresh(id, "force_delete_where").await, None);
    }
}

pub(crate) async fn create_many<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("create_many", backend, &db).await else { return };
    let data: Vec<Article> = ["a", "b", "c"].into_iter().map(article).collect();
    let ids: Vec<Uuid> = data.iter().map(|a| a.id).collect();
    for id in &ids {
        assert_eq!(ctx.prime(id).await, None);
    }
    assert_eq!(ctx.cached.create_many(data, None).await.unwrap().len(), 3);
    for id in &ids {
        assert!(ctx.fresh(id, "create_many").await.is_some());
    }

    // More rows than one statement holds: the call commits a transaction of its own first.
    let data: Vec<Article> = (0..5_001).map(|i| article(&format!("row {i}"))).collect();
    let (first, last) = (data[0].id, data[5_000].id);
    assert_eq!(ctx.prime(&first).await, None);
    assert_eq!(ctx.prime(&last).await, None);
    assert_eq!(ctx.cached.create_many(data, None).await.unwrap().len(), 5_001);
    assert!(ctx.fresh(&first, "create_many in chunks").await.is_some());
    assert!(ctx.fresh(&last, "create_many in chunks").await.is_some());
}

pub(crate) async fn upsert_inserting<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("upsert_inserting", backend, &db).await else { return };
    let data = article("inserted");
    let id = data.id;
    assert_eq!(ctx.prime(&id).await, None);
    ctx.cached.upsert(data, None).await.unwrap();
    assert_eq!(ctx.fresh(&id, "upsert (insert)").await.unwrap().title, "inserted");
}

pub(crate) async fn upsert_updating<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("upsert_updating", backend, &db).await else { return };
    let id = ctx.seed("before", &[]).await;
    ctx.prime(&id).await.unwrap();
    ctx.cached.upsert(titled(id, "upserted"), None).await.unwrap();
    assert_eq!(ctx.fresh(&id, "upsert (update)").await.unwrap().title, "upserted");
}

pub(crate) async fn upsert_many<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("upsert_many", backend, &db).await else { return };
    let existing = ctx.seed("before", &[]).await;
    let new = Uuid::new_v4();
    ctx.prime(&existing).await.unwrap();
    assert_eq!(ctx.prime(&new).await, None);
    let written = ctx.cached.upsert_many(vec![titled(existing, "updated"), titled(new, "inserted")], None).await;
    assert_eq!(written.unwrap().len(), 2);
    assert_eq!(ctx.fresh(&existing, "upsert_many (update)").await.unwrap().title, "updated");
    assert_eq!(ctx.fresh(&new, "upsert_many (insert)").await.unwrap().title, "inserted");
}

pub(crate) async fn update_many<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("update_many", backend, &db).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    let items = ids.iter().map(|id| (*id, titled(*id, &format!("many {id}")))).collect();
    assert_eq!(ctx.cached.update_many(items).await.unwrap().len(), 3);
    for id in &ids {
        assert_eq!(ctx.fresh(id, "update_many").await.unwrap().title, format!("many {id}"));
    }
}

pub(crate) async fn delete_many<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("delete_many", backend, &db).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    for id in &ids {
        ctx.prime(id).await.unwrap();
    }
    assert_eq!(ctx.cached.delete_many(ids.clone()).await.unwrap(), 3);
    for id in &ids {
        assert_eq!(ctx.fresh(id, "delete_many").await, None);
    }
}

pub(crate) async fn find_cached_sees_every_write<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("find_cached_sees_every_write", backend, &db).await else { return };
    let ids = ctx.seed_many(&["a", "b", "c"]).await;
    let query = || matching(&ids).order_by("title", SortOrder::Asc);
    let titles = |records: Vec<Record<Article>>| records.iter().map(|r| r.title.clone()).collect::<Vec<_>>();
    let check = async |what: &str| {
        let cached = ctx.cached.find_cached(query()).await.unwrap();
        let truth = ctx.plain.find(query()).await.unwrap();
        assert_eq!(cached, truth, "after {what}: stale query result");
        let before = Counts::of(&ctx.manager);
        assert_eq!(ctx.cached.find_cached(query()).await.unwrap(), truth, "after {what}: stale refill");
        assert_eq!(Counts::of(&ctx.manager).since(before).hits, 1, "after {what}: the result was not cached");
        titles(truth)
    };

    assert_eq!(check("seeding").await, ["a", "b", "c"]);
    ctx.cached.update(&ids[0], titled(ids[0], "z"), None).await.unwrap();
    assert_eq!(check("update").await, ["b", "c", "z"]);
    ctx.cached.delete(&ids[1]).await.unwrap();
    assert_eq!(check("delete").await, ["c", "z"]);
    ctx.cached.update_where(matching(&ids[2..]), UpdateSet::new().set("title", json!("y"))).await.unwrap();
    assert_eq!(check("update_where").await, ["y", "z"]);
    ctx.cached.force_delete_where(matching(&ids[..1]).with_deleted()).await.unwrap();
    assert_eq!(check("force_delete_where").await, ["y"]);
}

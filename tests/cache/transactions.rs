//! Transactions invalidate on commit, never on rollback; a write through one pool is seen at
//! once through another.

use super::*;

pub(crate) async fn transaction_invalidates_on_commit<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("transaction_invalidates_on_commit", backend, &db).await else { return };
    let id = ctx.seed("before", &[]).await;
    ctx.prime(&id).await.unwrap();

    let tx = ctx.storehaus.begin().await.unwrap();
    let in_tx = ctx.cached.with_transaction(&tx);
    in_tx.update(&id, titled(id, "committed"), None).await.unwrap();
    in_tx.add_tags(&id, ["tx"]).await.unwrap();
    assert_eq!(in_tx.get_by_id(&id).await.unwrap().unwrap().title, "committed", "the transaction reads its writes");
    // Until the commit, others keep reading the committed row, from the cache.
    let before = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&id).await.unwrap().unwrap().title, "before");
    let delta = Counts::of(&ctx.manager).since(before);
    assert_eq!((delta.hits, delta.invalidations), (1, 0), "nothing is invalidated before the commit: {delta:?}");

    tx.commit().await.unwrap();
    let read = ctx.fresh(&id, "commit").await.unwrap();
    assert_eq!((read.title.as_str(), read.tags()), ("committed", &["tx".to_owned()][..]));

    // The closure form commits the same way.
    ctx.prime(&id).await.unwrap();
    let store = ctx.cached.clone();
    ctx.storehaus
        .transaction(|tx| async move { store.with_transaction(&tx).update(&id, titled(id, "closure"), None).await })
        .await
        .unwrap();
    assert_eq!(ctx.fresh(&id, "a committed transaction closure").await.unwrap().title, "closure");

    // A batch inside a transaction waits for the commit as well.
    ctx.prime(&id).await.unwrap();
    let tx = ctx.storehaus.begin().await.unwrap();
    assert_eq!(ctx.cached.with_transaction(&tx).delete_many(vec![id]).await.unwrap(), 1);
    assert!(ctx.cached.get_by_id(&id).await.unwrap().is_some(), "not committed yet");
    tx.commit().await.unwrap();
    assert_eq!(ctx.fresh(&id, "delete_many in a transaction").await, None);
}

pub(crate) async fn rollback_keeps_the_cached_row<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("rollback_keeps_the_cached_row", backend, &db).await else { return };
    let id = ctx.seed("kept", &[]).await;
    let primed = ctx.prime(&id).await.unwrap();

    let tx = ctx.storehaus.begin().await.unwrap();
    let in_tx = ctx.cached.with_transaction(&tx);
    in_tx.update(&id, titled(id, "rolled back"), None).await.unwrap();
    in_tx.set_tags(&id, ["rolled back"]).await.unwrap();
    tx.rollback().await.unwrap();

    let before = Counts::of(&ctx.manager);
    let read = ctx.cached.get_by_id(&id).await.unwrap();
    let delta = Counts::of(&ctx.manager).since(before);
    assert_eq!(read.as_ref(), Some(&primed), "the old row, still");
    assert_eq!(delta, Counts { hits: 1, ..Counts::default() }, "still a hit, nothing invalidated");

    // A closure that fails rolls back too.
    let store = ctx.cached.clone();
    let failed = ctx
        .storehaus
        .transaction(|tx| async move {
            store.with_transaction(&tx).update(&id, titled(id, "rolled back"), None).await?;
            Err::<(), _>(StoreError::validation("title", "rejected"))
        })
        .await;
    assert!(failed.is_err());
    let before = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&id).await.unwrap().as_ref(), Some(&primed));
    assert_eq!(Counts::of(&ctx.manager).since(before), Counts { hits: 1, ..Counts::default() });
    assert_eq!(ctx.plain.get_by_id(&id).await.unwrap().as_ref(), Some(&primed), "the database agrees");
}

/// A savepoint's writes invalidate when the outermost transaction commits, and never when the
/// savepoint rolls back: the row it wrote alone stays cached.
pub(crate) async fn savepoint_invalidates_with_the_outer_commit<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("savepoint_invalidates_with_the_outer_commit", backend, &db).await else { return };
    let ids = ctx.seed_many(&["kept", "undone"]).await;
    let (kept, undone) = (ids[0], ids[1]);
    ctx.prime(&kept).await.unwrap();
    let primed_undone = ctx.prime(&undone).await.unwrap();

    let tx = ctx.storehaus.begin().await.unwrap();
    let released = tx.begin_nested().await.unwrap();
    ctx.cached.with_transaction(&released).update(&kept, titled(kept, "released"), None).await.unwrap();
    released.commit().await.unwrap();
    let rolled_back = tx.begin_nested().await.unwrap();
    ctx.cached.with_transaction(&rolled_back).update(&undone, titled(undone, "rolled back"), None).await.unwrap();
    rolled_back.rollback().await.unwrap();

    let before = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&kept).await.unwrap().unwrap().title, "kept", "not committed yet");
    let delta = Counts::of(&ctx.manager).since(before);
    assert_eq!((delta.hits, delta.invalidations), (1, 0), "a released savepoint waits for the commit: {delta:?}");

    tx.commit().await.unwrap();
    assert_eq!(ctx.fresh(&kept, "a released savepoint").await.unwrap().title, "released");
    let before = Counts::of(&ctx.manager);
    assert_eq!(ctx.cached.get_by_id(&undone).await.unwrap().as_ref(), Some(&primed_undone));
    assert_eq!(Counts::of(&ctx.manager).since(before).hits, 1, "a rolled-back savepoint invalidated its row");
}

/// A cached query result stays while a transaction writes through the `*_where` paths and after
/// it rolls back; it is replaced once such a transaction commits.
pub(crate) async fn find_cached_waits_for_the_commit<B: TestBackend>(backend: Backend, db: B) {
    let Some(ctx) = setup("find_cached_waits_for_the_commit", backend, &db).await else { return };
    let ids = ctx.seed_many(&["a", "b"]).await;
    let query = || matching(&ids).order_by("title", SortOrder::Asc);
    // The titles `find_cached` answers, and the counters of that one call.
    let cached_titles = async || {
        let before = Counts::of(&ctx.manager);
        let found = ctx.cached.find_cached(query()).await.unwrap();
        (found.iter().map(|r| r.title.clone()).collect::<Vec<_>>(), Counts::of(&ctx.manager).since(before))
    };
    assert_eq!(cached_titles().await.0, ["a", "b"]);
    let (titles, delta) = cached_titles().await;
    assert_eq!((titles, delta.hits), (owned(&["a", "b"]), 1), "the result is cached: {delta:?}");

    for commit in [false, true] {
        let tx = ctx.storehaus.begin().await.unwrap();
        let in_tx = ctx.cached.with_transaction(&tx);
        in_tx.update_where(matching(&ids[..1]), UpdateSet::new().set("title", json!("z"))).await.unwrap();
        assert_eq!(in_tx.delete_where(matching(&ids[1..])).await.unwrap(), 1);
        let (titles, delta) = cached_titles().await;
        assert_eq!(titles, ["a", "b"], "others read the committed result before the commit");
        assert_eq!((delta.hits, delta.invalidations), (1, 0), "nothing is invalidated before the commit: {delta:?}");
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
            let (titles, delta) = cached_titles().await;
            assert_eq!(titles, ["a", "b"], "the old result, still");
            assert_eq!(delta, Counts { hits: 1, ..Counts::default() }, "still a hit, nothing invalidated");
        }
    }
    let truth = ctx.plain.find(query()).await.unwrap();
    assert_eq!(ctx.cached.find_cached(query()).await.unwrap(), truth, "after the commit: stale query result");
    let (titles, delta) = cached_titles().await;
    assert_eq!((titles, delta.hits), (owned(&["z"]), 1), "the new result is cached: {delta:?}");
}

// ---------------------------------------------------------------------------------------------
// Two processes: two pools (and, on Redis, two managers) sharing one key prefix

pub(crate) async fn write_seen_by_another_pool_at_once<B: TestBackend>(backend: Backend, db: B) {
    let test = format!("write_seen_by_another_pool_at_once/{backend:?}/{}", B::NAME);
    let Some(manager_a) = backend.manager(&test).await else { return };
    // The in-memory cache cannot be shared between managers, so both pools share one there.
    let manager_b = match backend {
        Backend::Redis => match backend.manager(&test).await {
            Some(manager) => manager,
            None => return,
        },
        Backend::Memory => manager_a.clone(),
    };
    let (haus_a, haus_b) = (db.storehaus().await, db.storehaus().await);
    haus_a.auto_migrate::<Article>(false).await.unwrap();
    let prefix = unique_prefix(&test);
    let _forget = Forget::new(&manager_a, &prefix);
    let a = GenericStore::<Article>::new(
        haus_a.pool().clone(),
        None,
        Some(CacheParams::new(manager_a, TTL_SECONDS, prefix.clone())),
    );
    let b = GenericStore::<Article>::new(
        haus_b.pool().clone(),
        None,
        Some(CacheParams::new(manager_b.clone(), TTL_SECONDS, prefix)),
    );
    let plain = GenericStore::<Article>::new(haus_b.pool().clone(), None, None);

    let data = article("created by a");
    let id = data.id;
    assert_eq!(prime(&b, &manager_b, &id).await, None);
    a.create(data, None).await.unwrap();
    assert_eq!(fresh(&b, &plain, &id, "a create through the other pool").await.unwrap().title, "created by a");

    prime(&b, &manager_b, &id).await.unwrap();
    a.update(&id, titled(id, "updated by a"), None).await.unwrap();
    assert_eq!(fresh(&b, &plain, &id, "an update through the other pool").await.unwrap().title, "updated by a");

    prime(&b, &manager_b, &id).await.unwrap();
    a.add_tags(&id, ["a"]).await.unwrap();
    assert_eq!(fresh(&b, &plain, &id, "add_tags through the other pool").await.unwrap().tags(), ["a"]);

    prime(&b, &manager_b, &id).await.unwrap();
    assert!(a.delete(&id).await.unwrap());
    assert_eq!(fresh(&b, &plain, &id, "a delete through the other pool").await, None);
}

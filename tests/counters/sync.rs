//! `sync`: buffered increments reach the table exactly, and only through a sync; dry runs,
//! patterns, batches, concurrent syncs and the background task.

use super::*;
use futures_util::future::join_all;

on_both_envs! {
    async fn a_sync_stores_the_exact_count_and_nothing_is_written_before(env) {
        let counters = &env.counters;
        for n in 0..3 {
            for _ in 0..=n {
                counters.increment(&user(n), "downloads", 1).await.unwrap();
            }
        }
        counters.increment(&user(0), "views", 9).await.unwrap();
        assert_eq!(rows(&env.storehaus).await, 0, "increments wrote a row before any sync");

        let report = sync(counters).await;
        assert_eq!((report.keys, report.delta_total, report.rows_written, report.dry_run), (4, 15, 4, false));
        let expected = |kind: &str, id: &str, key: &str, count| (kind.to_owned(), id.to_owned(), key.to_owned(), count);
        assert_eq!(
            all_rows(&env.storehaus).await,
            vec![
                expected("user", "0", "downloads", 1),
                expected("user", "0", "views", 9),
                expected("user", "1", "downloads", 2),
                expected("user", "2", "downloads", 3),
            ]
        );
        let again = sync(counters).await;
        assert_eq!((again.keys, again.delta_total, again.rows_written), (0, 0, 0), "nothing left: {again:?}");
        assert_eq!(counters.stats().syncs, 2);
        for n in 0..3 {
            assert!(env.buffer(&user(n), "downloads").await.is_settled());
        }
    }

    async fn a_dry_run_reports_and_changes_nothing(env) {
        let counters = &env.counters;
        counters.increment(&user(1), "downloads", 3).await.unwrap();
        counters.increment(&user(2), "downloads", 4).await.unwrap();
        sync(counters).await;
        counters.increment(&user(1), "downloads", 10).await.unwrap();
        counters.increment(&user(3), "views", 5).await.unwrap();
        let rows_before = all_rows(&env.storehaus).await;
        let buffers_before = (env.buffer(&user(1), "downloads").await, env.buffer(&user(3), "views").await);

        let report = counters.sync(SyncOptions::default().dry_run()).await.unwrap();
        assert!(report.dry_run);
        assert_eq!((report.keys, report.delta_total, report.rows_written), (2, 15, 0), "{report:?}");
        assert_eq!(all_rows(&env.storehaus).await, rows_before, "a dry run wrote to the table");
        let buffers_after = (env.buffer(&user(1), "downloads").await, env.buffer(&user(3), "views").await);
        assert_eq!(buffers_after, buffers_before, "a dry run changed the cache");
        assert_eq!(counters.get(&user(1), "downloads").await.unwrap(), 13);

        let real = sync(counters).await;
        assert_eq!((real.keys, real.delta_total), (2, 15));
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, Some(13));
        assert_eq!(stored(&env.storehaus, &user(3), "views").await, Some(5));
    }

    async fn a_pattern_limits_the_counters_synced(env) {
        let counters = &env.counters;
        let team = Owner::new("team", 1);
        counters.increment(&user(1), "downloads", 1).await.unwrap();
        counters.increment(&user(2), "downloads", 2).await.unwrap();
        counters.increment(&user(2), "views", 3).await.unwrap();
        counters.increment(&team, "downloads", 4).await.unwrap();
        counters.increment(&team, "views", 5).await.unwrap();

        let one = counters.sync(SyncOptions::default().pattern("user:2:*")).await.unwrap();
        assert_eq!((one.keys, one.delta_total), (2, 5), "{one:?}");
        assert_eq!(stored(&env.storehaus, &user(2), "views").await, Some(3));
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, None, "outside the pattern");

        let downloads = counters.sync(SyncOptions::default().pattern("*:downloads")).await.unwrap();
        assert_eq!((downloads.keys, downloads.delta_total), (2, 5), "user 1 and the team: {downloads:?}");
        assert_eq!(stored(&env.storehaus, &team, "views").await, None, "outside the pattern");
        assert_eq!(counters.get(&team, "views").await.unwrap(), 5, "still buffered");
        let none = counters.sync(SyncOptions::default().pattern("user:?:views")).await.unwrap();
        assert_eq!(none.keys, 0, "user 2's views were synced already: {none:?}");
        let class = counters.sync(SyncOptions::default().pattern("[st]eam:*")).await.unwrap();
        assert_eq!((class.keys, class.delta_total), (1, 5));
        assert_eq!(rows(&env.storehaus).await, 5);
    }

    async fn one_sync_finishes_a_dead_sync_and_stores_what_came_since(env) {
        let counters = &env.counters;
        counters.increment(&user(1), "downloads", 10).await.unwrap();
        // A sync that died right after its take leaves this behind: the 10 pending, unapplied.
        let buffer = counters.cache_key(&user(1), "downloads").unwrap();
        let taken = env.probe.buffer_take(std::slice::from_ref(&buffer), None).await.unwrap().remove(0);
        assert_eq!(taken.pending.map(|p| p.value), Some(10), "{taken:?}");
        assert_eq!(counters.increment(&user(1), "downloads", 5).await.unwrap(), 15);
        assert_eq!(rows(&env.storehaus).await, 0);

        let report = sync(counters).await;
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, Some(15), "one sync after the dead one: {report:?}");
        assert!(env.buffer(&user(1), "downloads").await.is_settled(), "{:?}", env.buffer(&user(1), "downloads").await);
        assert_eq!(counters.get(&user(1), "downloads").await.unwrap(), 15);
    }

    async fn a_hand_over_committed_before_its_sync_died_is_not_applied_again(env) {
        let counters = &env.counters;
        counters.increment(&user(1), "downloads", 5).await.unwrap();
        sync(counters).await;
        counters.increment(&user(1), "downloads", 10).await.unwrap();
        // A sync that died after its transaction committed, before it told the cache: the row
        // has the 10 and the hand-over's number, the cache still holds the 10 as pending.
        let buffer = counters.cache_key(&user(1), "downloads").unwrap();
        let taken = env.probe.buffer_take(std::slice::from_ref(&buffer), None).await.unwrap().remove(0);
        let seq = taken.pending.expect("the take left a pending amount").seq;
        let sql = format!(
            "UPDATE \"{TABLE}\" SET \"count\" = \"count\" + 10, \"sync_seq\" = {seq} \
             WHERE \"owner_kind\" = 'user' AND \"owner_id\" = '1' AND \"key\" = 'downloads'"
        );
        raw::execute(&env.storehaus, &sql).await;
        assert_eq!(counters.get(&user(1), "downloads").await.unwrap(), 15, "the pending 10 is counted once");

        let report = sync(counters).await;
        assert_eq!(report.rows_written, 0, "the repeated hand-over changed a row: {report:?}");
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, Some(15));
        assert!(env.buffer(&user(1), "downloads").await.is_settled());
        assert_eq!(counters.get(&user(1), "downloads").await.unwrap(), 15);
    }

    async fn small_batches_sync_every_counter(env) {
        let counters = &env.counters;
        for id in 0..60 {
            counters.increment(&user(id % 12), &format!("k{id}"), id + 1).await.unwrap();
        }
        let report = counters.sync(SyncOptions::default().batch_size(7)).await.unwrap();
        assert_eq!((report.keys, report.delta_total, report.rows_written), (60, (1..=60).sum(), 60));
        assert_eq!(rows(&env.storehaus).await, 60);
        for id in 0..60 {
            assert_eq!(stored(&env.storehaus, &user(id % 12), &format!("k{id}")).await, Some(id + 1));
        }
    }

    async fn two_concurrent_syncs_never_apply_a_delta_twice(env) {
        let first = env.counters.clone();
        let second = env.builder().build().await.unwrap();
        let keys: Vec<(Owner, String)> = (0..12).map(|n| (user(n % 4), format!("k{}", n % 3))).collect();
        let mut expected: BTreeMap<(Owner, String), i64> = BTreeMap::new();
        for round in 0..25_i64 {
            // Increments arrive while both syncs run.
            let writers: Vec<_> = keys
                .iter()
                .enumerate()
                .map(|(n, (owner, key))| {
                    let (counters, owner, key) = (first.clone(), owner.clone(), key.clone());
                    let by = (round + n as i64) % 3 + 1;
                    *expected.entry((owner.clone(), key.clone())).or_default() += 2 * by;
                    tokio::spawn(async move {
                        counters.increment(&owner, &key, by).await.unwrap();
                        tokio::task::yield_now().await;
                        counters.increment(&owner, &key, by).await.unwrap();
                    })
                })
                .collect();
            let (a, b) = tokio::join!(first.sync(SyncOptions::default()), second.sync(SyncOptions::default()));
            a.unwrap();
            b.unwrap();
            for writer in join_all(writers).await {
                writer.unwrap();
            }
        }
        let (a, b) = tokio::join!(first.sync(SyncOptions::default()), second.sync(SyncOptions::default()));
        a.unwrap();
        b.unwrap();
        sync(&first).await;
        for ((owner, key), total) in &expected {
            assert_eq!(stored(&env.storehaus, owner, key).await, Some(*total), "{owner} {key}");
            assert_eq!(second.get(owner, key).await.unwrap(), *total, "{owner} {key}");
        }
    }

    async fn a_background_sync_stores_increments_until_stopped(env) {
        let counters = &env.counters;
        let syncing = counters.start_sync(Duration::from_millis(50));
        assert!(syncing.is_running());
        counters.increment(&user(1), "downloads", 2).await.unwrap();
        let mut count = None;
        for _ in 0..200 {
            count = stored(&env.storehaus, &user(1), "downloads").await;
            if count.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(count, Some(2), "the background sync stored the increment");
        syncing.stop().await;
        let syncs = counters.stats().syncs;
        counters.increment(&user(1), "downloads", 3).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(counters.stats().syncs, syncs, "a stopped task syncs no more");
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, Some(2));
        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, Some(5));
    }
}

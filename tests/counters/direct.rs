//! Direct mode: every increment is one database write, `get` reads the table, `sync` does nothing.

use super::*;
use futures_util::future::try_join_all;

on_both_envs! {
    async fn direct_increments_write_the_table_at_once(env) {
        let pool = env.storehaus.pool().clone();
        let direct = Counters::builder(pool.clone()).direct().build().await.unwrap();
        // A builder given no cache counts directly too.
        let uncached = Counters::builder(pool).build().await.unwrap();
        assert!(direct.is_direct() && uncached.is_direct());
        assert!(!env.counters.is_direct());

        assert_eq!(direct.increment(&user(1), "downloads", 2).await.unwrap(), 2);
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, Some(2), "written when the call returned");
        assert_eq!(uncached.increment(&user(1), "downloads", 3).await.unwrap(), 5);
        assert_eq!(direct.decrement(&user(1), "downloads", 1).await.unwrap(), 4);
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, Some(4));
        raw::execute(&env.storehaus, &format!("UPDATE \"{TABLE}\" SET \"count\" = 40")).await;
        assert_eq!(direct.get(&user(1), "downloads").await.unwrap(), 40, "get reads the table");
        assert_eq!(direct.get_many(&user(1), &["downloads", "x"]).await.unwrap(), totals(&[("downloads", 40), ("x", 0)]));

        direct.set(&user(2), "views", 9).await.unwrap();
        assert_eq!(stored(&env.storehaus, &user(2), "views").await, Some(9));
        direct.reset(&user(1), "downloads").await.unwrap();
        assert_eq!(stored(&env.storehaus, &user(1), "downloads").await, Some(0));
        assert_eq!(direct.all(&user(2)).await.unwrap(), totals(&[("views", 9)]));

        let rows_before = all_rows(&env.storehaus).await;
        let report = sync(&direct).await;
        assert_eq!((report.keys, report.delta_total, report.rows_written), (0, 0, 0), "{report:?}");
        assert_eq!(all_rows(&env.storehaus).await, rows_before, "a direct sync changed the table");
        assert!(env.cache_keys().await.is_empty(), "direct counters used the cache");
        assert_eq!(direct.stats().buffered, 0);
        assert_eq!(uncached.stats().direct, 1, "{:?}", uncached.stats());
    }

    async fn concurrent_direct_increments_lose_nothing(env) {
        let direct = Counters::builder(env.storehaus.pool().clone()).direct().build().await.unwrap();
        let tasks = (0..8).map(|_| {
            let direct = direct.clone();
            tokio::spawn(async move {
                let mut seen = Vec::with_capacity(50);
                for _ in 0..50 {
                    seen.push(direct.increment(&user(7), "hot", 1).await?);
                }
                Ok::<_, StoreError>(seen)
            })
        });
        let mut seen: Vec<i64> = Vec::new();
        for task in try_join_all(tasks).await.unwrap() {
            seen.extend(task.unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=400).collect::<Vec<i64>>(), "every increment returned a total no other one did");
        assert_eq!(stored(&env.storehaus, &user(7), "hot").await, Some(400));
    }
}

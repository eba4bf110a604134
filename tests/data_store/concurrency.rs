//! Atomic writes under contention: no increment and no list item is lost.

use super::*;
use futures_util::future::try_join_all;

on_both_backends! {
    async fn fifty_tasks_incrementing_one_key_lose_nothing(db) {
        let (storehaus, data) = data(&db).await;
        let cart = data.for_owner(user(1)).in_namespace("cart");
        let tasks = (0..50).map(|_| {
            let cart = cart.clone();
            tokio::spawn(async move {
                let mut seen = Vec::with_capacity(100);
                for _ in 0..100 {
                    seen.push(cart.increment("total", 1).await?);
                }
                Ok::<_, StoreError>(seen)
            })
        });
        let mut seen: Vec<i64> = Vec::new();
        for task in try_join_all(tasks).await.unwrap() {
            seen.extend(task.unwrap());
        }
        assert_eq!(cart.get::<i64>("total").await.unwrap(), Some(5_000));
        // Every increment returned a value no other one did: 1..=5000, each once.
        seen.sort_unstable();
        assert_eq!(seen, (1..=5_000).collect::<Vec<i64>>());
        assert_eq!(rows(&storehaus).await, 1);
    }

    async fn twenty_tasks_pushing_distinct_items_lose_none(db) {
        let (storehaus, data) = data(&db).await;
        let tasks = (0..20).map(|i| {
            let data = data.clone();
            tokio::spawn(async move { data.list_push("queue", format!("job-{i}")).await })
        });
        let mut lengths: Vec<u64> = try_join_all(tasks).await.unwrap().into_iter().map(Result::unwrap).collect();
        lengths.sort_unstable();
        assert_eq!(lengths, (1..=20).collect::<Vec<u64>>());
        let mut items = data.list::<String>("queue").await.unwrap();
        items.sort();
        let mut expected: Vec<String> = (0..20).map(|i| format!("job-{i}")).collect();
        expected.sort();
        assert_eq!(items, expected);
        assert_eq!(rows(&storehaus).await, 1);
    }

    async fn concurrent_first_sets_of_one_key_leave_one_row(db) {
        let (storehaus, data) = data(&db).await;
        let tasks = (0..20).map(|i| {
            let data = data.for_owner(user(9)).in_namespace("prefs");
            tokio::spawn(async move { data.set("theme", i, None).await })
        });
        for result in try_join_all(tasks).await.unwrap() {
            result.unwrap();
        }
        assert_eq!(rows(&storehaus).await, 1);
        let theme = data.for_owner(user(9)).in_namespace("prefs").get::<i64>("theme").await.unwrap();
        assert!(matches!(theme, Some(0..20)), "{theme:?}");
    }
}

//! `HasCounters`: the counters of a record, owned by `Owner::of(&record)`.

use super::*;
use storehaus::counters::HasCounters;

#[model]
#[table(name = "counted_files")]
pub struct CountedFile {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

on_both_envs! {
    async fn a_record_counts_under_its_own_owner(env) {
        let counters = &env.counters;
        env.storehaus.auto_migrate::<CountedFile>(false).await.unwrap();
        let files = GenericStore::<CountedFile>::new(env.storehaus.pool().clone(), None, None);
        let report = files.create(CountedFile { id: 7, name: "report.pdf".into() }, None).await.unwrap();
        let other = files.create(CountedFile { id: 8, name: "other.pdf".into() }, None).await.unwrap();
        let owner = Owner::of(&report);
        assert_eq!(owner, Owner::new("counted_files", 7));

        assert_eq!(report.increment_counter(counters, "downloads", 2).await.unwrap(), 2);
        assert_eq!(report.increment_counter(counters, "views", 5).await.unwrap(), 5);
        assert_eq!(report.decrement_counter(counters, "views", 1).await.unwrap(), 4);
        other.increment_counter(counters, "views", 50).await.unwrap();
        assert_eq!(report.counter(counters, "views").await.unwrap(), 4);
        assert_eq!(counters.get(&owner, "views").await.unwrap(), 4, "the same counter as through its owner");
        let asked = report.counters(counters, &["downloads", "likes"]).await.unwrap();
        assert_eq!(asked, totals(&[("downloads", 2), ("likes", 0)]));
        assert_eq!(report.all_counters(counters).await.unwrap(), totals(&[("downloads", 2), ("views", 4)]));

        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &owner, "views").await, Some(4));
        assert_eq!(stored(&env.storehaus, &Owner::of(&other), "views").await, Some(50));
        report.set_counter(counters, "views", 100).await.unwrap();
        report.reset_counter(counters, "downloads").await.unwrap();
        assert_eq!(report.all_counters(counters).await.unwrap(), totals(&[("downloads", 0), ("views", 100)]));
        sync(counters).await;
        assert_eq!(stored(&env.storehaus, &owner, "views").await, Some(100));
        assert_eq!(stored(&env.storehaus, &owner, "downloads").await, Some(0));
        assert_eq!(other.counter(counters, "views").await.unwrap(), 50);
    }
}

//! Counters on records: `video.increment_counter(&counters, "views", 1)`.

use super::Counters;
use crate::error::Result;
use crate::model::{Model, Record};
use crate::owner::Owner;
use std::collections::BTreeMap;
use std::future::Future;

/// The counters of a record, owned by [`Owner::of`] the record (kind: its table, id: its key).
/// Implemented for every [`Record`].
///
/// ```no_run
/// # use storehaus::prelude::*;
/// # use storehaus::counters::{Counters, HasCounters};
/// # #[model] #[table(name = "videos")] pub struct Video { #[primary_key] pub id: i64 }
/// # async fn demo(video: Record<Video>, counters: Counters) -> Result<(), StoreError> {
/// video.increment_counter(&counters, "views", 1).await?;
/// let views = video.counter(&counters, "views").await?;
/// # let _ = views; Ok(()) }
/// ```
pub trait HasCounters {
    /// The record as an owner.
    fn counter_owner(&self) -> Owner;

    /// [`Counters::get`] for this record.
    fn counter(&self, counters: &Counters, key: &str) -> impl Future<Output = Result<i64>> + Send {
        let owner = self.counter_owner();
        let (counters, key) = (counters.clone(), key.to_owned());
        async move { counters.get(&owner, &key).await }
    }

    /// [`Counters::get_many`] for this record.
    fn counters(
        &self,
        counters: &Counters,
        keys: &[&str],
    ) -> impl Future<Output = Result<BTreeMap<String, i64>>> + Send {
        let owner = self.counter_owner();
        let counters = counters.clone();
        let keys: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
        async move {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            counters.get_many(&owner, &keys).await
        }
    }

    /// [`Counters::all`] for this record.
    fn all_counters(&self, counters: &Counters) -> impl Future<Output = Result<BTreeMap<String, i64>>> + Send {
        let owner = self.counter_owner();
        let counters = counters.clone();
        async move { counters.all(&owner).await }
    }

    /// [`Counters::increment`] for this record.
    fn increment_counter(&self, counters: &Counters, key: &str, by: i64) -> impl Future<Output = Result<i64>> + Send {
        let owner = self.counter_owner();
        let (counters, key) = (counters.clone(), key.to_owned());
        async move { counters.increment(&owner, &key, by).await }
    }

    /// [`Counters::decrement`] for this record.
    fn decrement_counter(&self, counters: &Counters, key: &str, by: i64) -> impl Future<Output = Result<i64>> + Send {
        let owner = self.counter_owner();
        let (counters, key) = (counters.clone(), key.to_owned());
        async move { counters.decrement(&owner, &key, by).await }
    }

    /// [`Counters::reset`] for this record.
    fn reset_counter(&self, counters: &Counters, key: &str) -> impl Future<Output = Result<()>> + Send {
        let owner = self.counter_owner();
        let (counters, key) = (counters.clone(), key.to_owned());
        async move { counters.reset(&owner, &key).await }
    }

    /// [`Counters::set`] for this record.
    fn set_counter(&self, counters: &Counters, key: &str, value: i64) -> impl Future<Output = Result<()>> + Send {
        let owner = self.counter_owner();
        let (counters, key) = (counters.clone(), key.to_owned());
        async move { counters.set(&owner, &key, value).await }
    }
}

impl<T: Model> HasCounters for Record<T> {
    fn counter_owner(&self) -> Owner {
        Owner::of(self)
    }
}

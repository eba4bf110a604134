//! Making a call through a scoped store, and what it answered.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use storehaus::prelude::*;

use super::ops::{Cond, Op, Target, Vis, keys, tags};
use super::scope::PRINCIPALS;
use super::subjects::{Key, Subject};
use super::table::{Data, Table, returned};

/// What a call answered.
#[derive(Debug)]
pub(super) enum Got {
    Rows(Vec<(Key, Data)>),
    Maybe(Option<(Key, Data)>),
    Count(u64),
    Flag(bool),
    Done,
    Principals(Vec<String>),
    Page(Vec<(Key, Data)>, Vec<bool>),
    Failed(StoreError),
}

/// Makes the call through the scope's store.
pub(super) async fn call<S: Subject>(store: &GenericStore<S>, op: &Op, before: &Table) -> Got {
    fn one<S: Subject>(result: Result<Record<S>, StoreError>) -> Got {
        result.map_or_else(Got::Failed, |record| Got::Maybe(Some(returned(&record))))
    }
    fn maybe<S: Subject>(result: Result<Option<Record<S>>, StoreError>) -> Got {
        result.map_or_else(Got::Failed, |record| Got::Maybe(record.as_ref().map(returned)))
    }
    fn many<S: Subject>(result: Result<Vec<Record<S>>, StoreError>) -> Got {
        result.map_or_else(Got::Failed, |records| Got::Rows(records.iter().map(returned).collect()))
    }
    fn count(result: Result<u64, StoreError>) -> Got {
        result.map_or_else(Got::Failed, Got::Count)
    }
    fn done(result: Result<(), StoreError>) -> Got {
        result.map_or_else(Got::Failed, |()| Got::Done)
    }
    let id = |target: &Target| S::store_key(target.id::<S>(before));
    let at = |target: &Target, org: usize, total: i64| S::make(target.id::<S>(before), org, total);
    let batch = |targets: &[Target]| keys::<S>(targets, before);
    let query = |cond: &Cond| cond.query::<S>(before);
    match op {
        Op::Create { id, org, total, tagged } => {
            one(store.create(S::make(S::new_key(*id), *org, *total), tagged.then(|| tags(true))).await)
        }
        Op::CreateAt { target, org, total } => one(store.create(at(target, *org, *total), None).await),
        Op::CreateOrIgnore { target, org, total } => {
            maybe(store.create_or_ignore(at(target, *org, *total), None).await)
        }
        Op::CreateMany(ids, org, total) => {
            let ids: BTreeSet<Key> = ids.iter().map(|n| S::new_key(*n)).collect();
            many(store.create_many(ids.into_iter().map(|k| S::make(k, *org, *total)).collect(), None).await)
        }
        Op::Upsert { target, org, total, tagged } => {
            one(store.upsert(at(target, *org, *total), tagged.then(|| tags(true))).await)
        }
        Op::UpsertMany(targets, org, total) => {
            many(store.upsert_many(batch(targets).into_iter().map(|k| S::make(k, *org, *total)).collect(), None).await)
        }
        Op::Get(t) => maybe(store.get_by_id(&id(t)).await),
        Op::GetWithDeleted(t) => maybe(store.get_by_id_with_deleted(&id(t)).await),
        Op::Update { target, org, total } => one(store.update(&id(target), at(target, *org, *total), None).await),
        Op::Delete(t) => store.delete(&id(t)).await.map_or_else(Got::Failed, Got::Flag),
        Op::ForceDelete(t) => store.force_delete(&id(t)).await.map_or_else(Got::Failed, Got::Flag),
        Op::Restore(t) => one(store.restore(&id(t)).await),
        Op::Grant(t, p) => done(store.grant(&id(t), PRINCIPALS[*p]).await),
        Op::Revoke(t, p) => done(store.revoke(&id(t), PRINCIPALS[*p]).await),
        Op::Principals(t) => store.principals(&id(t)).await.map_or_else(Got::Failed, Got::Principals),
        Op::AddTag(t) => one(store.add_tags(&id(t), ["added"]).await),
        Op::List => many(store.list_all().await),
        Op::Count => count(store.count().await),
        Op::Find(cond, None, 0) => many(store.find(query(cond)).await),
        Op::Find(cond, limit, offset) => {
            let query = ordered::<S>(query(cond)).offset(*offset as u64);
            many(
                store
                    .find(match limit {
                        Some(n) => query.limit(*n as u64),
                        None => query,
                    })
                    .await,
            )
        }
        Op::FindIn(cond, Vis::WithDeleted) => many(store.find(query(cond).with_deleted()).await),
        Op::FindIn(cond, _) => many(store.find(query(cond).only_deleted()).await),
        Op::RestoreWhere(cond) => many(store.restore_where(cond.bulk::<S>(before)).await),
        Op::ForceDeleteWhere(cond) => {
            let query = cond.bulk::<S>(before);
            count(store.force_delete_where(if S::SOFT { query.with_deleted() } else { query }).await)
        }
        Op::FindOne(cond) => maybe(store.find_one(ordered::<S>(query(cond))).await),
        Op::FindCached(cond) => many(store.find_cached(query(cond)).await),
        Op::Stream(cond) => {
            let items: Vec<Result<Record<S>, StoreError>> = store.find_stream(query(cond)).collect().await;
            many(items.into_iter().collect())
        }
        Op::Page(cond, n) => {
            let page = |query: QueryBuilder| store.find_page(ordered::<S>(query).limit(*n as u64));
            let first = match page(query(cond)).await {
                Ok(first) => first,
                Err(error) => return Got::Failed(error),
            };
            let (mut rows, mut more): (Vec<_>, _) =
                (first.records.iter().map(returned).collect(), vec![first.has_next]);
            if let Some(cursor) = &first.next {
                match page(query(cond).after(cursor)).await {
                    Ok(second) => {
                        rows.extend(second.records.iter().map(returned));
                        more.push(second.has_next);
                    }
                    Err(error) => return Got::Failed(error),
                }
            }
            Got::Page(rows, more)
        }
        Op::CountWhere(cond) => count(store.count_where(query(cond)).await),
        Op::UpdateWhere(cond, set) => many(store.update_where(cond.bulk::<S>(before), set.update::<S>()).await),
        Op::DeleteWhere(cond) => count(store.delete_where(cond.bulk::<S>(before)).await),
        Op::UpdateMany(targets, org, total) => {
            let items = batch(targets).into_iter().map(|k| (S::store_key(k), S::make(k, *org, *total))).collect();
            many(store.update_many(items).await)
        }
        Op::DeleteMany(targets) => {
            count(store.delete_many(batch(targets).into_iter().map(S::store_key).collect()).await)
        }
    }
}

/// By value, then key: the order the oracle sorts in.
fn ordered<S: Subject>(query: QueryBuilder) -> QueryBuilder {
    query.order_by(S::VALUE, SortOrder::Asc).order_by("id", SortOrder::Asc)
}

pub(super) fn kind(error: &StoreError) -> &'static str {
    match error {
        StoreError::NotFound { .. } => "NotFound",
        StoreError::AuthRequired { .. } => "AuthRequired",
        StoreError::TenantRequired { .. } => "TenantRequired",
        StoreError::Validation { .. } => "Validation",
        StoreError::Deleted { .. } => "Deleted",
        StoreError::Conflict { .. } => "Conflict",
        StoreError::UniqueViolation { .. } => "UniqueViolation",
        _ => "another error",
    }
}

//! One case: seed the table, then make each call and check it against the oracle.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use proptest::test_runner::TestCaseError;
use storehaus::prelude::*;

use super::call::{Got, call};
use super::cases::{Case, Via};
use super::check::{Failure, NotFoundTexts, compare, judge};
use super::expect::{Want, oracle};
use super::ops::Op;
use super::subjects::Subject;
use super::table::{Table, reset, snapshot};

/// Counts over one test, printed at its end.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) cases: AtomicU64,
    pub(super) calls: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) not_found: AtomicU64,
    pub(super) rows_compared: AtomicU64,
    pub(super) leaks: AtomicU64,
    pub(super) foreign: AtomicU64,
    pub(super) wrong: AtomicU64,
}

/// What the cases of one test share: the database, the stores, the cache and the counts.
pub(super) struct Env<S: Subject> {
    pub(super) storehaus: StoreHaus,
    pub(super) base: GenericStore<S>,
    pub(super) cache: Arc<CacheManager>,
    pub(super) postgres: bool,
    pub(super) texts: NotFoundTexts,
    pub(super) stats: Stats,
}

pub(super) async fn run_case<S: Subject>(env: &Env<S>, case: &Case) -> Result<(), TestCaseError> {
    let stats = &env.stats;
    let number = stats.cases.fetch_add(1, Relaxed);
    // A cache of its own per case: the rows of earlier cases went away behind its back.
    let base = if case.cached {
        let params = CacheParams::new(Arc::clone(&env.cache), 300, format!("oracle:{number}"));
        GenericStore::new(env.storehaus.pool().clone(), None, Some(params))
    } else {
        env.base.clone()
    };
    reset::<S>(&env.storehaus, env.postgres, &case.seeds).await;
    let mut before = snapshot::<S>(&env.storehaus, env.postgres).await;
    for (step, (scope, via, op)) in case.steps.iter().enumerate() {
        let expect = oracle::<S>(scope, op, &before);
        if case.cached {
            prime(&base, op, step, &before).await;
        }
        let store = scope.store(&base);
        let (got, ended) = match via {
            Via::Pool => (call(&store, op, &before).await, Ok(())),
            Via::Commit | Via::Rollback => {
                let tx = Transaction::begin(env.storehaus.pool()).await.expect("begin");
                let got = call(&store.with_transaction(&tx), op, &before).await;
                let ended = if *via == Via::Commit { tx.commit().await } else { tx.rollback().await };
                (got, ended)
            }
        };
        // Rolled back, the call's answer is still the oracle's; the table is as it was.
        let unchanged = (before.clone(), BTreeSet::new());
        let (after, written) =
            if *via == Via::Rollback { (&unchanged.0, &unchanged.1) } else { (&expect.after, &expect.written) };
        let now = snapshot::<S>(&env.storehaus, env.postgres).await;
        stats.calls.fetch_add(1, Relaxed);
        stats.rows_compared.fetch_add(now.len() as u64, Relaxed);
        match expect.want {
            Want::Error(_) => stats.refused.fetch_add(1, Relaxed),
            Want::NotFound(_) => stats.not_found.fetch_add(1, Relaxed),
            _ => 0,
        };
        // A failed statement may leave the transaction unable to commit; the table must hold
        // what the oracle says either way.
        let verdict = (ended.or_else(|e| if matches!(got, Got::Failed(_)) { Ok(()) } else { Err(e) }))
            .map_err(|e| Failure::Wrong(format!("the transaction did not end: {e}")))
            .and_then(|()| judge::<S>(scope, op, &before, &expect, &got, &env.texts))
            .and_then(|()| compare::<S>(scope, &before, after, written, &now));
        if let Err(failure) = verdict {
            let counter = match failure {
                Failure::Leak(_) => &stats.leaks,
                Failure::Foreign(_) => &stats.foreign,
                Failure::Wrong(_) => &stats.wrong,
            };
            counter.fetch_add(1, Relaxed);
            let rows: Vec<String> = (before.iter())
                .map(|(id, r)| format!("{id} {} {} {:?} {:?} {}", r.org, r.total, r.auth, r.tags, r.deleted))
                .collect();
            return Err(TestCaseError::fail(format!(
                "step {step}: {scope:?} {via:?} {op:?}\n{failure}\nanswer: {got:?}\ntable before (id, tenant, number, auth, tags, deleted):\n  {}",
                rows.join("\n  ")
            )));
        }
        before = now;
    }
    Ok(())
}

/// Before a cached read, reads the same through another scope, so the call meets a cache entry
/// written for someone else: the row itself (no scope) or, every other step, another tenant's
/// answer.
async fn prime<S: Subject>(base: &GenericStore<S>, op: &Op, step: usize, before: &Table) {
    let other = base.unrestricted();
    let other = if S::TENANTED && step % 2 == 1 { S::with_tenant(other, step / 2 % 2) } else { other };
    // What the other scope gets does not matter, only what it leaves in the cache.
    match op {
        Op::Get(target) | Op::GetWithDeleted(target) => {
            drop(other.get_by_id(&S::store_key(target.id::<S>(before))).await)
        }
        Op::FindCached(cond) => drop(other.find_cached(cond.query::<S>(before)).await),
        _ => {}
    }
}

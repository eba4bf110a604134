//! Comparing an answer and the raw table with the oracle: leaks, foreign changes, the rest.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;

use storehaus::prelude::*;

use super::call::{Got, kind};
use super::expect::{Expect, Want};
use super::ops::Op;
use super::scope::Scope;
use super::subjects::{Key, Subject};
use super::table::{Data, Row, Table, sorted};

#[derive(Debug)]
pub(super) enum Failure {
    /// The answer shows a row out of scope, or tells it apart from a missing one.
    Leak(String),
    /// A row out of scope changed.
    Foreign(String),
    /// Any other difference from the oracle.
    Wrong(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Leak(what) => write!(f, "LEAK: {what}"),
            Failure::Foreign(what) => write!(f, "FOREIGN CHANGE: {what}"),
            Failure::Wrong(what) => write!(f, "WRONG: {what}"),
        }
    }
}

/// The texts of `NotFound` seen per call kind, the key replaced, and whether a row out of scope
/// (rather than a missing one) gave it: both must read the same.
pub(super) type NotFoundTexts = Mutex<HashMap<&'static str, (String, bool)>>;

/// Checks the answer against the oracle.
pub(super) fn judge<S: Subject>(
    scope: &Scope,
    op: &Op,
    before: &Table,
    expect: &Expect,
    got: &Got,
    texts: &NotFoundTexts,
) -> Result<(), Failure> {
    let hidden = |id: &Key| before.get(id).is_some_and(|row| !scope.sees::<S>(row));
    let rows = |want: &[Key], got: &[(Key, Data)]| -> Result<(), Failure> {
        let mut seen = BTreeSet::new();
        for (id, data) in got {
            if !want.contains(id) {
                let what = format!("returned row {id} ({data:?}), not among {want:?}");
                return Err(if hidden(id) { Failure::Leak(what) } else { Failure::Wrong(what) });
            }
            if !seen.insert(*id) {
                return Err(Failure::Wrong(format!("returned row {id} twice")));
            }
            let stored = expect.after.get(id).map(Row::data);
            if stored.as_ref() != Some(data) {
                return Err(Failure::Wrong(format!("returned row {id} as {data:?}, the table holds {stored:?}")));
            }
        }
        match want.iter().find(|id| !seen.contains(*id)) {
            Some(id) => Err(Failure::Wrong(format!("row {id} is missing from the answer"))),
            None => Ok(()),
        }
    };
    match (&expect.want, got) {
        (Want::Rows(want), Got::Rows(got)) => rows(want, got),
        (Want::Record(id), Got::Maybe(Some(got))) => rows(&[*id], std::slice::from_ref(got)),
        (Want::Maybe(want), Got::Maybe(got)) => rows(want.as_slice(), got.as_slice()),
        (Want::Count(want), Got::Count(got)) if want == got => Ok(()),
        (Want::Count(want), Got::Count(got)) => {
            let what = format!("counted {got}, the scope sees {want}");
            Err(if got > want { Failure::Leak(what) } else { Failure::Wrong(what) })
        }
        (Want::Flag(_, want), Got::Flag(got)) if want == got => Ok(()),
        (Want::Done, Got::Done) => Ok(()),
        (Want::Principals(id), Got::Principals(got)) if sorted(got) == expect.after[id].data().auth => Ok(()),
        (Want::NotFound(id), Got::Failed(error @ StoreError::NotFound { .. })) => {
            let text = error.to_string().replace(&id.to_string(), "<key>");
            let mut texts = texts.lock().unwrap();
            let (first, first_hidden) = texts.entry(op.name()).or_insert_with(|| (text.clone(), hidden(id)));
            if *first == text {
                return Ok(());
            }
            let what = format!("{} NotFound texts differ: {first:?} and {text:?}", op.name());
            Err(if *first_hidden != hidden(id) { Failure::Leak(what) } else { Failure::Wrong(what) })
        }
        (Want::Error(kinds), Got::Failed(error)) if kinds.contains(&kind(error)) => Ok(()),
        (Want::Taken(_), Got::Failed(error)) if ["NotFound", "UniqueViolation"].contains(&kind(error)) => Ok(()),
        (Want::Page(want, more), Got::Page(got, has_next)) if more == has_next => rows(want, got),
        (Want::Page(_, more), Got::Page(_, has_next)) => {
            let what = format!("has_next of the pages: {has_next:?}, the scope sees more rows: {more:?}");
            let claims_more = has_next.iter().zip(more).any(|(got, want)| *got && !want);
            Err(if claims_more { Failure::Leak(what) } else { Failure::Wrong(what) })
        }
        (want, got) => {
            let what = format!("answered {got:?} where the oracle says {want:?}");
            let shows_hidden = match got {
                Got::Rows(rows) => rows.iter().any(|(id, _)| hidden(id)),
                Got::Maybe(row) => row.iter().any(|(id, _)| hidden(id)),
                Got::Page(rows, _) => rows.iter().any(|(id, _)| hidden(id)),
                _ => false,
            };
            // A call without the scope its table needs must run nothing: any answer tells.
            let ran_unscoped = matches!(want, Want::Error(kinds) if kinds.contains(&"AuthRequired") || kinds.contains(&"TenantRequired"))
                && !matches!(got, Got::Failed(_));
            Err(if shows_hidden || ran_unscoped || want.target().is_some_and(|id| hidden(&id)) {
                Failure::Leak(what)
            } else {
                Failure::Wrong(what)
            })
        }
    }
}

/// Checks the table after the call against the oracle's.
pub(super) fn compare<S: Subject>(
    scope: &Scope,
    before: &Table,
    after: &Table,
    written: &BTreeSet<Key>,
    now: &Table,
) -> Result<(), Failure> {
    let ids: BTreeSet<&Key> = before.keys().chain(after.keys()).chain(now.keys()).collect();
    for id in ids {
        let was = before.get(id);
        let fail = |what: String| {
            let what = format!("row {id} (before: {was:?}): {what}");
            if was.is_some_and(|row| !scope.sees::<S>(row)) { Failure::Foreign(what) } else { Failure::Wrong(what) }
        };
        match (after.get(id), now.get(id)) {
            (None, None) => {}
            (None, Some(row)) => return Err(fail(format!("should not be in the table, holds {row:?}"))),
            (Some(_), None) => return Err(fail("is gone".to_owned())),
            (Some(want), Some(row)) if written.contains(id) => {
                let created_kept = was.is_none_or(|was| was.stored[2] == row.stored[2]);
                if want.data() != row.data() || !created_kept {
                    return Err(fail(format!("should hold {:?}, holds {row:?}", want.data())));
                }
            }
            (Some(want), Some(row)) if want != row => return Err(fail(format!("changed to {row:?}"))),
            (Some(_), Some(_)) => {}
        }
    }
    Ok(())
}

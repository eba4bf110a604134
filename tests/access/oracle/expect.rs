//! The oracle: what a call must answer and what the table must hold after it.

use std::collections::BTreeSet;

use super::ops::{Cond, Op, Set, Target, Vis, keys, tags};
use super::scope::{PRINCIPALS, Scope};
use super::subjects::{Key, Subject};
use super::table::{Row, Table};

/// What a call must answer.
#[derive(Debug)]
pub(super) enum Want {
    Rows(Vec<Key>),
    Record(Key),
    Maybe(Option<Key>),
    Count(u64),
    Flag(Key, bool),
    Done,
    Principals(Key),
    NotFound(Key),
    /// One of these errors, and nothing written.
    Error(Vec<&'static str>),
    /// An error a taken key gives (`NotFound`, `UniqueViolation`): the row is out of scope.
    Taken(Key),
    /// The rows of the pages, and whether rows follow each.
    Page(Vec<Key>, Vec<bool>),
}

impl Want {
    /// The row a by-key call names.
    pub(super) fn target(&self) -> Option<Key> {
        match self {
            Want::Record(id) | Want::Flag(id, _) | Want::Principals(id) | Want::NotFound(id) | Want::Taken(id) => {
                Some(*id)
            }
            _ => None,
        }
    }
}

/// The oracle's verdict on one call: its answer, the table after it, and the rows it writes
/// (whose timestamps move).
pub(super) struct Expect {
    pub(super) want: Want,
    pub(super) after: Table,
    pub(super) written: BTreeSet<Key>,
}

/// The table as the oracle writes it.
struct Draft<'a> {
    scope: &'a Scope,
    before: &'a Table,
    after: Table,
    written: BTreeSet<Key>,
}

impl Draft<'_> {
    /// Whether the row exists and is in scope, live or soft-deleted.
    fn sees<S: Subject>(&self, id: &Key) -> bool {
        self.before.get(id).is_some_and(|row| self.scope.sees::<S>(row))
    }

    fn live<S: Subject>(&self, id: &Key) -> bool {
        self.sees::<S>(id) && !self.before[id].deleted
    }

    fn insert(&mut self, id: Key, org: String, total: i64, tags: Vec<String>) {
        self.after.insert(id, Row::new(org, total, self.scope.created_auth(), tags));
        self.written.insert(id);
    }

    fn change(&mut self, id: Key, change: impl FnOnce(&mut Row)) {
        change(self.after.get_mut(&id).unwrap());
        self.written.insert(id);
    }

    /// A delete: soft where the table has soft delete.
    fn delete<S: Subject>(&mut self, ids: &[Key]) {
        for id in ids {
            if S::SOFT {
                self.change(*id, |row| row.deleted = true);
            } else {
                self.after.remove(id);
            }
        }
    }

    /// A write by key to a live row in scope: `want`; `Deleted` for a soft-deleted one in scope;
    /// `NotFound` for any other.
    fn by_key<S: Subject>(&mut self, target: &Target, change: impl FnOnce(&mut Row), want: fn(Key) -> Want) -> Want {
        let id = target.id::<S>(self.before);
        if self.live::<S>(&id) {
            self.change(id, change);
            want(id)
        } else if self.sees::<S>(&id) {
            Want::Error(vec!["Deleted"])
        } else {
            Want::NotFound(id)
        }
    }

    /// The live rows in scope that `cond` holds for, by total and key.
    fn matching<S: Subject>(&self, cond: &Cond) -> Vec<Key> {
        self.matching_in::<S>(cond, Vis::Live)
    }

    fn matching_in<S: Subject>(&self, cond: &Cond, vis: Vis) -> Vec<Key> {
        let shown = |row: &Row| match vis {
            Vis::Live => !row.deleted,
            Vis::WithDeleted => true,
            Vis::OnlyDeleted => row.deleted,
        };
        let mut rows: Vec<Key> = (self.before.iter())
            .filter(|(id, row)| shown(row) && self.scope.sees::<S>(row) && cond.holds::<S>(**id, row, self.before))
            .map(|(id, _)| *id)
            .collect();
        rows.sort_by_key(|id| (self.before[id].total, *id));
        rows
    }
}

pub(super) fn oracle<S: Subject>(scope: &Scope, op: &Op, before: &Table) -> Expect {
    let foreign = |org: usize| scope.tenant.is_some_and(|t| t != org);
    let mut errors = scope.refusals::<S>();
    let invalid = match op {
        Op::Create { org, .. }
        | Op::CreateAt { org, .. }
        | Op::CreateOrIgnore { org, .. }
        | Op::CreateMany(_, org, _)
        | Op::Upsert { org, .. }
        | Op::UpsertMany(_, org, _)
        | Op::Update { org, .. }
        | Op::UpdateMany(_, org, _)
        | Op::UpdateWhere(_, Set::Org(org)) => foreign(*org),
        _ => false,
    };
    if invalid {
        errors.push("Validation");
    }
    if !errors.is_empty() {
        return Expect { want: Want::Error(errors), after: before.clone(), written: BTreeSet::new() };
    }
    let mut d = Draft { scope, before, after: before.clone(), written: BTreeSet::new() };
    let update = |org: usize, total: i64| move |row: &mut Row| (row.org, row.total) = (S::tenant_text(org), total);
    let want = match op {
        Op::Create { id, org, total, tagged } => {
            d.insert(S::new_key(*id), S::tenant_text(*org), *total, tags(*tagged));
            Want::Record(S::new_key(*id))
        }
        Op::CreateAt { target, org, total } => {
            let id = target.id::<S>(before);
            if before.contains_key(&id) {
                // The key is taken whoever sees the row, as it is for every store.
                Want::Error(vec!["UniqueViolation"])
            } else {
                d.insert(id, S::tenant_text(*org), *total, Vec::new());
                Want::Record(id)
            }
        }
        Op::CreateOrIgnore { target, org, total } => {
            let id = target.id::<S>(before);
            let new = !before.contains_key(&id);
            if new {
                d.insert(id, S::tenant_text(*org), *total, Vec::new());
            }
            Want::Maybe(new.then_some(id))
        }
        Op::CreateMany(ids, org, total) => {
            let ids: Vec<Key> = ids.iter().map(|n| S::new_key(*n)).collect::<BTreeSet<_>>().into_iter().collect();
            ids.iter().for_each(|id| d.insert(*id, S::tenant_text(*org), *total, Vec::new()));
            Want::Rows(ids)
        }
        Op::Upsert { target, org, total, tagged } => {
            let id = target.id::<S>(before);
            if !before.contains_key(&id) {
                d.insert(id, S::tenant_text(*org), *total, tags(*tagged));
                Want::Record(id)
            } else if d.live::<S>(&id) {
                d.change(id, |row| {
                    update(*org, *total)(row);
                    if *tagged {
                        row.tags = tags(true);
                    }
                });
                Want::Record(id)
            } else if d.sees::<S>(&id) {
                Want::Error(vec!["Deleted"])
            } else {
                // Neither insertable nor in scope: the answer of a taken key, never one telling
                // the row apart (Deleted, Conflict).
                Want::Taken(id)
            }
        }
        Op::UpsertMany(targets, org, total) => {
            let mut rows = Vec::new();
            for id in keys::<S>(targets, before) {
                if !before.contains_key(&id) {
                    d.insert(id, S::tenant_text(*org), *total, Vec::new());
                    rows.push(id);
                } else if d.live::<S>(&id) {
                    d.change(id, update(*org, *total));
                    rows.push(id);
                }
            }
            Want::Rows(rows)
        }
        Op::Get(target) => {
            let id = target.id::<S>(before);
            Want::Maybe(d.live::<S>(&id).then_some(id))
        }
        Op::GetWithDeleted(target) => {
            let id = target.id::<S>(before);
            Want::Maybe(d.sees::<S>(&id).then_some(id))
        }
        Op::Update { target, org, total } => d.by_key::<S>(target, update(*org, *total), Want::Record),
        Op::AddTag(target) => d.by_key::<S>(
            target,
            |row| {
                if !row.tags.iter().any(|t| t == "added") {
                    row.tags.push("added".to_owned());
                }
            },
            Want::Record,
        ),
        Op::Grant(target, p) => d.by_key::<S>(
            target,
            |row| {
                if !row.auth.iter().any(|a| a == PRINCIPALS[*p]) {
                    row.auth.push(PRINCIPALS[*p].to_owned());
                }
            },
            |_| Want::Done,
        ),
        Op::Revoke(target, p) => d.by_key::<S>(target, |row| row.auth.retain(|a| a != PRINCIPALS[*p]), |_| Want::Done),
        Op::Principals(target) => {
            let id = target.id::<S>(before);
            if d.live::<S>(&id) { Want::Principals(id) } else { Want::NotFound(id) }
        }
        Op::Delete(target) => {
            let id = target.id::<S>(before);
            let hit = d.live::<S>(&id);
            if hit {
                d.delete::<S>(&[id]);
            }
            Want::Flag(id, hit)
        }
        Op::ForceDelete(target) => {
            let id = target.id::<S>(before);
            let hit = d.sees::<S>(&id);
            if hit {
                d.after.remove(&id);
            }
            Want::Flag(id, hit)
        }
        Op::Restore(target) => {
            let id = target.id::<S>(before);
            if d.sees::<S>(&id) && before[&id].deleted {
                d.change(id, |row| row.deleted = false);
                Want::Record(id)
            } else {
                Want::NotFound(id)
            }
        }
        Op::List => Want::Rows(d.matching::<S>(&Cond::All)),
        Op::Count => Want::Count(d.matching::<S>(&Cond::All).len() as u64),
        Op::Find(cond, limit, offset) => {
            let rows = d.matching::<S>(cond).into_iter().skip(*offset).take(limit.unwrap_or(usize::MAX)).collect();
            Want::Rows(rows)
        }
        Op::FindIn(cond, vis) => Want::Rows(d.matching_in::<S>(cond, *vis)),
        Op::RestoreWhere(cond) => {
            let rows = d.matching_in::<S>(cond, Vis::OnlyDeleted);
            rows.iter().for_each(|id| d.change(*id, |row| row.deleted = false));
            Want::Rows(rows)
        }
        Op::ForceDeleteWhere(cond) => {
            let rows = d.matching_in::<S>(cond, Vis::WithDeleted);
            rows.iter().for_each(|id| drop(d.after.remove(id)));
            Want::Count(rows.len() as u64)
        }
        Op::FindOne(cond) => Want::Maybe(d.matching::<S>(cond).first().copied()),
        Op::Stream(cond) | Op::FindCached(cond) => Want::Rows(d.matching::<S>(cond)),
        Op::Page(cond, n) => {
            let mut rows = d.matching::<S>(cond);
            // A full first page has a cursor to the second, which is read too.
            let more = if rows.len() >= *n { vec![rows.len() > *n, rows.len() > 2 * n] } else { vec![false] };
            rows.truncate(2 * n);
            Want::Page(rows, more)
        }
        Op::CountWhere(cond) => Want::Count(d.matching::<S>(cond).len() as u64),
        Op::UpdateWhere(cond, set) => {
            let rows = d.matching::<S>(cond);
            rows.iter().for_each(|id| d.change(*id, |row| set.apply::<S>(row)));
            Want::Rows(rows)
        }
        Op::DeleteWhere(cond) => {
            let rows = d.matching::<S>(cond);
            d.delete::<S>(&rows);
            Want::Count(rows.len() as u64)
        }
        Op::UpdateMany(targets, org, total) => {
            let rows: Vec<Key> = keys::<S>(targets, before).into_iter().filter(|id| d.live::<S>(id)).collect();
            rows.iter().for_each(|id| d.change(*id, update(*org, *total)));
            Want::Rows(rows)
        }
        Op::DeleteMany(targets) => {
            let rows: Vec<Key> = keys::<S>(targets, before).into_iter().filter(|id| d.live::<S>(id)).collect();
            d.delete::<S>(&rows);
            Want::Count(rows.len() as u64)
        }
    };
    Expect { want, after: d.after, written: d.written }
}

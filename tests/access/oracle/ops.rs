//! The calls the property makes: their targets, filters and assignments.

use std::collections::BTreeSet;

use storehaus::prelude::*;

use super::subjects::{Key, Subject};
use super::table::{Row, Table};

/// A row of the table: an index into the rows before the call, or a key no row has.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Row(usize),
    Missing(u128),
}

impl Target {
    pub(super) fn id<S: Subject>(&self, table: &Table) -> Key {
        match self {
            Target::Row(i) if !table.is_empty() => *table.keys().nth(i % table.len()).unwrap(),
            Target::Row(i) => S::new_key(*i as u128 + 1),
            Target::Missing(n) => S::new_key(*n),
        }
    }
}

/// The distinct keys of a batch, in order (a key given twice is a validation error).
pub(super) fn keys<S: Subject>(targets: &[Target], table: &Table) -> Vec<Key> {
    let mut seen = BTreeSet::new();
    targets.iter().map(|t| t.id::<S>(table)).filter(|id| seen.insert(*id)).collect()
}

#[derive(Debug, Clone)]
pub(super) enum Cond {
    All,
    TotalAbove(i64),
    TotalIs(i64),
    Org(usize),
    Id(Target),
    /// An `or`, so a scope that is not parenthesised with the filter shows.
    BelowOrOrg(i64, usize),
    /// `id IN (..)`.
    Ids(Vec<Target>),
    /// A tag filter, an array test like the principal scope's.
    Tag(usize),
}

/// The tags rows get: seeded, created, added.
const TAGS: [&str; 3] = ["seeded", "created", "added"];

/// Which rows of a soft-delete table a query reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Vis {
    Live,
    WithDeleted,
    OnlyDeleted,
}

impl Cond {
    fn filter<S: Subject>(&self, table: &Table) -> Option<QueryFilter> {
        let key = |key: Key| match key {
            Key::Uuid(id) => json!(id),
            Key::Int(id) => json!(id),
        };
        Some(match self {
            Cond::All | Cond::Tag(_) => return None,
            Cond::Ids(targets) => QueryFilter::in_values("id", keys::<S>(targets, table).into_iter().map(key)),
            Cond::TotalAbove(x) => QueryFilter::gt(S::VALUE, S::value(*x)),
            Cond::TotalIs(x) => QueryFilter::eq(S::VALUE, S::value(*x)),
            Cond::Org(t) => QueryFilter::eq(S::TENANT, S::tenant_text(*t)),
            Cond::Id(target) => QueryFilter::eq("id", key(target.id::<S>(table))),
            Cond::BelowOrOrg(x, t) => QueryFilter::or(vec![
                QueryFilter::lt(S::VALUE, S::value(*x)),
                QueryFilter::eq(S::TENANT, S::tenant_text(*t)),
            ]),
        })
    }

    pub(super) fn query<S: Subject>(&self, table: &Table) -> QueryBuilder {
        let query = QueryBuilder::new();
        match (self, self.filter::<S>(table)) {
            (Cond::Tag(t), _) => query.filter_by_tag(TAGS[*t]),
            (_, Some(filter)) => query.filter(filter),
            (_, None) => query,
        }
    }

    /// The query of a bulk write, which must say `all_rows` to have no filter.
    pub(super) fn bulk<S: Subject>(&self, table: &Table) -> QueryBuilder {
        let query = self.query::<S>(table);
        if matches!(self, Cond::All) { query.all_rows() } else { query }
    }

    pub(super) fn holds<S: Subject>(&self, id: Key, row: &Row, table: &Table) -> bool {
        match self {
            Cond::All => true,
            Cond::TotalAbove(x) => row.total > *x,
            Cond::TotalIs(x) => row.total == *x,
            Cond::Org(t) => row.org == S::tenant_text(*t),
            Cond::Id(target) => id == target.id::<S>(table),
            Cond::BelowOrOrg(x, t) => row.total < *x || row.org == S::tenant_text(*t),
            Cond::Ids(targets) => keys::<S>(targets, table).contains(&id),
            Cond::Tag(t) => row.tags.iter().any(|tag| tag == TAGS[*t]),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Set {
    Total(i64),
    /// An increment; a plain assignment of the number where the column is text.
    Add(i64),
    Org(usize),
}

impl Set {
    pub(super) fn update<S: Subject>(&self) -> UpdateSet {
        match self {
            Set::Add(d) if S::NUMERIC => UpdateSet::new().increment(S::VALUE, json!(d)),
            Set::Total(x) | Set::Add(x) => UpdateSet::new().set(S::VALUE, S::value(*x)),
            Set::Org(t) => UpdateSet::new().set(S::TENANT, S::tenant_text(*t)),
        }
    }

    pub(super) fn apply<S: Subject>(&self, row: &mut Row) {
        match self {
            Set::Add(d) if S::NUMERIC => row.total += d,
            Set::Total(x) | Set::Add(x) => row.total = *x,
            Set::Org(t) => row.org = S::tenant_text(*t),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Op {
    Create {
        id: u128,
        org: usize,
        total: i64,
        tagged: bool,
    },
    /// `create` with the key of a row that may exist.
    CreateAt {
        target: Target,
        org: usize,
        total: i64,
    },
    CreateOrIgnore {
        target: Target,
        org: usize,
        total: i64,
    },
    CreateMany(Vec<u128>, usize, i64),
    Upsert {
        target: Target,
        org: usize,
        total: i64,
        tagged: bool,
    },
    UpsertMany(Vec<Target>, usize, i64),
    Get(Target),
    GetWithDeleted(Target),
    Update {
        target: Target,
        org: usize,
        total: i64,
    },
    Delete(Target),
    ForceDelete(Target),
    Restore(Target),
    Grant(Target, usize),
    Revoke(Target, usize),
    Principals(Target),
    AddTag(Target),
    List,
    Count,
    /// A filter, a limit and an offset (by value and key when either is given).
    Find(Cond, Option<usize>, usize),
    /// Soft-delete tables: a read of deleted rows too, or of deleted rows only.
    FindIn(Cond, Vis),
    RestoreWhere(Cond),
    /// Deleted or not.
    ForceDeleteWhere(Cond),
    FindOne(Cond),
    FindCached(Cond),
    Stream(Cond),
    /// Pages of `limit` rows by total and key: the first, and the second when the first is full.
    Page(Cond, usize),
    CountWhere(Cond),
    UpdateWhere(Cond, Set),
    DeleteWhere(Cond),
    UpdateMany(Vec<Target>, usize, i64),
    DeleteMany(Vec<Target>),
}

impl Op {
    /// The call's name, for the texts of `NotFound` (each call may word it its own way).
    pub(super) fn name(&self) -> &'static str {
        match self {
            Op::Create { .. } | Op::CreateAt { .. } => "create",
            Op::CreateOrIgnore { .. } => "create_or_ignore",
            Op::CreateMany(..) => "create_many",
            Op::Upsert { .. } => "upsert",
            Op::UpsertMany(..) => "upsert_many",
            Op::Get(_) | Op::GetWithDeleted(_) => "get_by_id",
            Op::Update { .. } => "update",
            Op::Delete(_) | Op::ForceDelete(_) => "delete",
            Op::Restore(_) => "restore",
            Op::RestoreWhere(_) => "restore_where",
            Op::Grant(..) | Op::Revoke(..) => "grant",
            Op::Principals(_) => "principals",
            Op::AddTag(_) => "add_tags",
            _ => "query",
        }
    }
}

pub(super) fn tags(tagged: bool) -> Vec<String> {
    if tagged { vec!["created".to_owned()] } else { Vec::new() }
}

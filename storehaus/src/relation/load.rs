//! Loading relations: one statement per relation and level, with every parent's key in one
//! array parameter, never one statement per parent.

use super::handle::{Include, Relation, RelationKey};
use super::loaded::Loaded;
use crate::backend::{DbPool, JoinedQuery, RelatedQuery, TxHandle};
use crate::error::StoreError;
use crate::model::Model;
use crate::query::Scope;
use crate::query::resolved::ResolvedQuery;
use crate::relation::JoinTo;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::Instrument;

/// Where a load runs and which rows it may reach: the store's pool, transaction and scope.
#[doc(hidden)]
#[derive(Debug)]
pub struct LoadCx<'a> {
    pub(crate) pool: &'a DbPool,
    pub(crate) tx: Option<&'a dyn TxHandle>,
    pub(crate) scope: &'a Scope,
}

/// Loads every relation of `includes` onto `parents`, one after the other.
pub(crate) async fn load<P: Model>(
    cx: &LoadCx<'_>,
    parents: &mut [Loaded<P>],
    includes: &[Include<P>],
) -> Result<(), StoreError> {
    for include in includes {
        include.loader().load(cx, parents).await?;
    }
    Ok(())
}

/// Refuses a relation named twice at one level, at any depth: its results are read back by name,
/// so the second would replace the first.
pub(crate) fn check_distinct<P: Model>(includes: &[Include<P>]) -> Result<(), StoreError> {
    for (index, include) in includes.iter().enumerate() {
        include.loader().check()?;
        let name = include.loader().name();
        if includes[..index].iter().any(|earlier| earlier.loader().name() == name) {
            return Err(StoreError::Validation {
                field: None,
                message: format!(
                    "relation `{name}` is loaded twice at one level; its records are read back by name, \
                     so load it once (`.with_count()` or rows, not both)"
                ),
            });
        }
    }
    Ok(())
}

/// Loads `relation` onto `parents`, looking related rows up by the value `key` reads from each.
pub(super) async fn relation<P: Model, C: Model, K: RelationKey>(
    relation: &Relation<P, C>,
    key: fn(&P) -> Option<K>,
    cx: &LoadCx<'_>,
    parents: &mut [Loaded<P>],
) -> Result<(), StoreError> {
    let name = relation.def.name;
    // The parents of each looked-up value: several for a belongs-to (posts of one author).
    let slots = Owners::of(parents.iter().map(|parent| key(parent.record().data())));
    if relation.count {
        let counts = if slots.is_empty() { Vec::new() } else { fetch_counts::<C, K>(relation, cx, &slots).await? };
        parents.iter_mut().for_each(|p| p.attach_count(name, 0));
        for (value, count) in counts {
            for index in slots.get(&value) {
                parents[index].attach_count(name, count);
            }
        }
        return Ok(());
    }
    let mut children: Vec<Loaded<C>> = Vec::new();
    let mut values: Vec<K> = Vec::new();
    if !slots.is_empty() {
        let related = related_query(relation, cx, &slots)?;
        let sink = |record, value| {
            children.push(Loaded::new(record));
            values.push(value);
        };
        cx.pool.fetch_related::<C, K>(cx.tx, &related, sink).instrument(span(cx, C::TABLE.name, "load")).await?;
    }
    if !relation.nested.is_empty() && !children.is_empty() {
        Box::pin(load(cx, &mut children, &relation.nested)).await?;
    }
    // The first parent of each child, looked up once; each parent's share is counted first so
    // that every list is allocated once, at its size.
    let firsts: Vec<usize> = values.iter().map(|value| slots.first(value)).collect();
    let mut sizes = vec![0usize; parents.len()];
    for &first in &firsts {
        slots.chain(first).for_each(|index| sizes[index] += 1);
    }
    let mut attached: Vec<Vec<Arc<Loaded<C>>>> = sizes.into_iter().map(Vec::with_capacity).collect();
    for (child, first) in children.into_iter().zip(firsts) {
        let child = Arc::new(child);
        slots.chain(first).for_each(|index| attached[index].push(Arc::clone(&child)));
    }
    for (parent, rows) in parents.iter_mut().zip(attached) {
        parent.attach_rows(name, rows);
    }
    Ok(())
}

/// The records of `q` with `relation` loaded in the same statement: `q`'s table `LEFT JOIN` the
/// related table, each record's rows folded together.
pub(super) async fn joined<P: Model, C: Model>(
    relation: &Relation<P, C>,
    cx: &LoadCx<'_>,
    q: &ResolvedQuery,
) -> Result<Vec<Loaded<P>>, StoreError> {
    let name = relation.def.name;
    let join = relation.def.join();
    let refuse = |why: &str| StoreError::Validation {
        field: None,
        message: format!("relation `{name}` cannot be joined: {why}; load it without `.joined()`"),
    };
    if matches!(join.to, JoinTo::Through { .. }) {
        return Err(refuse("a many-to-many relation joins through a third table"));
    }
    if relation.count {
        return Err(refuse("counts are one statement of their own"));
    }
    let child = relation.query.resolve(C::TABLE)?;
    if child.limit.is_some()
        || child.offset.is_some()
        || child.keyset.is_some()
        || child.from_end
        || child.lock.is_some()
    {
        return Err(refuse("a joined relation loads every related record, without paging or locks"));
    }
    let child = cx.scope.related(C::TABLE)?.restrict(&child).into_owned();
    let joined = JoinedQuery { parent: q.clone(), child, join };
    let rows = cx.pool.fetch_joined::<P, C>(cx.tx, &joined).instrument(span(cx, P::TABLE.name, "find")).await?;
    let mut parents = Vec::with_capacity(rows.len());
    let mut children = Vec::new();
    let mut owners = Vec::new();
    for (index, (parent, related)) in rows.into_iter().enumerate() {
        parents.push(Loaded::new(parent));
        owners.extend(std::iter::repeat_n(index, related.len()));
        children.extend(related.into_iter().map(Loaded::new));
    }
    if !relation.nested.is_empty() && !children.is_empty() {
        Box::pin(load(cx, &mut children, &relation.nested)).await?;
    }
    let mut attached: Vec<Vec<Arc<Loaded<C>>>> = (0..parents.len()).map(|_| Vec::new()).collect();
    for (child, owner) in children.into_iter().zip(owners) {
        attached[owner].push(Arc::new(child));
    }
    for (parent, rows) in parents.iter_mut().zip(attached) {
        parent.attach_rows(name, rows);
    }
    Ok(parents)
}

/// The parents of each looked-up value: the first in a map, the others chained from it (a
/// belongs-to's parents share values), so no parent costs an allocation of its own.
struct Owners<K> {
    first: HashMap<K, usize, foldhash::fast::RandomState>,
    /// The next parent with the same value, by parent index; `usize::MAX` ends a chain.
    next: Vec<usize>,
}

impl<K: RelationKey> Owners<K> {
    fn of(values: impl ExactSizeIterator<Item = Option<K>>) -> Self {
        let first = HashMap::with_capacity_and_hasher(values.len(), foldhash::fast::RandomState::default());
        let mut owners = Owners { first, next: vec![usize::MAX; values.len()] };
        // Backwards, so that each chain lists its parents in their order.
        let values: Vec<Option<K>> = values.collect();
        for (index, value) in values.into_iter().enumerate().rev() {
            if let Some(value) = value
                && let Some(later) = owners.first.insert(value, index)
            {
                owners.next[index] = later;
            }
        }
        owners
    }

    fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// The first parent that has `value`; `usize::MAX` for none.
    fn first(&self, value: &K) -> usize {
        self.first.get(value).copied().unwrap_or(usize::MAX)
    }

    /// The parents that have `value`, in their order.
    fn get<'a>(&'a self, value: &K) -> impl Iterator<Item = usize> + 'a {
        self.chain(self.first(value))
    }

    /// The parents from `first` on (`first` itself, then the others with its value).
    fn chain(&self, first: usize) -> impl Iterator<Item = usize> + '_ {
        let next = |&index: &usize| Some(self.next[index]).filter(|&next| next != usize::MAX);
        std::iter::successors(Some(first).filter(|&first| first != usize::MAX), next)
    }
}

/// The related query of `relation` for the looked-up values in `slots`, restricted to the scope.
fn related_query<P: Model, C: Model, K: RelationKey>(
    relation: &Relation<P, C>,
    cx: &LoadCx<'_>,
    slots: &Owners<K>,
) -> Result<RelatedQuery, StoreError> {
    let q = relation.query.resolve(C::TABLE)?;
    if q.keyset.is_some() || q.from_end || q.lock.is_some() {
        return Err(StoreError::Validation {
            field: None,
            message: format!(
                "the query of relation `{}` filters, orders and limits related records; cursors, `last` and row locks do not apply",
                relation.def.name
            ),
        });
    }
    let q = cx.scope.related(C::TABLE)?.restrict(&q).into_owned();
    let keys = slots
        .first
        .keys()
        .map(|k| k.to_value().map_err(|e| StoreError::validation(relation.def.name, e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RelatedQuery { q, join: relation.def.join(), keys })
}

async fn fetch_counts<C: Model, K: RelationKey>(
    relation: &Relation<impl Model, C>,
    cx: &LoadCx<'_>,
    slots: &Owners<K>,
) -> Result<Vec<(K, u64)>, StoreError> {
    let related = related_query(relation, cx, slots)?;
    if related.q.limit.is_some() || related.q.offset.is_some() {
        return Err(StoreError::Validation {
            field: None,
            message: format!(
                "with_count counts every related record of `{}`; limit and offset do not apply",
                relation.def.name
            ),
        });
    }
    cx.pool.count_related::<K>(cx.tx, &related).instrument(span(cx, C::TABLE.name, "load_count")).await
}

/// The span of one statement of a load, as every store call has.
fn span(cx: &LoadCx<'_>, table: &'static str, operation: &'static str) -> tracing::Span {
    tracing::debug_span!("storehaus", db.system = cx.pool.db_system(), db.operation = operation, db.sql.table = table,)
}

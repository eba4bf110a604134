//! The random cases: seeded rows, and steps of a scope, a place to run and a call.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

use super::ops::{Cond, Op, Set, Target, Vis};
use super::scope::Scope;

#[derive(Debug, Clone)]
pub(super) struct Seed {
    pub(super) id: u128,
    pub(super) org: usize,
    pub(super) total: i64,
    /// Bit `i`: `PRINCIPALS[i]` may see the row (tables with principals).
    pub(super) auth: u8,
    pub(super) tagged: bool,
    /// Soft-deleted (tables with soft delete).
    pub(super) deleted: bool,
}

/// Where a call runs: on the pool, or in a transaction committed or rolled back after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Via {
    Pool,
    Commit,
    Rollback,
}

#[derive(Debug, Clone)]
pub(super) struct Case {
    /// Whether every call of the case goes through one read-through cache (in memory).
    pub(super) cached: bool,
    pub(super) seeds: Vec<Seed>,
    pub(super) steps: Vec<(Scope, Via, Op)>,
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![4 => (0..8_usize).prop_map(Target::Row), 1 => any::<u128>().no_shrink().prop_map(Target::Missing)]
}

/// Conditions on the tenant column only for tables that have one (`Org` then tests the value).
fn cond(tenanted: bool) -> impl Strategy<Value = Cond> + Clone {
    let org = move |t: usize| if tenanted { Cond::Org(t) } else { Cond::TotalIs(t as i64) };
    let below_or = move |(x, t): (i64, usize)| if tenanted { Cond::BelowOrOrg(x, t) } else { Cond::TotalAbove(x) };
    prop_oneof![
        Just(Cond::All),
        (-3..12_i64).prop_map(Cond::TotalAbove),
        (-3..12_i64).prop_map(Cond::TotalIs),
        (0..2_usize).prop_map(org),
        target().prop_map(Cond::Id),
        (-3..12_i64, 0..2_usize).prop_map(below_or),
        vec(target(), 1..4).prop_map(Cond::Ids),
        (0..3_usize).prop_map(Cond::Tag),
    ]
}

fn set(tenanted: bool) -> impl Strategy<Value = Set> {
    let org = move |t: usize| if tenanted { Set::Org(t) } else { Set::Total(t as i64) };
    prop_oneof![(-3..12_i64).prop_map(Set::Total), (-3..4_i64).prop_map(Set::Add), (0..2_usize).prop_map(org)]
}

/// The calls, weighted; those on principals and deleted rows only for tables that have them.
fn op(auth: bool, soft: bool, tenanted: bool) -> impl Strategy<Value = Op> {
    let (org, total, id) = (0..2_usize, -3..12_i64, any::<u128>().no_shrink());
    let (cond, set) = (cond(tenanted), set(tenanted));
    let cond = move || cond.clone();
    let batch = || vec(target(), 1..4);
    let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
        (
            3,
            (id, org.clone(), total.clone(), any::<bool>())
                .prop_map(|(id, org, total, tagged)| Op::Create { id, org, total, tagged })
                .boxed(),
        ),
        (
            1,
            (target(), org.clone(), total.clone())
                .prop_map(|(target, org, total)| Op::CreateAt { target, org, total })
                .boxed(),
        ),
        (
            1,
            (target(), org.clone(), total.clone())
                .prop_map(|(target, org, total)| Op::CreateOrIgnore { target, org, total })
                .boxed(),
        ),
        (
            1,
            (vec(id, 1..4), org.clone(), total.clone())
                .prop_map(|(ids, org, total)| Op::CreateMany(ids, org, total))
                .boxed(),
        ),
        (
            2,
            (target(), org.clone(), total.clone(), any::<bool>())
                .prop_map(|(target, org, total, tagged)| Op::Upsert { target, org, total, tagged })
                .boxed(),
        ),
        (1, (batch(), org.clone(), total.clone()).prop_map(|(ts, org, total)| Op::UpsertMany(ts, org, total)).boxed()),
        (2, target().prop_map(Op::Get).boxed()),
        (1, target().prop_map(Op::GetWithDeleted).boxed()),
        (
            2,
            (target(), org.clone(), total.clone())
                .prop_map(|(target, org, total)| Op::Update { target, org, total })
                .boxed(),
        ),
        (2, target().prop_map(Op::Delete).boxed()),
        (1, target().prop_map(Op::ForceDelete).boxed()),
        (1, target().prop_map(Op::AddTag).boxed()),
        (1, Just(Op::List).boxed()),
        (1, Just(Op::Count).boxed()),
        (
            2,
            (cond(), proptest::option::of(1..4_usize), prop_oneof![3 => Just(0_usize), 1 => 1..3_usize])
                .prop_map(|(c, limit, offset)| Op::Find(c, limit, offset))
                .boxed(),
        ),
        (1, cond().prop_map(Op::ForceDeleteWhere).boxed()),
        (1, cond().prop_map(Op::FindOne).boxed()),
        (1, cond().prop_map(Op::FindCached).boxed()),
        (1, cond().prop_map(Op::Stream).boxed()),
        (1, (cond(), 1..4_usize).prop_map(|(c, n)| Op::Page(c, n)).boxed()),
        (1, cond().prop_map(Op::CountWhere).boxed()),
        (2, (cond(), set).prop_map(|(c, s)| Op::UpdateWhere(c, s)).boxed()),
        (1, cond().prop_map(Op::DeleteWhere).boxed()),
        (1, (batch(), org, total).prop_map(|(ts, org, total)| Op::UpdateMany(ts, org, total)).boxed()),
        (1, batch().prop_map(Op::DeleteMany).boxed()),
    ];
    if auth {
        ops.push((2, (target(), 0..4_usize).prop_map(|(t, p)| Op::Grant(t, p)).boxed()));
        ops.push((1, (target(), 0..4_usize).prop_map(|(t, p)| Op::Revoke(t, p)).boxed()));
        ops.push((1, target().prop_map(Op::Principals).boxed()));
    }
    if soft {
        ops.push((2, target().prop_map(Op::Restore).boxed()));
        ops.push((1, cond().prop_map(Op::RestoreWhere).boxed()));
        let vis = prop_oneof![Just(Vis::WithDeleted), Just(Vis::OnlyDeleted)];
        ops.push((2, (cond(), vis).prop_map(|(c, vis)| Op::FindIn(c, vis)).boxed()));
    }
    Union::new_weighted(ops)
}

fn scope(auth: bool, tenanted: bool) -> impl Strategy<Value = Scope> {
    let some = prop_oneof![
        (0..3_usize).prop_map(|p| vec![p]),
        (0..3_usize, 1..3_usize).prop_map(|(p, step)| vec![p, (p + step) % 3]),
    ];
    let some = if auth { some.boxed() } else { Just(Vec::new()).boxed() };
    let any_principals =
        if auth { prop_oneof![1 => Just(Vec::new()), 3 => some.clone()].boxed() } else { some.clone() };
    let tenant = proptest::option::of(0..2_usize).prop_map(move |t| t.filter(|_| tenanted));
    prop_oneof![
        5 => (some, 0..2_usize, any::<bool>()).prop_map(move |(principals, t, tenant_first)| {
            Scope { unrestricted: false, principals, tenant: tenanted.then_some(t), tenant_first }
        }),
        3 => (any_principals.clone(), tenant.clone(), any::<bool>())
            .prop_map(|(principals, tenant, tenant_first)| Scope { unrestricted: true, principals, tenant, tenant_first }),
        // Less than the table needs: refused.
        1 => (any_principals, tenant, any::<bool>()).prop_map(move |(principals, tenant, tenant_first)| {
            let tenant = if principals.is_empty() && auth && tenanted { tenant } else { None };
            let principals = if tenanted { principals } else { Vec::new() };
            Scope { unrestricted: false, principals, tenant, tenant_first }
        }),
    ]
}

pub(super) fn case(auth: bool, soft: bool, tenanted: bool) -> impl Strategy<Value = Case> {
    let seed = (any::<u128>().no_shrink(), 0..2_usize, -3..12_i64, 0..16_u8, any::<bool>(), any::<bool>()).prop_map(
        move |(id, org, total, auth, tagged, deleted)| Seed { id, org, total, auth, tagged, deleted: soft && deleted },
    );
    let via = prop_oneof![6 => Just(Via::Pool), 2 => Just(Via::Commit), 1 => Just(Via::Rollback)];
    let steps = vec((scope(auth, tenanted), via, op(auth, soft, tenanted)), 1..9);
    (any::<bool>(), vec(seed, 0..7), steps).prop_map(|(cached, seeds, steps)| Case { cached, seeds, steps })
}

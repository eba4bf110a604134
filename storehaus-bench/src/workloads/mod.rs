//! The workloads, one file each; `write` holds the insert paths two of them share.

pub mod associations;
pub mod bulk;
pub mod by_key;
pub mod cached;
pub mod concurrency;
pub mod consumers;
pub mod counters;
pub mod data;
pub mod insert;
pub mod medium;
pub mod scoped;
pub mod shared;
pub mod signal_cost;
pub mod signals;
pub mod sqlite;
pub mod trivial;
mod write;

use crate::Result;
use crate::setup::Bench;
use crate::stats::Summary;

/// Every workload, in the order a run measures them.
pub const ALL: &[&str] = &[
    trivial::NAME,
    medium::NAME,
    associations::NAME,
    insert::NAME,
    by_key::LOOKUP,
    scoped::NAME,
    by_key::UPDATE,
    bulk::NAME,
    cached::NAME,
    signals::NAME,
    signal_cost::NAME,
    consumers::NAME,
    data::GET,
    data::SET,
    data::SET_MANY,
    counters::NAME,
    shared::GET,
    shared::SET,
    shared::STREAM,
    sqlite::PK_LOOKUP,
    sqlite::TRIVIAL,
    sqlite::INSERT,
    sqlite::BULK_INSERT,
    concurrency::MIX,
    concurrency::LOOKUP_16,
];

pub async fn run(b: &Bench, workload: &str) -> Result<Vec<Summary>> {
    match workload {
        trivial::NAME => trivial::run(b).await,
        medium::NAME => medium::run(b).await,
        associations::NAME => associations::run(b).await,
        insert::NAME => insert::run(b).await,
        by_key::LOOKUP => by_key::lookup(b).await,
        scoped::NAME => scoped::run(b).await,
        by_key::UPDATE => by_key::update(b).await,
        bulk::NAME => bulk::run(b).await,
        cached::NAME => cached::run(b).await,
        signals::NAME => signals::run(b).await,
        signal_cost::NAME => signal_cost::run(b).await,
        consumers::NAME => consumers::run(b).await,
        data::GET => data::get(b).await,
        data::SET => data::set(b).await,
        data::SET_MANY => data::set_many(b).await,
        counters::NAME => counters::run(b).await,
        shared::GET => shared::get(b).await,
        shared::SET => shared::set(b).await,
        shared::STREAM => shared::stream(b).await,
        sqlite::PK_LOOKUP => sqlite::pk_lookup(b).await,
        sqlite::TRIVIAL => sqlite::trivial(b).await,
        sqlite::INSERT => sqlite::insert(b).await,
        sqlite::BULK_INSERT => sqlite::bulk_insert(b).await,
        concurrency::MIX => concurrency::mix(b).await,
        concurrency::LOOKUP_16 => concurrency::lookup_16(b).await,
        other => Err(format!("unknown workload `{other}`").into()),
    }
}

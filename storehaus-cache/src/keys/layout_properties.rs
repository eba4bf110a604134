//! Property: distinct (prefix, scope, table or namespace, key) tuples never share a key, over
//! strings made of the layout's own separators and words.

use std::collections::HashMap;

use proptest::prelude::*;

use super::{KeySpace, MAX_ROW_SEGMENT};
use crate::digest::QueryDigest;

/// Pieces that look like parts of the layout, so that near-collisions are common.
const PIECES: &[&str] =
    &[":", "_", "#", "%", "/", "=", "a", " ", "%3A", "row", "epoch", "gen", "q", "#kv", "kv", "é", "\n", "1"];

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..4).prop_map(|pieces| pieces.concat())
}

/// What a key is the key of, below its key space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    Row(String, String),
    RowEpoch(String, String),
    TableEpoch(String),
    Generation(String),
    Query(String, i64, String),
    Kv(String),
    Counter(String),
    Claim(String),
}

fn target() -> impl Strategy<Value = Target> {
    let long = prop::sample::select(vec![0usize, MAX_ROW_SEGMENT + 1]).prop_map(|n| "k".repeat(n));
    prop_oneof![
        (hostile(), hostile()).prop_map(|(t, id)| Target::Row(t, id)),
        (hostile(), long).prop_map(|(t, id)| Target::Row(t, id)),
        (hostile(), hostile()).prop_map(|(t, id)| Target::RowEpoch(t, id)),
        hostile().prop_map(Target::TableEpoch),
        hostile().prop_map(Target::Generation),
        (hostile(), -2..2i64, hostile()).prop_map(|(t, g, q)| Target::Query(t, g, q)),
        hostile().prop_map(Target::Kv),
        hostile().prop_map(Target::Counter),
        hostile().prop_map(Target::Claim),
    ]
}

type Tuple = (String, Vec<(String, String)>, Target);

fn tuple() -> impl Strategy<Value = Tuple> {
    (hostile(), prop::collection::vec((hostile(), hostile()), 0..3), target())
}

fn key_of((prefix, scopes, target): &Tuple) -> String {
    let space = scopes.iter().fold(KeySpace::new(prefix.clone()), |space, (n, v)| space.scope(n, v));
    match target {
        Target::Row(t, id) => space.table(t).row(id).entry().to_owned(),
        Target::RowEpoch(t, id) => space.table(t).row(id).epoch().to_owned(),
        Target::TableEpoch(t) => space.table(t).epoch_key(),
        Target::Generation(t) => space.table(t).generation_key(),
        Target::Query(t, g, q) => space.table(t).query_key(*g, &QueryDigest::from(q.as_str())),
        Target::Kv(name) => space.kv(name),
        Target::Counter(name) => space.counter(name),
        Target::Claim(name) => space.claim(name),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn distinct_tuples_have_distinct_keys(tuples in prop::collection::vec(tuple(), 1..400)) {
        let mut seen: HashMap<String, &Tuple> = HashMap::new();
        for tuple in &tuples {
            let key = key_of(tuple);
            if let Some(other) = seen.insert(key.clone(), tuple) {
                prop_assert_eq!(other, tuple, "two tuples share the key {}", key);
            }
        }
    }

    #[test]
    fn keys_split_back_into_their_parts(tuple in tuple()) {
        let key = key_of(&tuple);
        let segments: Vec<&str> = key.split(':').collect();
        let prefix = KeySpace::new(tuple.0.clone());
        prop_assert_eq!(segments[0], prefix.head.as_str());
        prop_assert!(segments.len() >= 4, "{}", key);
    }
}

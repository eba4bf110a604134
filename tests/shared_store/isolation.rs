//! Scope isolation, as a property: keys and scope ids made of `:`, `*`, `%`, spaces and the
//! other glob characters never let one scope see or change another's values, and a scan from
//! one scope returns its own keys (and its child scopes'), never a sibling's.
//!
//! The store runs a random sequence of key-value and counter operations on the root, two
//! sibling organizations and a workspace inside the first, next to a model of what each holds.
//! 2 000 cases on each backend, all on one runtime and one store.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use storehaus::cache::shared::{Namespace, SharedStore};

use crate::{Backend, Env, on_both};

const CASES: u32 = 2_000;
const ALPHABET: &[char] = &['a', 'b', ':', '*', ' ', '%', '?', '[', ']', '\\', '3', 'A'];

/// The scopes of a case: the root, `organization:a`, `organization:b` and
/// `organization:a` / `workspace:c`.
const SCOPES: usize = 4;
/// Which scopes each scope's scan sees: itself and its descendants.
const SEES: [&[usize]; SCOPES] = [&[0, 1, 2, 3], &[1, 3], &[2], &[3]];

#[derive(Debug, Clone)]
enum Op {
    Set { scope: usize, key: usize, value: u32 },
    Remove { scope: usize, key: usize },
    Increment { scope: usize, key: usize, by: i64 },
    Reset { scope: usize, key: usize },
}

#[derive(Debug, Clone)]
struct Case {
    ids: [String; 3],
    keys: Vec<String>,
    ops: Vec<Op>,
}

fn text() -> impl Strategy<Value = String> {
    vec(select(ALPHABET), 1..6).prop_map(|chars| chars.into_iter().collect())
}

fn op() -> impl Strategy<Value = Op> {
    let scope = 0..SCOPES;
    let key = 0..3_usize;
    prop_oneof![
        3 => (scope.clone(), key.clone(), any::<u32>()).prop_map(|(scope, key, value)| Op::Set { scope, key, value }),
        1 => (scope.clone(), key.clone()).prop_map(|(scope, key)| Op::Remove { scope, key }),
        2 => (scope.clone(), key.clone(), -5..5_i64).prop_map(|(scope, key, by)| Op::Increment { scope, key, by }),
        1 => (scope, key).prop_map(|(scope, key)| Op::Reset { scope, key }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let ids = (text(), text(), text()).prop_filter("two sibling ids", |(a, b, _)| a != b);
    (ids, vec(text(), 3), vec(op(), 1..10)).prop_map(|((a, b, c), keys, ops)| Case { ids: [a, b, c], keys, ops })
}

/// What each `(scope, key)` holds.
#[derive(Default)]
struct Model {
    values: HashMap<(usize, String), u32>,
    counters: HashMap<(usize, String), i64>,
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if condition { Ok(()) } else { Err(TestCaseError::fail(message())) }
}

async fn scan_all(store: &SharedStore) -> BTreeSet<String> {
    let (mut keys, mut cursor) = (BTreeSet::new(), 0);
    loop {
        let page = store.dev().scan("*", cursor, 10_000).await.expect("scan");
        keys.extend(page.keys);
        if page.cursor == 0 {
            return keys;
        }
        cursor = page.cursor;
    }
}

async fn run_case(root: &SharedStore, case: Case) -> Result<(), TestCaseError> {
    // A failed case leaves its keys behind; the next one starts empty.
    let left: Vec<String> = scan_all(root).await.into_iter().collect();
    root.adapter().delete(&left).await.expect("delete");

    let [a, b, c] = &case.ids;
    let org_a = root.scope("organization", a).expect("scope a");
    let org_b = root.scope("organization", b).expect("scope b");
    let ws = org_a.scope("workspace", c).expect("scope c");
    let scopes = [root.clone(), org_a, org_b, ws];
    let keys: Vec<String> = case.keys.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let mut model = Model::default();

    for op in &case.ops {
        match *op {
            Op::Set { scope, key, value } => {
                let key = &keys[key % keys.len()];
                scopes[scope].kv().set(key, &value, None).await.expect("set");
                model.values.insert((scope, key.clone()), value);
            }
            Op::Remove { scope, key } => {
                let key = &keys[key % keys.len()];
                let existed = scopes[scope].kv().remove(key).await.expect("remove");
                let expected = model.values.remove(&(scope, key.clone())).is_some();
                check(existed == expected, || format!("remove {key:?} in scope {scope} answered {existed}"))?;
            }
            Op::Increment { scope, key, by } => {
                let key = &keys[key % keys.len()];
                let now = scopes[scope].counter().increment(key, by).await.expect("increment");
                let expected = model.counters.entry((scope, key.clone())).or_default();
                *expected += by;
                check(now == *expected, || format!("increment {key:?} in scope {scope}: {now}, not {expected}"))?;
            }
            Op::Reset { scope, key } => {
                let key = &keys[key % keys.len()];
                let existed = scopes[scope].counter().reset(key).await.expect("reset");
                let expected = model.counters.remove(&(scope, key.clone())).is_some();
                check(existed == expected, || format!("reset {key:?} in scope {scope} answered {existed}"))?;
            }
        }
    }

    for (index, store) in scopes.iter().enumerate() {
        let values = store.batch().get::<u32>(&keys).await.expect("batch get");
        for (key, value) in keys.iter().zip(values) {
            let expected = model.values.get(&(index, key.clone())).copied();
            check(value == expected, || format!("scope {index} key {key:?}: {value:?}, not {expected:?}"))?;
            let exists = store.kv().exists(key).await.expect("exists");
            check(exists == expected.is_some(), || format!("scope {index} key {key:?} exists: {exists}"))?;
            let count = store.counter().get(key).await.expect("counter get");
            let expected = model.counters.get(&(index, key.clone())).copied().unwrap_or(0);
            check(count == expected, || format!("scope {index} counter {key:?}: {count}, not {expected}"))?;
        }
    }

    for (index, store) in scopes.iter().enumerate() {
        let expected: BTreeSet<String> = (model.values.keys().map(|(scope, key)| (*scope, Namespace::Kv, key)))
            .chain(model.counters.keys().map(|(scope, key)| (*scope, Namespace::Counter, key)))
            .filter(|(scope, _, _)| SEES[index].contains(scope))
            .map(|(scope, namespace, key)| scopes[scope].key(namespace, key))
            .collect();
        let found = scan_all(store).await;
        check(found == expected, || format!("scan of scope {index} found {found:?}, expected {expected:?}"))?;
    }
    Ok(())
}

fn property(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let Some(env) = runtime.block_on(Env::open(backend, "shared_store:isolation")) else { return };
    let root = env.builder().scope_kind("organization", false).scope_kind("workspace", false).build().unwrap();
    let config = Config { cases: CASES, failure_persistence: None, ..Config::default() };
    let ran = AtomicU32::new(0);
    let result = TestRunner::new(config).run(&case(), |case| {
        ran.fetch_add(1, Ordering::Relaxed);
        runtime.block_on(run_case(&root, case))
    });
    runtime.block_on(env.cleanup());
    if let Err(error) = result {
        panic!("{error}");
    }
    assert!(ran.into_inner() >= CASES, "fewer cases than asked for ran");
}

#[test]
fn redis() {
    property(Backend::Redis);
}

#[test]
fn memory() {
    property(Backend::Memory);
}

on_both! {
    /// Scope ids made of glob characters scan only their own keys.
    async fn glob_ids_scan_only_themselves(env) {
        let root = env.store();
        let ids = ["*", "?", "[a]", "a", "\\*", "a*", "%", "%25", ":", "%3A"];
        for id in ids {
            root.scope("organization", id).unwrap().kv().set("k", &id, None).await.unwrap();
        }
        for id in ids {
            let store = root.scope("organization", id).unwrap();
            let found = scan_all(&store).await;
            assert_eq!(found, BTreeSet::from([store.key(Namespace::Kv, "k")]), "scan of scope {id:?}");
            assert_eq!(store.kv().get::<String>("k").await.unwrap().as_deref(), Some(id));
        }
        assert_eq!(scan_all(&root).await.len(), ids.len());
    }

    /// A scan pattern applies after the scope, and pages add up to every match.
    async fn scan_pattern_and_pages(env) {
        let org = env.store().scope("organization", "o1").unwrap();
        for n in 0..50 {
            org.kv().set(&format!("user:{n}"), &n, None).await.unwrap();
        }
        org.kv().set("other", &0, None).await.unwrap();
        org.counter().increment("user:1", 1).await.unwrap();
        let (mut found, mut cursor, mut pages) = (BTreeSet::new(), 0, 0);
        loop {
            let page = org.dev().scan("kv:user:*", cursor, 5).await.unwrap();
            found.extend(page.keys);
            pages += 1;
            if page.cursor == 0 {
                break;
            }
            cursor = page.cursor;
        }
        let expected: BTreeSet<String> = (0..50).map(|n| org.key(Namespace::Kv, &format!("user:{n}"))).collect();
        assert_eq!(found, expected);
        assert!(pages > 1 || !env.is_redis(), "a count of 5 pages through 50 keys");
        crate::expect_code(org.dev().scan("*", 0, 0).await, "STORE_INVALID_INPUT");
    }
}

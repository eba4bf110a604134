//! Scopes never see each other: random operations on random (owner, namespace, key) triples,
//! every read compared with an in-memory model of the scopes.
//!
//! The owners include the global one and two that share an id or a kind; the namespaces include
//! none and a namespace whose name is also a key; the keys are few, so operations collide often.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::time::Instant;

const CASES: u32 = 2_000;

fn owners() -> [Owner; 4] {
    [Owner::global(), Owner::new("user", 1), Owner::new("team", 1), Owner::new("user", 2)]
}
const NAMESPACES: [&str; 3] = ["", "a", "a.b"];
const KEYS: [&str; 4] = ["a", "b", "a.b", "b%"];

/// Indexes into [`owners`] and [`NAMESPACES`].
type Scope = (usize, usize);

#[derive(Debug, Clone)]
enum Op {
    Set(Scope, usize, Value),
    Delete(Scope, usize),
    Clear(Scope),
    Increment(Scope, usize, i64),
    ListPush(Scope, usize, i64),
    Get(Scope, usize),
    Keys(Scope),
    All(Scope),
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![(0_i64..5).prop_map(Value::from), Just(json!("s")), Just(json!([1]))]
}

fn op() -> impl Strategy<Value = Op> {
    let scope = (0..owners().len(), 0..NAMESPACES.len());
    let key = 0..KEYS.len();
    prop_oneof![
        3 => (scope.clone(), key.clone(), value()).prop_map(|(s, k, v)| Op::Set(s, k, v)),
        1 => (scope.clone(), key.clone()).prop_map(|(s, k)| Op::Delete(s, k)),
        1 => scope.clone().prop_map(Op::Clear),
        2 => (scope.clone(), key.clone(), -3_i64..4).prop_map(|(s, k, by)| Op::Increment(s, k, by)),
        1 => (scope.clone(), key.clone(), 0_i64..3).prop_map(|(s, k, item)| Op::ListPush(s, k, item)),
        2 => (scope.clone(), key.clone()).prop_map(|(s, k)| Op::Get(s, k)),
        1 => scope.clone().prop_map(Op::Keys),
        1 => scope.prop_map(Op::All),
    ]
}

/// What every scope should hold.
#[derive(Debug, Default)]
struct Model(BTreeMap<Scope, BTreeMap<String, Value>>);

impl Model {
    fn scope(&mut self, scope: Scope) -> &mut BTreeMap<String, Value> {
        self.0.entry(scope).or_default()
    }
}

fn store(data: &DataStore, (owner, namespace): Scope) -> DataStore {
    data.for_owner(owners()[owner].clone()).in_namespace(NAMESPACES[namespace])
}

/// Fails the case when `got` and `want` differ, naming the operation.
fn same<T: PartialEq + std::fmt::Debug>(op: &Op, got: T, want: T) -> Result<(), TestCaseError> {
    if got == want { Ok(()) } else { Err(TestCaseError::fail(format!("{op:?}: got {got:?}, want {want:?}"))) }
}

fn refused<T: std::fmt::Debug>(op: &Op, got: Result<T, StoreError>) -> Result<(), TestCaseError> {
    match got {
        Err(StoreError::Validation { .. }) => Ok(()),
        other => Err(TestCaseError::fail(format!("{op:?}: got {other:?}, want a Validation error"))),
    }
}

/// Runs `ops` on an empty table, checking each result against the model.
async fn run_case(data: &DataStore, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Set(scope, key, value) => {
                store(data, *scope).set(KEYS[*key], value, None).await.unwrap();
                model.scope(*scope).insert(KEYS[*key].to_owned(), value.clone());
            }
            Op::Delete(scope, key) => {
                let removed = model.scope(*scope).remove(KEYS[*key]).is_some();
                same(op, store(data, *scope).delete(KEYS[*key]).await.unwrap(), removed)?;
            }
            Op::Clear(scope) => {
                let count = std::mem::take(model.scope(*scope)).len() as u64;
                same(op, store(data, *scope).clear().await.unwrap(), count)?;
            }
            Op::Increment(scope, key, by) => {
                let got = store(data, *scope).increment(KEYS[*key], *by).await;
                let entry = model.scope(*scope).entry(KEYS[*key].to_owned());
                match entry.or_insert(json!(0)) {
                    current if current.is_i64() => {
                        let next = current.as_i64().unwrap() + by;
                        *current = json!(next);
                        same(op, got.unwrap(), next)?;
                    }
                    _ => refused(op, got)?,
                }
            }
            Op::ListPush(scope, key, item) => {
                let got = store(data, *scope).list_push(KEYS[*key], item).await;
                match model.scope(*scope).entry(KEYS[*key].to_owned()).or_insert(json!([])) {
                    Value::Array(items) => {
                        items.push(json!(item));
                        same(op, got.unwrap(), items.len() as u64)?;
                    }
                    _ => refused(op, got)?,
                }
            }
            Op::Get(scope, key) => {
                let want = model.scope(*scope).get(KEYS[*key]).cloned();
                same(op, store(data, *scope).get::<Value>(KEYS[*key]).await.unwrap(), want)?;
            }
            Op::Keys(scope) => {
                let want: Vec<String> = model.scope(*scope).keys().cloned().collect();
                same(op, store(data, *scope).keys().await.unwrap(), want)?;
            }
            Op::All(scope) => {
                let want = model.scope(*scope).clone();
                same(op, store(data, *scope).all().await.unwrap(), want)?;
            }
        }
    }
    // The end state of every scope at once: `export_all` lists each live entry with its scope.
    let mut file = Vec::new();
    data.export_all(&mut file).await.unwrap();
    let document: Value = serde_json::from_slice(&file).unwrap();
    let mut stored: BTreeMap<Scope, BTreeMap<String, Value>> = BTreeMap::new();
    for entry in document["entries"].as_array().unwrap() {
        let text = |field: &str| entry[field].as_str().unwrap().to_owned();
        let owner =
            owners().iter().position(|o| (o.kind(), o.id()) == (&text("owner_kind")[..], &text("owner_id")[..]));
        let namespace = NAMESPACES.iter().position(|n| *n == text("namespace"));
        let scope = (owner.expect("a known owner"), namespace.expect("a known namespace"));
        stored.entry(scope).or_default().insert(text("key"), entry["value"].clone());
    }
    model.0.retain(|_, entries| !entries.is_empty());
    if stored != model.0 {
        return Err(TestCaseError::fail(format!("after {ops:?}: stored {stored:?}, model {:?}", model.0)));
    }
    Ok(())
}

on_both_backends! {
    async fn random_operations_on_random_scopes_match_a_model_of_the_scopes(db) {
        let (storehaus, data) = data(&db).await;
        let mut config = Config::with_cases(CASES);
        config.failure_persistence = None;
        let mut runner = TestRunner::new(config);
        let runtime = tokio::runtime::Handle::current();
        let started = Instant::now();
        let cases = std::sync::atomic::AtomicU32::new(0);
        let outcome = runner.run(&proptest::collection::vec(op(), 1..12), |ops| {
            cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::task::block_in_place(|| {
                runtime.block_on(async {
                    raw::execute(&storehaus, &format!("DELETE FROM \"{TABLE}\"")).await;
                    run_case(&data, &ops).await
                })
            })
        });
        println!(
            "{}: {} cases (shrinking included) in {:.1?}",
            B::NAME,
            cases.into_inner(),
            started.elapsed()
        );
        if let Err(error) = outcome {
            panic!("{error}");
        }
    }
}

//! Replays the committed corpus of the `query_builder` fuzz target (`fuzz/corpus/query_builder/`)
//! and the fixed crash reproducers (`fuzz/regressions/`) through `query_input::run` on both
//! backends, so every input the fuzzer kept stays checked in CI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use storehaus::StoreHaus;
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus_suite::query_input;

const DIRS: &[&str] = &["fuzz/corpus/query_builder", "fuzz/regressions"];

/// Every input file, in a stable order.
fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

/// Names the input being replayed when its run panics.
struct Replaying<'a>(&'a Path);

impl Drop for Replaying<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("failing input: {}", self.0.display());
        }
    }
}

async fn replay(storehaus: StoreHaus, backend: &str) {
    let inputs = inputs();
    assert!(
        inputs.iter().any(|(path, _)| path.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).join(DIRS[0]))),
        "the fuzz corpus is empty"
    );
    let store = query_input::setup(&storehaus).await.expect("the fuzz tables and sentinel rows");
    let started = Instant::now();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (path, bytes) in &inputs {
        let _replaying = Replaying(path);
        let outcome = query_input::run(&store, bytes).await;
        // A reproducer the decoder ignores would check nothing.
        if path.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).join(DIRS[1])) {
            assert_ne!(outcome, query_input::Outcome::Ignored, "{} no longer decodes", path.display());
        }
        *tally.entry(outcome.label()).or_default() += 1;
    }
    println!("{backend}: {} inputs replayed in {:.2?}", inputs.len(), started.elapsed());
    for (label, n) in &tally {
        println!("{backend}:   {n:>4}  {label}");
    }
    assert!(tally.get("ok").is_some_and(|&n| n > 0), "no input of the corpus ran successfully");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let db = TestSqlite::new();
    replay(db.storehaus().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(db) = TestDatabase::new().await else { return };
    replay(db.storehaus().await, "postgres").await;
}

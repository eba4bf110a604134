//! The guide's code blocks stay true. Rust blocks are compiled as doctests (the `guide` module in
//! `storehaus/src/lib.rs`); this suite checks every other block of README.md, docs/ and
//! examples/README.md: TOML parses as configuration or as a Cargo manifest naming real crates and
//! features, SQL is what StoreHaus generates (or runs as shown), and shell commands name examples,
//! packages and make targets that exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;

/// One fenced block: the file, the line of its opening fence, its language and its text.
#[derive(Debug)]
struct Block {
    file: String,
    line: usize,
    lang: String,
    text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The guide's files, relative to the repository root.
fn guide_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned(), "examples/README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn blocks() -> Vec<Block> {
    let mut blocks = Vec::new();
    for file in guide_files() {
        let mut open: Option<Block> = None;
        for (index, line) in read(&file).lines().enumerate() {
            match (open.take(), line.strip_prefix("```")) {
                (None, Some(lang)) => {
                    let lang = lang.trim().to_owned();
                    open = Some(Block { file: file.clone(), line: index + 1, lang, text: String::new() });
                }
                (Some(block), Some("")) => blocks.push(block),
                (Some(mut block), _) => {
                    block.text.push_str(line);
                    block.text.push('\n');
                    open = Some(block);
                }
                (None, None) => {}
            }
        }
        assert!(open.is_none(), "{file}: a code block is never closed");
    }
    blocks
}

fn blocks_in(lang: &str) -> Vec<Block> {
    blocks().into_iter().filter(|block| block.lang.split(',').next() == Some(lang)).collect()
}

#[test]
fn every_block_has_a_known_language() {
    let known = ["rust", "toml", "sql", "sh", "text"];
    for block in blocks() {
        let lang = block.lang.split(',').next().unwrap_or("");
        assert!(known.contains(&lang), "{}:{}: block of unknown language {:?}", block.file, block.line, block.lang);
    }
}

#[test]
fn every_file_with_rust_blocks_is_compiled_as_doctests() {
    let lib = read("storehaus/src/lib.rs");
    let doctested: BTreeSet<String> = lib
        .lines()
        .filter_map(|line| line.trim().strip_prefix("doctest_file!("))
        .filter_map(|rest| rest.split('"').nth(1))
        .map(|path| path.trim_start_matches("../../").to_owned())
        .collect();
    let with_rust: BTreeSet<String> = blocks_in("rust").into_iter().map(|block| block.file).collect();
    let missing: Vec<&String> = with_rust.difference(&doctested).collect();
    assert!(missing.is_empty(), "Rust blocks that no doctest compiles: {missing:?}");
}

#[test]
fn toml_blocks_are_configuration_or_manifests_of_real_crates() {
    let blocks = blocks_in("toml");
    assert!(!blocks.is_empty());
    for block in blocks {
        let at = format!("{}:{}", block.file, block.line);
        let table: toml::Table = toml::from_str(&block.text).unwrap_or_else(|e| panic!("{at}: {e}"));
        if table.keys().all(|key| ["database", "cache", "signal", "resilience"].contains(&key.as_str())) {
            AppConfig::from_toml_str(&block.text).unwrap_or_else(|e| panic!("{at}: {e}"));
            continue;
        }
        for section in ["dependencies", "dev-dependencies"] {
            let Some(deps) = table.get(section).and_then(|deps| deps.as_table()) else { continue };
            for (name, spec) in deps.iter().filter(|(name, _)| name.starts_with("storehaus")) {
                let features = crate_features(name).unwrap_or_else(|| panic!("{at}: no crate named {name}"));
                for feature in spec.get("features").and_then(|f| f.as_array()).into_iter().flatten() {
                    let feature = feature.as_str().unwrap();
                    assert!(features.contains(feature), "{at}: {name} has no feature {feature:?}");
                }
            }
        }
        assert!(
            table.keys().all(|key| ["dependencies", "dev-dependencies"].contains(&key.as_str())),
            "{at}: neither storehaus configuration nor dependencies: {:?}",
            table.keys().collect::<Vec<_>>()
        );
    }
}

/// The features of the workspace crate `name`, or `None` when there is no such crate.
fn crate_features(name: &str) -> Option<BTreeSet<String>> {
    let manifest: toml::Table = toml::from_str(&std::fs::read_to_string(root().join(name).join("Cargo.toml")).ok()?)
        .expect("a workspace manifest parses");
    let features = manifest.get("features").and_then(|f| f.as_table());
    Some(features.map(|f| f.keys().cloned().collect()).unwrap_or_default())
}

#[test]
fn storehaus_toml_example_parses() {
    AppConfig::from_toml_str(&read("storehaus.toml.example")).expect("storehaus.toml.example parses");
}

/// Names the shell blocks use: `--example NAME`, `-p NAME`, `--test NAME` and `make TARGET`.
fn shell_words(block: &Block) -> Vec<Vec<String>> {
    block
        .text
        .replace("\\\n", " ")
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").split_whitespace().map(str::to_owned).collect())
        .filter(|words: &Vec<String>| !words.is_empty())
        .collect()
}

fn after<'a>(words: &'a [String], flag: &str) -> Option<&'a str> {
    words.iter().position(|word| word == flag).and_then(|at| words.get(at + 1)).map(String::as_str)
}

#[test]
fn shell_blocks_name_things_that_exist() {
    let makefile = read("Makefile");
    let targets: BTreeSet<&str> = makefile
        .lines()
        .filter_map(|line| line.split_once(':').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect();
    let blocks = blocks_in("sh");
    assert!(!blocks.is_empty());
    for block in blocks {
        for words in shell_words(&block) {
            let at = format!("{}:{}: {}", block.file, block.line, words.join(" "));
            if let Some(example) = after(&words, "--example") {
                let exists = root().join(format!("examples/{example}.rs")).exists()
                    || root().join(format!("examples/{example}/main.rs")).exists();
                assert!(exists, "{at}: no example {example}");
            }
            if let Some(package) = after(&words, "-p") {
                assert!(root().join(package).join("Cargo.toml").exists(), "{at}: no package {package}");
            }
            if let Some(test) = after(&words, "--test") {
                assert!(
                    root().join(format!("tests/{test}.rs")).exists()
                        || root().join(format!("tests/{test}/main.rs")).exists()
                        || crate_tests_exist(test),
                    "{at}: no test {test}"
                );
            }
            if words[0] == "make" {
                for target in words[1..].iter().filter(|w| !w.contains('=')) {
                    assert!(targets.contains(target.as_str()), "{at}: the Makefile has no target {target}");
                }
            }
        }
    }
}

/// Whether a crate of the workspace has the integration test `name`.
fn crate_tests_exist(name: &str) -> bool {
    ["storehaus", "storehaus-cache", "storehaus-signals", "storehaus-derive"].iter().any(|krate| {
        root().join(krate).join(format!("tests/{name}.rs")).exists()
            || root().join(krate).join(format!("tests/{name}/main.rs")).exists()
    })
}

/// The `.rs` files of the repository (not `target/`), with their text.
fn rust_sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() && !name.starts_with('.') && name != "target" {
            rust_sources(&path, out);
        } else if name.ends_with(".rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
}

/// Every promise of the reliability guide names tests that exist: each snake_case name in
/// backticks with three or more words is a test function (or a test body the suites run on
/// each backend) or a compile-fail case.
#[test]
fn every_test_the_reliability_guide_names_exists() {
    let guide = read("docs/reliability.md");
    let mut sources = Vec::new();
    rust_sources(&root(), &mut sources);
    let names: BTreeSet<&str> = guide
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| name.matches('_').count() >= 3)
        .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .collect();
    assert!(names.len() > 50, "too few test names found in docs/reliability.md: {names:?}");
    let missing: Vec<&str> = names
        .into_iter()
        .filter(|name| {
            let function = [format!("fn {name}("), format!("fn {name}<")];
            let case = format!("{name}.rs");
            !sources.iter().any(|(path, text)| function.iter().any(|f| text.contains(f)) || path.ends_with(&case))
        })
        .collect();
    assert!(missing.is_empty(), "docs/reliability.md names tests that do not exist: {missing:?}");
}

#[test]
fn every_example_is_in_the_learning_path_and_the_makefile() {
    let mut examples = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if path.extension().is_some_and(|ext| ext == "rs") || path.join("main.rs").exists() {
            examples.insert(name);
        }
    }
    let makefile = read("Makefile");
    let listed = makefile.split("EXAMPLES := ").nth(1).expect("the Makefile lists EXAMPLES");
    let listed: BTreeSet<String> = listed
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .flat_map(|line| line.split_whitespace().filter(|w| *w != "\\").map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert_eq!(listed, examples, "the Makefile's EXAMPLES are the examples/ programs");
    let guide = read("examples/README.md");
    for example in &examples {
        assert!(
            guide.contains(&format!("cargo run --example {example}")),
            "examples/README.md does not show {example}"
        );
    }
}

#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

#[model]
#[table(name = "customers")]
pub struct Customer {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

/// The SQL blocks, each checked against what it shows.
#[tokio::test]
async fn sql_blocks_are_what_storehaus_generates_and_runs() {
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    let blocks = blocks_in("sql");
    assert!(!blocks.is_empty());
    for block in blocks {
        let at = format!("{}:{}", block.file, block.line);
        match block.file.as_str() {
            // `plan.to_string()` of the page's `User` model on an empty database.
            "docs/migrations.md" => {
                let plan = storehaus.plan::<User>().await.unwrap();
                assert_eq!(plan.to_string().trim_end(), block.text.trim_end(), "{at}");
            }
            // The EXPLAIN runs and, with sequential scans priced out, uses the tags index.
            "docs/tags.md" => {
                storehaus.auto_migrate::<Customer>(false).await.unwrap();
                let statement = block.text.lines().find(|line| line.starts_with("EXPLAIN")).expect(&at);
                let pool = storehaus_suite::pg(&storehaus);
                let mut conn = pool.acquire().await.unwrap();
                sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.unwrap();
                let plan: Vec<String> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(statement)).fetch_all(&mut *conn).await.unwrap();
                let plan = plan.join("\n");
                assert!(plan.contains("customers_tags_gin"), "{at}: the plan does not use the index:\n{plan}");
            }
            other => panic!("{at}: no check for SQL blocks in {other}; add one here"),
        }
    }
}

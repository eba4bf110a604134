//! Tests of `app.rs`.
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// The TOML of the seed README's "Configuration" section, verbatim.
const SEED_TOML: &str = r#"[database]
host = "localhost"
port = 5432
database = "storehaus"
username = "postgres"
password = "password"
min_connections = 1
max_connections = 10
connection_timeout_seconds = 30
idle_timeout_seconds = 600
max_lifetime_seconds = 3600

[cache]
redis_url = "redis://localhost:6379"
pool_size = 10
timeout_ms = 5000
max_connections = 100
connection_timeout_ms = 3000

[signal]
callback_timeout_seconds = 30
max_callbacks = 100
remove_failing_callbacks = true
max_consecutive_failures = 3
cleanup_interval_seconds = 60
auto_remove_inactive_callbacks = true
inactive_callback_threshold_seconds = 300
"#;

const NO_ENV: [(&str, &str); 0] = [];

/// A directory of its own under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("storehaus-config-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn key_and_message(err: StoreError) -> (Option<String>, String) {
    match err {
        StoreError::Config { key, message } => (key, message),
        other => panic!("expected a config error, got {other:?}"),
    }
}

fn key_of(err: StoreError) -> String {
    key_and_message(err).0.expect("the error names a key")
}

fn with_env(env: &[(&str, &str)]) -> Result<AppConfig> {
    let mut config = AppConfig::default();
    config.apply_env(env.iter().copied())?;
    config.validate()?;
    Ok(config)
}

#[test]
fn seed_readme_toml_loads() {
    let config = AppConfig::from_toml_str(SEED_TOML).unwrap();
    let database = DatabaseConfig::new(
        "localhost".into(),
        5432,
        "storehaus".into(),
        "postgres".into(),
        "password".into(),
        1,
        10,
        30,
        600,
        3600,
    );
    assert_eq!(config.database, database);
    assert_eq!(config.cache, CacheConfig::new("redis://localhost:6379", 10, 5000, 100, 3000));
    assert_eq!(config.signal, SignalConfig::default());
}

#[test]
fn example_file_parses_and_documents_the_defaults() {
    let example = include_str!("../../../../storehaus.toml.example");
    assert_eq!(AppConfig::from_toml_str(example).unwrap(), AppConfig::default());
}

/// Every key each section accepts, as its unknown-key error lists them, appears in the example
/// file, set to its default or (for `sqlite`) commented out.
#[test]
fn example_file_documents_every_key() {
    let example = include_str!("../../../../storehaus.toml.example");
    for section in ["database", "cache", "signal"] {
        let err = AppConfig::from_toml_str(&format!("[{section}]\nno_such_key = 1\n")).unwrap_err();
        let (_, message) = key_and_message(err);
        let expected = message.split("expected one of").nth(1).unwrap_or_else(|| panic!("{message}"));
        let keys: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        assert!(keys.len() >= 3, "{section}: {message}");
        let body = example.split(&format!("[{section}]")).nth(1).expect("the section is in the example");
        let body = body.split("\n[").next().unwrap();
        for key in keys {
            let documented =
                body.lines().any(|line| line.trim_start_matches(['#', ' ']).starts_with(&format!("{key} = ")));
            assert!(documented, "storehaus.toml.example does not document {section}.{key}");
        }
    }
}

#[test]
fn empty_and_partial_files_keep_defaults() {
    assert_eq!(AppConfig::from_toml_str("").unwrap(), AppConfig::default());
    let config = AppConfig::from_toml_str("[cache]\ntimeout_ms = 7\n").unwrap();
    assert_eq!(config.cache.timeout_ms, 7);
    assert_eq!(config.cache.pool_size, 10);
    assert_eq!(config.database, DatabaseConfig::default());
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let err = AppConfig::from_toml_str("[database]\nprot = 1\n").unwrap_err();
    let (key, message) = key_and_message(err);
    assert_eq!(key.as_deref(), Some("database.prot"));
    assert!(message.contains("unknown field `prot`"), "{message}");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn unknown_section_is_named() {
    let err = AppConfig::from_toml_str("[databse]\nport = 1\n").unwrap_err();
    assert_eq!(key_of(err), "databse");
}

#[test]
fn wrong_type_is_named_with_line_and_column() {
    let err = AppConfig::from_toml_str("[database]\nhost = \"h\"\nport = \"abc\"\n").unwrap_err();
    let (key, message) = key_and_message(err);
    assert_eq!(key.as_deref(), Some("database.port"));
    assert!(message.contains("line 3, column 8"), "{message}");

    let err = AppConfig::from_toml_str("[signal]\nremove_failing_callbacks = \"no\"\n").unwrap_err();
    assert_eq!(key_of(err), "signal.remove_failing_callbacks");
    let err = AppConfig::from_toml_str("[cache]\npool_size = -1\n").unwrap_err();
    assert_eq!(key_of(err), "cache.pool_size");
}

#[test]
fn wrong_type_of_password_does_not_echo_it() {
    let err = AppConfig::from_toml_str("[database]\npassword = 9876543\n").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("database.password"), "{text}");
    assert!(!text.contains("9876543"), "{text}");
}

#[test]
fn syntax_error_gives_line_and_column_without_quoting_the_file() {
    let text = "[database]\nhost = \"h\"\npassword = \"hunter2\n";
    let err = AppConfig::from_toml_str(text).unwrap_err();
    let (key, message) = key_and_message(err);
    assert_eq!(key, None);
    assert!(message.contains("line 3, column"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn out_of_range_values_are_named() {
    for (text, key) in [
        ("[database]\nmax_connections = 0", "database.max_connections"),
        ("[database]\nmin_connections = 20", "database.max_connections"),
        ("[cache]\npool_size = 0", "cache.pool_size"),
        ("[cache]\nredis_url = \"http://x\"", "cache.redis_url"),
        ("[signal]\nmax_callbacks = 0", "signal.max_callbacks"),
    ] {
        assert_eq!(key_of(AppConfig::from_toml_str(text).unwrap_err()), key, "{text}");
    }
}

#[test]
fn env_overrides_every_section() {
    let config = with_env(&[
        ("STOREHAUS_DATABASE_MAX_CONNECTIONS", "20"),
        ("STOREHAUS_DATABASE_HOST", "db.internal"),
        ("STOREHAUS_DATABASE_PASSWORD", "s3cret"),
        ("STOREHAUS_CACHE_TIMEOUT_MS", "100"),
        ("STOREHAUS_CACHE_REDIS_URL", "redis://cache:6379"),
        ("STOREHAUS_SIGNAL_REMOVE_FAILING_CALLBACKS", "false"),
        ("STOREHAUS_SIGNAL_MAX_CALLBACKS", "5"),
    ])
    .unwrap();
    assert_eq!(config.database.max_connections, 20);
    assert_eq!(config.database.host, "db.internal");
    assert_eq!(config.database.password, "s3cret");
    assert_eq!(config.cache.timeout_ms, 100);
    assert_eq!(config.cache.redis_url, "redis://cache:6379");
    assert!(!config.signal.remove_failing_callbacks);
    assert_eq!(config.signal.max_callbacks, 5);
}

#[test]
fn env_unknown_setting_names_the_variable() {
    for name in [
        "STOREHAUS_DATABASE_PROT",
        "STOREHAUS_DATABASE_URL",
        "STOREHAUS_CACHE_TTL",
        "STOREHAUS_SIGNAL_MAX_CALLBACK",
        "STOREHAUS_SIGNALS_MAX_CALLBACKS",
    ] {
        let err = with_env(&[(name, "1")]).unwrap_err();
        assert_eq!(key_of(err), name);
    }
}

#[test]
fn env_unparsable_value_names_the_variable() {
    for (name, value) in [
        ("STOREHAUS_DATABASE_PORT", "abc"),
        ("STOREHAUS_DATABASE_PORT", "70000"),
        ("STOREHAUS_CACHE_POOL_SIZE", "-3"),
        ("STOREHAUS_SIGNAL_AUTO_REMOVE_INACTIVE_CALLBACKS", "perhaps"),
    ] {
        let (key, message) = key_and_message(with_env(&[(name, value)]).unwrap_err());
        assert_eq!(key.as_deref(), Some(name));
        assert!(message.contains(value), "{message}");
    }
}

#[test]
fn env_ignores_variables_that_are_not_settings() {
    let config = with_env(&[
        ("STOREHAUS_TEST_DATABASE_URL", "postgres://elsewhere/test"),
        ("STOREHAUS_REQUIRE_SERVICES", "1"),
        ("STOREHAUS_CONFIG", "/nonexistent/storehaus.toml"),
        ("PATH", "/usr/bin"),
        ("PGHOST", "ignored"),
    ])
    .unwrap();
    assert_eq!(config, AppConfig::default());
}

#[test]
fn only_config_variables_are_read_from_the_process() {
    for name in ["DATABASE_URL", "REDIS_URL", "STOREHAUS_CONFIG", "STOREHAUS_CACHE_POOL_SIZE", "STOREHAUS_SIGNALS_X"] {
        assert!(is_config_var(name), "{name}");
    }
    for name in ["PATH", "STOREHAUS_TEST_DATABASE_URL", "STOREHAUS_REQUIRE_SERVICES", "PGPASSWORD"] {
        assert!(!is_config_var(name), "{name}");
    }
}

#[test]
fn database_url_replaces_the_connection_and_keeps_the_pool() {
    let mut config = AppConfig::from_toml_str(SEED_TOML).unwrap();
    config.database.max_connections = 42;
    config.database.idle_timeout_seconds = 5;
    config.apply_env([("DATABASE_URL", "postgres://app:p%40ss@db.internal:6000/shop")]).unwrap();
    let db = &config.database;
    assert_eq!(
        (db.host.as_str(), db.port, db.database.as_str(), db.username.as_str()),
        ("db.internal", 6000, "shop", "app")
    );
    assert_eq!(db.password, "p@ss");
    assert_eq!((db.max_connections, db.idle_timeout_seconds), (42, 5));
}

#[test]
fn database_url_query_parameters_set_the_pool() {
    let config = with_env(&[("DATABASE_URL", "postgres://u@h/d?max_connections=3")]).unwrap();
    assert_eq!(config.database.max_connections, 3);
    assert_eq!(config.database.min_connections, 1);
}

#[test]
fn storehaus_variables_win_over_database_url() {
    let config = with_env(&[
        ("STOREHAUS_DATABASE_HOST", "specific"),
        ("STOREHAUS_DATABASE_MAX_CONNECTIONS", "7"),
        ("DATABASE_URL", "postgres://u@general/d?max_connections=3"),
    ])
    .unwrap();
    assert_eq!(config.database.host, "specific");
    assert_eq!(config.database.max_connections, 7);
    assert_eq!(config.database.username, "u");
}

#[test]
fn redis_url_sets_the_cache_url() {
    let config = with_env(&[("REDIS_URL", "redis://:pw@cache:6380/1")]).unwrap();
    assert_eq!(config.cache.redis_url, "redis://:pw@cache:6380/1");
    let config =
        with_env(&[("REDIS_URL", "redis://general:6379"), ("STOREHAUS_CACHE_REDIS_URL", "redis://specific:6379")])
            .unwrap();
    assert_eq!(config.cache.redis_url, "redis://specific:6379");
}

#[test]
fn bad_urls_name_their_variable() {
    let (key, message) = key_and_message(with_env(&[("DATABASE_URL", "mysql://u:hunter2@h/d")]).unwrap_err());
    assert_eq!(key.as_deref(), Some("DATABASE_URL"));
    assert!(message.contains("`mysql`") && !message.contains("hunter2"), "{message}");

    let err = with_env(&[("DATABASE_URL", "postgres://u@h/d?pool=3")]).unwrap_err();
    let (key, message) = key_and_message(err);
    assert_eq!(key.as_deref(), Some("DATABASE_URL"));
    assert!(message.contains("`pool`"), "{message}");

    let err = with_env(&[("REDIS_URL", "memcached://h")]).unwrap_err();
    assert_eq!(key_of(err), "cache.redis_url");
}

#[test]
fn empty_url_variables_count_as_unset() {
    let config = with_env(&[("DATABASE_URL", ""), ("REDIS_URL", "")]).unwrap();
    assert_eq!(config, AppConfig::default());
}

#[test]
fn load_reads_the_file_named_by_storehaus_config() {
    let dir = TempDir::new();
    let file = dir.write("production.toml", "[database]\nhost = \"prod\"\n");
    let fallback = dir.write("storehaus.toml", "[database]\nhost = \"fallback\"\n");
    let env = [(CONFIG_VAR, file.to_str().unwrap()), ("STOREHAUS_DATABASE_PORT", "6000")];
    let config = AppConfig::load_with_env(env, &fallback).unwrap();
    assert_eq!((config.database.host.as_str(), config.database.port), ("prod", 6000));
}

#[test]
fn load_fails_when_storehaus_config_names_a_missing_file() {
    let dir = TempDir::new();
    let missing = dir.0.join("missing.toml");
    let fallback = dir.write("storehaus.toml", "");
    let err = AppConfig::load_with_env([(CONFIG_VAR, missing.to_str().unwrap())], &fallback).unwrap_err();
    let (key, message) = key_and_message(err);
    assert_eq!(key.as_deref(), Some(CONFIG_VAR));
    assert!(message.contains("missing.toml"), "{message}");
}

#[test]
fn load_falls_back_to_the_default_file_then_to_defaults() {
    let dir = TempDir::new();
    let fallback = dir.write("storehaus.toml", "[signal]\nmax_callbacks = 9\n");
    let config = AppConfig::load_with_env(NO_ENV, &fallback).unwrap();
    assert_eq!(config.signal.max_callbacks, 9);

    let absent = dir.0.join("absent.toml");
    let config = AppConfig::load_with_env(NO_ENV, &absent).unwrap();
    assert_eq!(config, AppConfig::default());

    let config = AppConfig::load_with_env([(CONFIG_VAR, "")], &absent).unwrap();
    assert_eq!(config, AppConfig::default());
}

#[test]
fn load_validates_after_overrides() {
    let dir = TempDir::new();
    let absent = dir.0.join("absent.toml");
    let env = [("STOREHAUS_DATABASE_MAX_CONNECTIONS", "0")];
    let err = AppConfig::load_with_env(env, &absent).unwrap_err();
    assert_eq!(key_of(err), "database.max_connections");
}

#[test]
fn from_file_applies_env_and_names_the_file_in_errors() {
    let dir = TempDir::new();
    let file = dir.write("app.toml", SEED_TOML);
    let config = AppConfig::from_file_with_env(&file, [("STOREHAUS_CACHE_POOL_SIZE", "3")]).unwrap();
    assert_eq!(config.cache.pool_size, 3);
    assert_eq!(config.database.password, "password");

    let bad = dir.write("bad.toml", "[cache]\n\ntimeout_ms = \"soon\"\n");
    let (key, message) = key_and_message(AppConfig::from_file_with_env(&bad, NO_ENV).unwrap_err());
    assert_eq!(key.as_deref(), Some("cache.timeout_ms"));
    assert!(message.contains("bad.toml, line 3, column 14"), "{message}");

    let err = AppConfig::from_file_with_env(&dir.0.join("nope.toml"), NO_ENV).unwrap_err();
    assert!(err.to_string().contains("nope.toml"), "{err}");
}

#[test]
fn debug_hides_every_password() {
    let mut config = AppConfig::from_toml_str(SEED_TOML).unwrap();
    config.database.password = "db-hunter2".into();
    config.cache.redis_url = "redis://default:redis-hunter2@cache:6379/0".into();
    for debug in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
    }
}

#[test]
fn no_printed_form_shows_a_password_of_any_url_form() {
    for redis in [
        "redis://default:hunter2@cache:6379/0",
        "rediss://:hunter2@cache:6380/0",
        "redis+unix:///run/redis.sock?db=1&pass=hunter2",
        "redis+unix:///run/redis.sock?password=hunter2",
        "unix:///run/redis.sock?pass=hunter2",
        "redis://cache/0?password=hunter2",
    ] {
        let config = with_env(&[("REDIS_URL", redis), ("DATABASE_URL", "postgres://app:hunter2@db/shop")]).unwrap();
        for printed in
            [format!("{config:?}"), format!("{config:#?}"), config.database.to_string(), config.cache.redacted_url()]
        {
            assert!(!printed.contains("hunter2"), "{printed}");
        }
    }
    // PostgreSQL also takes a password as a query parameter; StoreHaus refuses the URL without
    // quoting it.
    let (key, message) =
        key_and_message(with_env(&[("DATABASE_URL", "postgres://app@db/shop?password=hunter2")]).unwrap_err());
    assert_eq!(key.as_deref(), Some("DATABASE_URL"));
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn sub_crate_errors_convert_to_config_errors() {
    let err: StoreError = CacheConfig { pool_size: 0, ..CacheConfig::default() }.validate().unwrap_err().into();
    assert_eq!(err.to_string(), "configuration error at `cache.pool_size`: must be at least 1");
}

#[test]
fn toml_sqlite_key_selects_sqlite() {
    let config = AppConfig::from_toml_str("[database]\nsqlite = \"app.db\"\nmax_connections = 1\n").unwrap();
    assert_eq!(config.database, DatabaseConfig { max_connections: 1, ..DatabaseConfig::embedded("app.db") });

    let config = AppConfig::from_toml_str("[database]\nsqlite = \":memory:\"\nhost = \"\"\n").unwrap();
    assert_eq!(config.database.sqlite.as_deref(), Some(":memory:"));
}

#[test]
fn toml_sqlite_key_is_validated() {
    for (text, key) in [
        ("[database]\nsqlite = \"\"", "database.sqlite"),
        ("[database]\nsqlite = \"a\\u0000b\"", "database.sqlite"),
        ("[database]\nsqlite = 3", "database.sqlite"),
        ("[database]\nsqlite = \"app.db\"\nmax_connections = 0", "database.max_connections"),
    ] {
        assert_eq!(key_of(AppConfig::from_toml_str(text).unwrap_err()), key, "{text}");
    }
}

#[test]
fn database_url_selects_sqlite_and_keeps_the_pool() {
    let config = with_env(&[("DATABASE_URL", "sqlite::memory:")]).unwrap();
    assert_eq!(config.database, DatabaseConfig::embedded(":memory:"));

    let mut config = AppConfig::from_toml_str(SEED_TOML).unwrap();
    config.database.max_connections = 42;
    config.apply_env([("DATABASE_URL", "sqlite:///var/lib/app.db?idle_timeout_seconds=5")]).unwrap();
    config.validate().unwrap();
    let db = &config.database;
    assert_eq!(db.sqlite.as_deref(), Some("/var/lib/app.db"));
    assert_eq!((db.max_connections, db.idle_timeout_seconds), (42, 5));
}

#[test]
fn postgres_database_url_replaces_sqlite_from_the_file() {
    let dir = TempDir::new();
    let fallback = dir.write("storehaus.toml", "[database]\nsqlite = \"app.db\"\n");
    let config = AppConfig::load_with_env(NO_ENV, &fallback).unwrap();
    assert_eq!(config.database, DatabaseConfig::embedded("app.db"));

    let env = [("DATABASE_URL", "postgres://u@db.internal/shop")];
    let config = AppConfig::load_with_env(env, &fallback).unwrap();
    assert_eq!(config.database.sqlite, None);
    assert_eq!(config.database.host, "db.internal");
}

#[test]
fn env_sqlite_override_wins_over_database_url() {
    let config = with_env(&[
        ("DATABASE_URL", "postgres://u@general/d"),
        ("STOREHAUS_DATABASE_SQLITE", "specific.db"),
        ("STOREHAUS_DATABASE_MAX_CONNECTIONS", "1"),
    ])
    .unwrap();
    assert_eq!(config.database.sqlite.as_deref(), Some("specific.db"));
    assert_eq!(config.database.max_connections, 1);

    let err = with_env(&[("STOREHAUS_DATABASE_SQLITE", "")]).unwrap_err();
    assert_eq!(key_of(err), "database.sqlite");
}

#[test]
fn bad_sqlite_database_url_names_the_variable() {
    for url in ["sqlite://", "sqlite://app.db?journal_mode=wal"] {
        let (key, message) = key_and_message(with_env(&[("DATABASE_URL", url)]).unwrap_err());
        assert_eq!(key.as_deref(), Some("DATABASE_URL"), "{url}");
        assert!(!message.contains("app.db"), "{message}");
    }
}

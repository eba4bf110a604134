//! [`AppConfig`]: every section of `storehaus.toml`, loaded with environment overrides.

use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;

use super::{CacheConfig, DatabaseConfig, SignalConfig};
use crate::error::{Result, StoreError};

/// Names the file to load instead of `./storehaus.toml`.
const CONFIG_VAR: &str = "STOREHAUS_CONFIG";
/// The file [`AppConfig::load`] reads when `STOREHAUS_CONFIG` is not set.
const DEFAULT_FILE: &str = "storehaus.toml";
/// A full connection URL, as most hosting platforms provide it.
const DATABASE_URL_VAR: &str = "DATABASE_URL";
/// The Redis URL, as most hosting platforms provide it.
const REDIS_URL_VAR: &str = "REDIS_URL";
/// Prefix of the per-setting overrides, `STOREHAUS_<SECTION>_<KEY>`.
const PREFIX: &str = "STOREHAUS_";

/// The sections of `storehaus.toml`.
#[derive(Clone, Copy)]
enum Section {
    Database,
    Cache,
    Signal,
}

impl Section {
    const ALL: [(&'static str, Section); 3] =
        [("DATABASE_", Section::Database), ("CACHE_", Section::Cache), ("SIGNAL_", Section::Signal)];
}

/// The whole configuration of an application: database, cache and signals.
///
/// [`AppConfig::load`] reads it in three steps:
///
/// 1. the TOML file named by `$STOREHAUS_CONFIG` (which must exist), else `./storehaus.toml`
///    if there is one, else the defaults; a section or key the file leaves out keeps its default;
/// 2. environment overrides, in this order, later ones winning:
///    - `DATABASE_URL` replaces host, port, database, user and password
///      ([`DatabaseConfig::from_url`] syntax); its query parameters, if any, set pool settings,
///      which otherwise stay as the file has them;
///    - `REDIS_URL` sets `cache.redis_url`;
///    - `STOREHAUS_<SECTION>_<KEY>` sets one setting, such as `STOREHAUS_DATABASE_MAX_CONNECTIONS=20`,
///      `STOREHAUS_CACHE_TIMEOUT_MS=100` or `STOREHAUS_SIGNAL_REMOVE_FAILING_CALLBACKS=false`;
///
///    an empty `DATABASE_URL`, `REDIS_URL` or `STOREHAUS_CONFIG` counts as unset;
/// 3. validation of every section.
///
/// No `.env` file is read. Errors name the setting (`database.port`), the variable
/// (`STOREHAUS_DATABASE_PORT`) or, for a file, the key with its line and column.
///
/// `Debug` hides the database password and the password of the Redis URL.
///
/// ```no_run
/// use storehaus::prelude::*;
///
/// # async fn run() -> Result<(), StoreError> {
/// let config = AppConfig::load()?;
/// let storehaus = StoreHaus::new(config.database).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// The `[database]` section.
    pub database: DatabaseConfig,
    /// The `[cache]` section.
    pub cache: CacheConfig,
    /// The `[signal]` section.
    pub signal: SignalConfig,
}

impl AppConfig {
    /// Loads `$STOREHAUS_CONFIG` or `./storehaus.toml` (or the defaults when neither is there),
    /// applies the environment overrides and validates; see [`AppConfig`].
    pub fn load() -> Result<Self> {
        Self::load_with_env(process_env()?, Path::new(DEFAULT_FILE))
    }

    /// Loads the TOML file at `path`, which must exist, applies the environment overrides and
    /// validates.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_file_with_env(path.as_ref(), process_env()?)
    }

    /// Parses TOML text and validates it, without looking at the environment.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let config = parse_toml(text, None)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every section; the error names the first setting that is wrong.
    pub fn validate(&self) -> Result<()> {
        self.database.validate()?;
        self.cache.validate()?;
        self.signal.validate()?;
        Ok(())
    }

    /// [`AppConfig::load`] with the environment given as pairs and the fallback file given as a
    /// path, so it can be exercised without touching the process's environment or directory.
    pub(crate) fn load_with_env<I, K, V>(env: I, default_file: &Path) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let mut config = match lookup(&env, CONFIG_VAR) {
            Some(path) => read_file(Path::new(path)).map_err(|err| match err {
                FileError::Io(e) => StoreError::config(CONFIG_VAR, format!("cannot read config file `{path}`: {e}")),
                FileError::Invalid(e) => e,
            })?,
            None => match read_file(default_file) {
                Ok(config) => config,
                Err(FileError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Self::default(),
                Err(err) => return Err(err.into_store_error(default_file)),
            },
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// [`AppConfig::from_file`] with the environment given as pairs.
    pub(crate) fn from_file_with_env<I, K, V>(path: &Path, env: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut config = read_file(path).map_err(|err| err.into_store_error(path))?;
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Applies the overrides found among `env`; variables that are not configuration are
    /// ignored. Does not validate.
    pub(crate) fn apply_env<I, K, V>(&mut self, env: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();

        if let Some(url) = lookup(&env, DATABASE_URL_VAR) {
            self.database.apply_url(url).map_err(|message| StoreError::config(DATABASE_URL_VAR, message))?;
        }
        if let Some(url) = lookup(&env, REDIS_URL_VAR) {
            self.cache.redis_url = url.to_owned();
        }

        // Sorted so that, with several bad variables, the same one is reported every time.
        let mut overrides: Vec<(&str, &str)> = env
            .iter()
            .filter(|(name, _)| name.starts_with(PREFIX))
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        overrides.sort_by_key(|&(name, _)| name);
        for (name, value) in overrides {
            self.apply_override(name, value)?;
        }
        Ok(())
    }

    fn apply_override(&mut self, name: &str, value: &str) -> Result<()> {
        let rest = &name[PREFIX.len()..];
        let Some((section, field)) =
            Section::ALL.iter().find_map(|&(prefix, section)| rest.strip_prefix(prefix).map(|field| (section, field)))
        else {
            if rest.starts_with("SIGNALS_") {
                return Err(StoreError::config(
                    name,
                    "unknown variable; the section is `signal`, as in STOREHAUS_SIGNAL_*",
                ));
            }
            // Other STOREHAUS_* variables (STOREHAUS_CONFIG, test-suite switches) are not settings.
            return Ok(());
        };
        let field = field.to_ascii_lowercase();
        let outcome = match section {
            Section::Database => self.database.set_field(&field, value),
            Section::Cache => self.cache.set_from_str(&field, value).map_err(|e| e.message),
            Section::Signal => self.signal.set_from_str(&field, value).map_err(|e| e.message),
        };
        outcome.map_err(|message| StoreError::config(name, message))
    }
}

/// The last value of `name`, unless it is empty.
fn lookup<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty())
}

/// The configuration variables of the process environment.
///
/// Reads `vars_os` because `vars` panics on any non-UTF-8 variable, even an unrelated one.
fn process_env() -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if !is_config_var(name) {
            continue;
        }
        let value = value.into_string().map_err(|_| StoreError::config(name, "value is not valid UTF-8"))?;
        env.push((name.to_owned(), value));
    }
    Ok(env)
}

/// Whether `name` is a variable [`AppConfig::load`] reads; other `STOREHAUS_*` variables, such as
/// test-suite switches, are left alone.
fn is_config_var(name: &str) -> bool {
    if [CONFIG_VAR, DATABASE_URL_VAR, REDIS_URL_VAR].contains(&name) {
        return true;
    }
    name.strip_prefix(PREFIX).is_some_and(|rest| {
        Section::ALL.iter().any(|(prefix, _)| rest.starts_with(prefix)) || rest.starts_with("SIGNALS_")
    })
}

enum FileError {
    Io(io::Error),
    Invalid(StoreError),
}

impl FileError {
    fn into_store_error(self, path: &Path) -> StoreError {
        match self {
            FileError::Io(e) => {
                StoreError::Config { key: None, message: format!("cannot read config file `{}`: {e}", path.display()) }
            }
            FileError::Invalid(e) => e,
        }
    }
}

fn read_file(path: &Path) -> Result<AppConfig, FileError> {
    let text = fs::read_to_string(path).map_err(FileError::Io)?;
    parse_toml(&text, Some(path)).map_err(FileError::Invalid)
}

/// Parses TOML into an [`AppConfig`] without validating it.
///
/// Errors name the dotted key and the line and column, but never quote the text of the file:
/// the snippet the TOML parser would print may be the line holding the password.
fn parse_toml(text: &str, file: Option<&Path>) -> Result<AppConfig> {
    serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|err| {
        let path = err.path().to_string();
        let key = (path != ".").then_some(path);
        let inner = err.into_inner();
        let mut message = if key.as_deref() == Some("database.password") {
            "expected a string".to_owned()
        } else {
            inner.message().trim().replace('\n', "; ")
        };
        let location = inner.span().and_then(|span| line_and_column(text, span.start));
        match (file, location) {
            (Some(file), Some((line, column))) => {
                message.push_str(&format!(" ({}, line {line}, column {column})", file.display()))
            }
            (Some(file), None) => message.push_str(&format!(" ({})", file.display())),
            (None, Some((line, column))) => {
                message.push_str(&format!(" (line {line}, column {column})"));
            }
            (None, None) => {}
        }
        StoreError::Config { key, message }
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> Option<(usize, usize)> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    Some((line, column))
}

#[cfg(test)]
mod tests {
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
        let example = include_str!("../../../storehaus.toml.example");
        assert_eq!(AppConfig::from_toml_str(example).unwrap(), AppConfig::default());
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
        for name in
            ["DATABASE_URL", "REDIS_URL", "STOREHAUS_CONFIG", "STOREHAUS_CACHE_POOL_SIZE", "STOREHAUS_SIGNALS_X"]
        {
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
    fn sub_crate_errors_convert_to_config_errors() {
        let err: StoreError = CacheConfig { pool_size: 0, ..CacheConfig::default() }.validate().unwrap_err().into();
        assert_eq!(err.to_string(), "configuration error at `cache.pool_size`: must be at least 1");
    }
}

//! [`AppConfig`]: every section of `storehaus.toml`, loaded with environment overrides.

use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;

use super::{CacheConfig, DatabaseConfig, ResilienceConfig, SignalConfig};
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
    Resilience,
}

impl Section {
    const ALL: [(&'static str, Section); 4] = [
        ("DATABASE_", Section::Database),
        ("CACHE_", Section::Cache),
        ("SIGNAL_", Section::Signal),
        ("RESILIENCE_", Section::Resilience),
    ];
}

/// The whole configuration of an application: database, cache, signals and resilience.
///
/// [`AppConfig::load`] reads it in three steps:
///
/// 1. the TOML file named by `$STOREHAUS_CONFIG` (which must exist), else `./storehaus.toml`
///    if there is one, else the defaults; a section or key the file leaves out keeps its default;
/// 2. environment overrides, in this order, later ones winning:
///    - `DATABASE_URL` replaces host, port, database, user and password and clears
///      `database.sqlite`, or, for a SQLite URL such as `sqlite://app.db` or `sqlite::memory:`,
///      sets `database.sqlite` ([`DatabaseConfig::from_url`] syntax); its query parameters, if
///      any, set pool settings, which otherwise stay as the file has them;
///    - `REDIS_URL` sets `cache.redis_url`;
///    - `STOREHAUS_<SECTION>_<KEY>` sets one setting, such as `STOREHAUS_DATABASE_MAX_CONNECTIONS=20`,
///      `STOREHAUS_DATABASE_SQLITE=app.db`, `STOREHAUS_CACHE_TIMEOUT_MS=100` or
///      `STOREHAUS_SIGNAL_REMOVE_FAILING_CALLBACKS=false`, or `STOREHAUS_RESILIENCE_RETRY_MAX_ATTEMPTS=1`
///      (`[resilience]` takes its scalar settings flattened: `retry_*`, `cache_*`, `signals_*`,
///      `rate_limits_strategy`, `rate_limits_shared`, `rate_limits_namespace`);
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
    /// The `[resilience]` section. Loading hands its retry policy to `database.retry` and its
    /// breakers and strategies to `cache` and `signal`.
    pub resilience: ResilienceConfig,
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
        let mut config = parse_toml(text, None)?;
        config.hand_out_resilience();
        config.validate()?;
        Ok(config)
    }

    /// Checks every section; the error names the first setting that is wrong.
    pub fn validate(&self) -> Result<()> {
        // First: the breakers and strategies of `cache` and `signal` come from `[resilience]`,
        // and an error should name the setting the user wrote.
        self.resilience.validate()?;
        self.database.validate()?;
        self.cache.validate()?;
        self.signal.validate()?;
        Ok(())
    }

    /// Copies the `[resilience]` settings into the sections whose components apply them.
    fn hand_out_resilience(&mut self) {
        let resilience = &self.resilience;
        self.database.retry = resilience.retry.policy();
        self.cache.breaker = resilience.cache.breaker();
        self.cache.strategy = resilience.cache.strategy;
        self.signal.breaker = resilience.signals.breaker();
        self.signal.strategy = resilience.signals.strategy;
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
        config.hand_out_resilience();
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
        config.hand_out_resilience();
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
            Section::Resilience => self.resilience.set_from_str(&field, value),
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
mod tests;

//! [`DatabaseConfig`]: where the database is and how the connection pool behaves.

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv6Addr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

const DEFAULT_PORT: u16 = 5432;

/// Names of the settings [`DatabaseConfig::new`] takes, in the order of the `[database]` section;
/// [`SQLITE_FIELD`] follows them.
const FIELDS: &[&str] = &[
    "host",
    "port",
    "database",
    "username",
    "password",
    "min_connections",
    "max_connections",
    "connection_timeout_seconds",
    "idle_timeout_seconds",
    "max_lifetime_seconds",
];

/// Name of the setting that selects the embedded SQLite database, [`DatabaseConfig::sqlite`].
const SQLITE_FIELD: &str = "sqlite";

/// The path of [`DatabaseConfig::sqlite`] that means a database in memory.
const MEMORY: &str = ":memory:";

/// The URL of a SQLite database in memory, as sqlx writes it.
const MEMORY_URL: &str = "sqlite::memory:";

/// The URL forms [`DatabaseConfig::from_url`] reads, for error messages.
const EXPECTED_URLS: &str = "postgres://user:password@host:port/database, sqlite://path or sqlite::memory:";

/// Query parameters a database URL may carry, with the setting each one sets.
const URL_PARAMS: &[(&str, &str)] = &[
    ("min_connections", "min_connections"),
    ("max_connections", "max_connections"),
    ("connect_timeout", "connection_timeout_seconds"),
    ("connection_timeout_seconds", "connection_timeout_seconds"),
    ("idle_timeout_seconds", "idle_timeout_seconds"),
    ("max_lifetime_seconds", "max_lifetime_seconds"),
];

/// Connection settings of the pool: the `[database]` section of `storehaus.toml`.
///
/// Build it with [`DatabaseConfig::new`] (every value in order), [`DatabaseConfig::from_url`],
/// [`DatabaseConfig::builder`] or [`Default`] plus struct update syntax; for the embedded SQLite
/// database, with [`DatabaseConfig::embedded`] or `from_url("sqlite://app.db")`.
///
/// The password never shows: `Debug` prints `"***"` in its place, `Display` prints
/// [`redacted_url`](DatabaseConfig::redacted_url), and `Serialize` leaves it out.
///
/// ```
/// use storehaus::DatabaseConfig;
///
/// let config = DatabaseConfig::from_url("postgres://app:p%40ss@db.internal/shop?max_connections=20")?;
/// assert_eq!((config.password.as_str(), config.max_connections), ("p@ss", 20));
/// assert_eq!(config.to_string(), "postgres://app:***@db.internal:5432/shop?max_connections=20");
///
/// let config = DatabaseConfig::from_url("sqlite://data/app.db")?;
/// assert_eq!(config.sqlite.as_deref(), Some("data/app.db"));
/// # Ok::<(), storehaus::StoreError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Host name or IP address of the server.
    pub host: String,
    /// TCP port of the server.
    pub port: u16,
    /// Name of the database to connect to.
    pub database: String,
    /// Role to log in as.
    pub username: String,
    /// Password of `username`; may be empty when the server does not ask for one.
    #[serde(skip_serializing)]
    pub password: String,
    /// Connections the pool keeps open even when idle.
    pub min_connections: u32,
    /// Upper bound of connections open at once.
    pub max_connections: u32,
    /// Upper bound of waiting for a connection, in seconds.
    pub connection_timeout_seconds: u64,
    /// Idle time after which a connection above `min_connections` is closed, in seconds;
    /// `0` keeps idle connections open.
    pub idle_timeout_seconds: u64,
    /// Age after which a connection is replaced, in seconds; `0` never replaces it.
    pub max_lifetime_seconds: u64,
    /// The embedded SQLite database to use instead of a PostgreSQL server: a file path, or
    /// `:memory:` for a database that lives as long as the pool. `None` means PostgreSQL, and
    /// then the server settings above apply. [`DatabaseConfig::from_url`] sets it from
    /// `sqlite://path` and `sqlite::memory:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlite: Option<String>,
    /// How store reads outside a transaction, and transactions run by
    /// [`StoreHaus::transaction_retrying`](crate::StoreHaus::transaction_retrying), are retried
    /// after a transient error. Set from `[resilience.retry]` by [`AppConfig`](crate::AppConfig);
    /// `RetryPolicy::disabled()` turns retries off.
    #[serde(skip)]
    pub retry: crate::resilience::RetryPolicy,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            host: "localhost".to_owned(),
            port: DEFAULT_PORT,
            database: "storehaus".to_owned(),
            username: "postgres".to_owned(),
            password: String::new(),
            min_connections: 1,
            max_connections: 10,
            connection_timeout_seconds: 30,
            idle_timeout_seconds: 600,
            max_lifetime_seconds: 3600,
            sqlite: None,
            retry: crate::resilience::RetryPolicy::default(),
        }
    }
}

impl DatabaseConfig {
    /// Settings from their values in the order of the `[database]` section. Not validated;
    /// [`StoreHaus::new`](crate::StoreHaus::new) and [`DatabaseConfig::validate`] check them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        host: String,
        port: u16,
        database: String,
        username: String,
        password: String,
        min_connections: u32,
        max_connections: u32,
        connection_timeout_seconds: u64,
        idle_timeout_seconds: u64,
        max_lifetime_seconds: u64,
    ) -> Self {
        DatabaseConfig {
            host,
            port,
            database,
            username,
            password,
            min_connections,
            max_connections,
            connection_timeout_seconds,
            idle_timeout_seconds,
            max_lifetime_seconds,
            sqlite: None,
            retry: crate::resilience::RetryPolicy::default(),
        }
    }

    /// SQLite at `path` (`":memory:"` for a database in memory) with the default pool settings.
    /// Not validated, like [`DatabaseConfig::new`].
    ///
    /// ```
    /// use storehaus::DatabaseConfig;
    ///
    /// let config = DatabaseConfig::embedded("app.db");
    /// assert_eq!(config.to_url(), "sqlite://app.db");
    /// assert_eq!(DatabaseConfig::embedded(":memory:").to_url(), "sqlite::memory:");
    /// ```
    pub fn embedded(path: impl Into<String>) -> Self {
        DatabaseConfig { sqlite: Some(path.into()), ..Default::default() }
    }

    /// A builder starting from the defaults.
    pub fn builder() -> DatabaseConfigBuilder {
        DatabaseConfigBuilder::default()
    }

    /// Settings from a `postgres://`, `postgresql://` or `sqlite:` URL, validated:
    /// `postgres://user:password@host:port/database?max_connections=20`.
    ///
    /// User, password, host and database are percent-decoded, so a password holding `@` or `:`
    /// is written `%40` or `%3A`. A missing port is 5432, a missing user `postgres`, a missing
    /// database the user's name (as `psql` does), a missing password empty. The pool settings
    /// keep their defaults unless given as query parameters: `min_connections`,
    /// `max_connections`, `connect_timeout` (or `connection_timeout_seconds`),
    /// `idle_timeout_seconds` and `max_lifetime_seconds`. Any other parameter is an error
    /// rather than silently ignored, since one such as `sslmode` may change security.
    ///
    /// A SQLite URL sets [`sqlite`](DatabaseConfig::sqlite), in the forms sqlx reads:
    /// `sqlite::memory:` for a database in memory, `sqlite://data/app.db` or `sqlite:app.db` for
    /// a path relative to the working directory, `sqlite:///var/lib/app.db` for an absolute one.
    /// The path is percent-decoded; the same pool query parameters are allowed, and no others.
    ///
    /// ```
    /// use storehaus::DatabaseConfig;
    ///
    /// let config = DatabaseConfig::from_url("sqlite:///var/lib/app.db?max_connections=1")?;
    /// assert_eq!((config.sqlite.as_deref(), config.max_connections), (Some("/var/lib/app.db"), 1));
    /// assert_eq!(DatabaseConfig::from_url("sqlite::memory:")?.sqlite.as_deref(), Some(":memory:"));
    /// # Ok::<(), storehaus::StoreError>(())
    /// ```
    pub fn from_url(url: &str) -> Result<Self> {
        let mut config = DatabaseConfig::default();
        config.apply_url(url).map_err(|message| StoreError::config("url", message))?;
        config.validate()?;
        Ok(config)
    }

    /// This configuration as a URL that [`DatabaseConfig::from_url`] reads back unchanged.
    ///
    /// User, password, host and database are percent-encoded; pool settings that differ from the
    /// defaults become query parameters. The URL holds the password: log
    /// [`redacted_url`](DatabaseConfig::redacted_url) instead.
    ///
    /// With [`sqlite`](DatabaseConfig::sqlite) set it is `sqlite://path` (the path
    /// percent-encoded but for `/` and `:`, so an absolute path gives `sqlite:///…`) or
    /// `sqlite::memory:`, and the PostgreSQL settings are left out.
    pub fn to_url(&self) -> String {
        self.format_url(&encode_component(&self.password))
    }

    /// [`to_url`](DatabaseConfig::to_url) with the password replaced by `***`, for logs.
    pub fn redacted_url(&self) -> String {
        self.format_url(if self.password.is_empty() { "" } else { "***" })
    }

    /// Checks every setting; the error names the first one that is wrong, such as
    /// `database.max_connections`.
    ///
    /// With [`sqlite`](DatabaseConfig::sqlite) set, its path must be neither empty nor hold NUL
    /// bytes, and the PostgreSQL settings (host, port, database, user and password) are not
    /// checked, since they are not used; the pool settings are.
    pub fn validate(&self) -> Result<()> {
        match &self.sqlite {
            Some(path) => {
                if path.contains('\0') {
                    return Err(invalid(SQLITE_FIELD, "must not contain NUL bytes"));
                }
                if path.is_empty() {
                    return Err(invalid(SQLITE_FIELD, "must not be empty; use \":memory:\" for a database in memory"));
                }
            }
            None => self.validate_server()?,
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if self.min_connections > self.max_connections {
            return Err(invalid(
                "max_connections",
                format!("{} is less than min_connections ({})", self.max_connections, self.min_connections),
            ));
        }
        if self.connection_timeout_seconds == 0 {
            return Err(invalid("connection_timeout_seconds", "must be at least 1"));
        }
        Ok(())
    }

    /// The checks of the PostgreSQL settings.
    fn validate_server(&self) -> Result<()> {
        let text = [
            ("host", &self.host),
            ("database", &self.database),
            ("username", &self.username),
            ("password", &self.password),
        ];
        for (field, value) in text {
            if value.contains('\0') {
                return Err(invalid(field, "must not contain NUL bytes"));
            }
            if value.is_empty() && field != "password" {
                return Err(invalid(field, "must not be empty"));
            }
        }
        if self.port == 0 {
            return Err(invalid("port", "must be between 1 and 65535"));
        }
        Ok(())
    }

    /// `connection_timeout_seconds` as a [`Duration`].
    pub fn connection_timeout(&self) -> Duration {
        Duration::from_secs(self.connection_timeout_seconds)
    }

    /// `idle_timeout_seconds` as a [`Duration`].
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }

    /// `max_lifetime_seconds` as a [`Duration`].
    pub fn max_lifetime(&self) -> Duration {
        Duration::from_secs(self.max_lifetime_seconds)
    }

    /// Replaces the connection settings with those of `url` and applies its query parameters to
    /// the pool settings, which otherwise stay as they are. Does not validate.
    ///
    /// A SQLite URL sets [`sqlite`](DatabaseConfig::sqlite) and leaves the PostgreSQL settings
    /// alone (they are not used); a PostgreSQL URL clears `sqlite`.
    ///
    /// Messages never quote the URL, which holds the password.
    pub(crate) fn apply_url(&mut self, url: &str) -> Result<(), String> {
        if let Some(rest) = strip_prefix_ignore_case(url, "sqlite:") {
            return self.apply_sqlite_url(rest);
        }
        let parsed = url::Url::parse(url).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => format!("not a URL; expected {EXPECTED_URLS}"),
            e => format!("not a valid database URL: {e}"),
        })?;
        let scheme = parsed.scheme();
        if scheme != "postgres" && scheme != "postgresql" {
            return Err(format!(
                "unsupported scheme `{scheme}`; expected postgres://, postgresql://, sqlite://path or sqlite::memory:"
            ));
        }
        if parsed.fragment().is_some() {
            return Err("unexpected `#` in database URL; percent-encode it as %23".to_owned());
        }

        let host = match parsed.host() {
            Some(url::Host::Domain(domain)) => decode_component(domain, "host")?,
            Some(url::Host::Ipv4(addr)) => addr.to_string(),
            Some(url::Host::Ipv6(addr)) => addr.to_string(),
            None => String::new(),
        };
        let username = decode_component(parsed.username(), "user name")?;
        let password = decode_component(parsed.password().unwrap_or_default(), "password")?;
        let path = parsed.path().strip_prefix('/').unwrap_or(parsed.path());
        if path.contains('/') {
            return Err("database name in the URL path must be one segment; \
                 percent-encode `/` as %2F"
                .to_owned());
        }
        let database = decode_component(path, "database name")?;

        let defaults = DatabaseConfig::default();
        self.host = if host.is_empty() { defaults.host } else { host };
        self.port = parsed.port().unwrap_or(DEFAULT_PORT);
        self.username = if username.is_empty() { defaults.username } else { username };
        self.database = if database.is_empty() { self.username.clone() } else { database };
        self.password = password;
        self.sqlite = None;
        self.apply_query(parsed.query_pairs())
    }

    /// [`apply_url`](DatabaseConfig::apply_url) for a SQLite URL, given what follows its
    /// `sqlite:`. Parsed by hand: `url::Url` would take the `data` of `sqlite://data/app.db` for
    /// a host.
    fn apply_sqlite_url(&mut self, rest: &str) -> Result<(), String> {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.contains('#') || query.contains('#') {
            return Err("unexpected `#` in database URL; percent-encode it as %23".to_owned());
        }
        let path = path.strip_prefix("//").unwrap_or(path);
        let path = decode_component(path, "SQLite path")?;
        if path.is_empty() {
            return Err("the SQLite URL has no path; expected sqlite://path or sqlite::memory:".to_owned());
        }
        self.sqlite = Some(path);
        self.apply_query(url::form_urlencoded::parse(query.as_bytes()))
    }

    /// Sets the pool settings from the query parameters of a URL.
    fn apply_query<'a>(&mut self, pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Result<(), String> {
        let mut seen: Vec<&str> = Vec::new();
        for (param, value) in pairs {
            let Some(&(_, field)) = URL_PARAMS.iter().find(|(name, _)| *name == param) else {
                let known: Vec<&str> = URL_PARAMS.iter().map(|(name, _)| *name).collect();
                return Err(format!("unknown query parameter `{param}`; expected one of {}", known.join(", ")));
            };
            if seen.contains(&field) {
                return Err(format!("query parameter `{param}` sets `{field}` more than once"));
            }
            seen.push(field);
            self.set_field(field, &value).map_err(|message| format!("query parameter `{param}`: {message}"))?;
        }
        Ok(())
    }

    /// Sets the setting named `field` (as in the `[database]` section) from its text form.
    pub(crate) fn set_field(&mut self, field: &str, value: &str) -> Result<(), String> {
        match field {
            "host" => self.host = value.to_owned(),
            "port" => self.port = parse_number(value)?,
            "database" => self.database = value.to_owned(),
            "username" => self.username = value.to_owned(),
            "password" => self.password = value.to_owned(),
            "min_connections" => self.min_connections = parse_number(value)?,
            "max_connections" => self.max_connections = parse_number(value)?,
            "connection_timeout_seconds" => self.connection_timeout_seconds = parse_number(value)?,
            "idle_timeout_seconds" => self.idle_timeout_seconds = parse_number(value)?,
            "max_lifetime_seconds" => self.max_lifetime_seconds = parse_number(value)?,
            SQLITE_FIELD => self.sqlite = Some(value.to_owned()),
            "url" => return Err("unknown setting; a connection URL goes in DATABASE_URL".to_owned()),
            _ => return Err(format!("unknown setting; expected one of {}, {SQLITE_FIELD}", FIELDS.join(", "))),
        }
        Ok(())
    }

    fn format_url(&self, password: &str) -> String {
        let mut url = match self.sqlite.as_deref() {
            Some(MEMORY) => MEMORY_URL.to_owned(),
            Some(path) => format!("sqlite://{}", encode_path(path)),
            None => self.format_server_url(password),
        };
        let defaults = DatabaseConfig::default();
        let pool = [
            ("min_connections", u64::from(self.min_connections), u64::from(defaults.min_connections)),
            ("max_connections", u64::from(self.max_connections), u64::from(defaults.max_connections)),
            ("connection_timeout_seconds", self.connection_timeout_seconds, defaults.connection_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds, defaults.idle_timeout_seconds),
            ("max_lifetime_seconds", self.max_lifetime_seconds, defaults.max_lifetime_seconds),
        ];
        let mut separator = '?';
        for (name, value, default) in pool {
            if value != default {
                url.push(separator);
                url.push_str(name);
                url.push('=');
                url.push_str(&value.to_string());
                separator = '&';
            }
        }
        url
    }

    /// The `postgres://` part of [`format_url`](DatabaseConfig::format_url), before the query.
    fn format_server_url(&self, password: &str) -> String {
        let mut url = String::from("postgres://");
        if !self.username.is_empty() || !password.is_empty() {
            url.push_str(&encode_component(&self.username));
            if !password.is_empty() {
                url.push(':');
                url.push_str(password);
            }
            url.push('@');
        }
        if self.host.parse::<Ipv6Addr>().is_ok() {
            url.push('[');
            url.push_str(&self.host);
            url.push(']');
        } else {
            url.push_str(&encode_component(&self.host));
        }
        url.push(':');
        url.push_str(&self.port.to_string());
        url.push('/');
        url.push_str(&encode_component(&self.database));
        url
    }
}

impl fmt::Display for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted_url())
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &Redacted(&self.password))
            .field("min_connections", &self.min_connections)
            .field("max_connections", &self.max_connections)
            .field("connection_timeout_seconds", &self.connection_timeout_seconds)
            .field("idle_timeout_seconds", &self.idle_timeout_seconds)
            .field("max_lifetime_seconds", &self.max_lifetime_seconds)
            .field("sqlite", &self.sqlite)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Shows whether a secret is set without showing it.
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Builds a [`DatabaseConfig`] from the defaults; [`build`](DatabaseConfigBuilder::build)
/// validates it.
///
/// ```
/// use storehaus::DatabaseConfig;
///
/// let config = DatabaseConfig::builder()
///     .host("db.internal")
///     .database("shop")
///     .password("secret")
///     .max_connections(20)
///     .build()?;
/// assert_eq!(config.port, 5432);
/// # Ok::<(), storehaus::StoreError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct DatabaseConfigBuilder {
    config: DatabaseConfig,
}

impl DatabaseConfigBuilder {
    /// Sets [`DatabaseConfig::host`].
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.config.host = host.into();
        self
    }

    /// Sets [`DatabaseConfig::port`].
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    /// Sets [`DatabaseConfig::database`].
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.config.database = database.into();
        self
    }

    /// Sets [`DatabaseConfig::username`].
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.config.username = username.into();
        self
    }

    /// Sets [`DatabaseConfig::password`].
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.config.password = password.into();
        self
    }

    /// Sets [`DatabaseConfig::min_connections`].
    pub fn min_connections(mut self, min_connections: u32) -> Self {
        self.config.min_connections = min_connections;
        self
    }

    /// Sets [`DatabaseConfig::max_connections`].
    pub fn max_connections(mut self, max_connections: u32) -> Self {
        self.config.max_connections = max_connections;
        self
    }

    /// Sets [`DatabaseConfig::connection_timeout_seconds`].
    pub fn connection_timeout_seconds(mut self, seconds: u64) -> Self {
        self.config.connection_timeout_seconds = seconds;
        self
    }

    /// Sets [`DatabaseConfig::idle_timeout_seconds`].
    pub fn idle_timeout_seconds(mut self, seconds: u64) -> Self {
        self.config.idle_timeout_seconds = seconds;
        self
    }

    /// Sets [`DatabaseConfig::max_lifetime_seconds`].
    pub fn max_lifetime_seconds(mut self, seconds: u64) -> Self {
        self.config.max_lifetime_seconds = seconds;
        self
    }

    /// Sets [`DatabaseConfig::sqlite`]: SQLite at `path`, or in memory for `":memory:"`.
    pub fn sqlite(mut self, path: impl Into<String>) -> Self {
        self.config.sqlite = Some(path.into());
        self
    }

    /// The configuration, once [`DatabaseConfig::validate`] accepts it.
    pub fn build(self) -> Result<DatabaseConfig> {
        self.config.validate()?;
        Ok(self.config)
    }
}

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::config(format!("database.{field}"), message)
}

fn parse_number<T: TryFrom<u64>>(value: &str) -> Result<T, String> {
    let number: u64 = value.trim().parse().map_err(|_| format!("expected a non-negative integer, got `{value}`"))?;
    T::try_from(number).map_err(|_| format!("`{value}` is too large for this setting"))
}

/// `text` without its first `prefix.len()` bytes when they are `prefix` in any case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// Percent-encodes every byte but the URL-unreserved ones, so any text survives as one URL
/// component. `%` itself is encoded too, which the `url` crate's setters leave alone.
fn encode_component(text: &str) -> String {
    encode(text, b"-._~")
}

/// [`encode_component`] that also keeps `/` and `:`, for the path of a SQLite URL.
fn encode_path(text: &str) -> String {
    encode(text, b"-._~/:")
}

/// Percent-encodes every byte but ASCII letters, digits and those of `keep`.
fn encode(text: &str, keep: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    out
}

/// Decodes `%XX` escapes; a `%` that starts no escape stays as it is, so a hand-written URL with
/// a bare `%` in its password still works.
fn decode_component(text: &str, what: &str) -> Result<String, String> {
    fn hex(byte: u8) -> Option<u8> {
        char::from(byte).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(high << 4 | low);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("the {what} in the URL is not valid UTF-8 once decoded"))
}

#[cfg(test)]
mod tests;

//! Tests of `database.rs`.
use super::*;

/// Puts one setting out of range.
type Breaker = fn(&mut DatabaseConfig);

fn key_of(err: StoreError) -> String {
    match err {
        StoreError::Config { key: Some(key), .. } => key,
        other => panic!("expected a config error with a key, got {other:?}"),
    }
}

#[test]
fn defaults_match_the_documented_values() {
    let expected = DatabaseConfig::new(
        "localhost".into(),
        5432,
        "storehaus".into(),
        "postgres".into(),
        String::new(),
        1,
        10,
        30,
        600,
        3600,
    );
    assert_eq!(DatabaseConfig::default(), expected);
    expected.validate().unwrap();
}

#[test]
fn from_url_reads_every_part() {
    let config = DatabaseConfig::from_url(
        "postgresql://app:p%40ss%3Aw%2Frd@db.example.com:6543/shop%20data\
         ?min_connections=2&max_connections=20&connect_timeout=5\
         &idle_timeout_seconds=60&max_lifetime_seconds=120",
    )
    .unwrap();
    let expected = DatabaseConfig::new(
        "db.example.com".into(),
        6543,
        "shop data".into(),
        "app".into(),
        "p@ss:w/rd".into(),
        2,
        20,
        5,
        60,
        120,
    );
    assert_eq!(config, expected);
}

#[test]
fn from_url_fills_in_missing_parts() {
    let config = DatabaseConfig::from_url("postgres://alice@localhost").unwrap();
    assert_eq!(config.port, 5432);
    assert_eq!(config.database, "alice");
    assert_eq!(config.password, "");
    assert_eq!(config.max_connections, 10);

    let config = DatabaseConfig::from_url("postgres://[::1]/db").unwrap();
    assert_eq!((config.host.as_str(), config.username.as_str()), ("::1", "postgres"));

    let config = DatabaseConfig::from_url("postgres://u@h/d?connection_timeout_seconds=7").unwrap();
    assert_eq!(config.connection_timeout_seconds, 7);
}

#[test]
fn from_url_accepts_unencoded_at_and_bare_percent_in_password() {
    let config = DatabaseConfig::from_url("postgres://u:p@ss%@host/db").unwrap();
    assert_eq!(config.password, "p@ss%");
    assert_eq!(config.host, "host");
}

#[test]
fn from_url_rejects_other_schemes_naming_them() {
    let err = DatabaseConfig::from_url("mysql://root:hunter2@localhost/db").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`mysql`"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(key_of(err), "url");
}

#[test]
fn from_url_rejects_unknown_and_bad_query_parameters() {
    let err = DatabaseConfig::from_url("postgres://u@h/d?sslmode=require").unwrap_err();
    assert!(err.to_string().contains("`sslmode`"), "{err}");

    let err = DatabaseConfig::from_url("postgres://u@h/d?max_connections=lots").unwrap_err();
    assert!(err.to_string().contains("`max_connections`"), "{err}");

    let err = DatabaseConfig::from_url("postgres://u@h/d?connect_timeout=1&connection_timeout_seconds=2").unwrap_err();
    assert!(err.to_string().contains("more than once"), "{err}");
}

#[test]
fn from_url_rejects_malformed_urls_without_echoing_them() {
    for url in [
        "postgres://u:hunter2@h:99999/d",
        "postgres://u:hunter2@h/a/b",
        "postgres://u:hunt#er2@h/d",
        "not a url hunter2",
    ] {
        let err = DatabaseConfig::from_url(url).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[test]
fn from_url_validates() {
    let err = DatabaseConfig::from_url("postgres://u@h/d?min_connections=5&max_connections=2").unwrap_err();
    assert_eq!(key_of(err), "database.max_connections");
}

#[test]
fn to_url_round_trips_awkward_text() {
    let awkward = ["p@ss:w/rd", "a?b#c%d e", "%41%", "日本語 ü", "+&=;[]'\"\\", ""];
    for text in awkward {
        let config = DatabaseConfig {
            password: text.to_owned(),
            username: format!("user{text}"),
            database: format!("db{text}"),
            ..DatabaseConfig::default()
        };
        let url = config.to_url();
        assert_eq!(DatabaseConfig::from_url(&url).unwrap(), config, "{url}");
    }
}

#[test]
fn to_url_round_trips_hosts_and_pool_settings() {
    for host in ["db.example.com", "10.0.0.7", "::1", "/var/run/postgresql"] {
        let config = DatabaseConfig::builder()
            .host(host)
            .port(6000)
            .min_connections(0)
            .max_connections(3)
            .connection_timeout_seconds(1)
            .idle_timeout_seconds(2)
            .max_lifetime_seconds(4)
            .build()
            .unwrap();
        let url = config.to_url();
        assert_eq!(DatabaseConfig::from_url(&url).unwrap(), config, "{url}");
    }
}

#[test]
fn to_url_omits_default_pool_settings() {
    let config = DatabaseConfig { password: "pw".into(), ..DatabaseConfig::default() };
    assert_eq!(config.to_url(), "postgres://postgres:pw@localhost:5432/storehaus");
    let config = DatabaseConfig { max_connections: 20, ..config };
    assert_eq!(config.to_url(), "postgres://postgres:pw@localhost:5432/storehaus?max_connections=20");
}

#[test]
fn redacted_url_and_display_hide_the_password() {
    let config = DatabaseConfig { password: "p@ss:w/rd".into(), ..DatabaseConfig::default() };
    assert_eq!(config.redacted_url(), "postgres://postgres:***@localhost:5432/storehaus");
    assert_eq!(config.to_string(), config.redacted_url());
    let config = DatabaseConfig::default();
    assert_eq!(config.redacted_url(), "postgres://postgres@localhost:5432/storehaus");
}

#[test]
fn debug_never_shows_the_password() {
    let config = DatabaseConfig { password: "hunter2".into(), ..DatabaseConfig::default() };
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains(r#"password: "***""#), "{debug}");
    let pretty = format!("{config:#?}");
    assert!(!pretty.contains("hunter2"), "{pretty}");

    let debug = format!("{:?}", DatabaseConfig::default());
    assert!(debug.contains(r#"password: """#), "{debug}");

    let builder = format!("{:?}", DatabaseConfig::builder().password("hunter2"));
    assert!(!builder.contains("hunter2"), "{builder}");
}

#[test]
fn serialize_skips_the_password() {
    let config = DatabaseConfig { password: "hunter2".into(), ..DatabaseConfig::default() };
    let json = serde_json::to_string(&config).unwrap();
    assert!(!json.contains("password") && !json.contains("hunter2"), "{json}");
    let back: DatabaseConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, DatabaseConfig::default());
}

#[test]
fn validation_names_each_key() {
    let cases: [(Breaker, &str); 12] = [
        (|c| c.host.clear(), "database.host"),
        (|c| c.database.clear(), "database.database"),
        (|c| c.username.clear(), "database.username"),
        (|c| c.port = 0, "database.port"),
        (|c| c.max_connections = 0, "database.max_connections"),
        (|c| c.min_connections = 11, "database.max_connections"),
        (|c| c.connection_timeout_seconds = 0, "database.connection_timeout_seconds"),
        (|c| c.host = "lo\0cal".into(), "database.host"),
        (|c| c.database = "d\0".into(), "database.database"),
        (|c| c.username = "\0".into(), "database.username"),
        (|c| c.password = "a\0b".into(), "database.password"),
        (|c| c.password.clear(), ""),
    ];
    for (break_it, key) in cases {
        let mut config = DatabaseConfig::default();
        break_it(&mut config);
        match config.validate() {
            Ok(()) => assert!(key.is_empty(), "{key} was accepted"),
            Err(err) => assert_eq!(key_of(err), key),
        }
    }
}

#[test]
fn builder_starts_from_defaults_and_validates() {
    let config = DatabaseConfig::builder()
        .host("db")
        .port(1)
        .database("d")
        .username("u")
        .password("p")
        .min_connections(2)
        .max_connections(4)
        .connection_timeout_seconds(5)
        .idle_timeout_seconds(6)
        .max_lifetime_seconds(7)
        .build()
        .unwrap();
    let expected = DatabaseConfig::new("db".into(), 1, "d".into(), "u".into(), "p".into(), 2, 4, 5, 6, 7);
    assert_eq!(config, expected);
    assert_eq!(config.connection_timeout(), Duration::from_secs(5));

    let err = DatabaseConfig::builder().max_connections(0).build().unwrap_err();
    assert_eq!(key_of(err), "database.max_connections");
}

#[test]
fn set_field_covers_every_field() {
    let mut config = DatabaseConfig::default();
    for field in FIELDS {
        let value = if ["host", "database", "username", "password"].contains(field) { "x" } else { "9" };
        config.set_field(field, value).unwrap();
    }
    assert_eq!(config, DatabaseConfig::new("x".into(), 9, "x".into(), "x".into(), "x".into(), 9, 9, 9, 9, 9));
    assert!(config.set_field("port", "70000").is_err());
    assert!(config.set_field("prot", "1").unwrap_err().contains("unknown setting"));
}

#[test]
fn embedded_is_sqlite_with_default_pool_settings() {
    let config = DatabaseConfig::embedded("app.db");
    assert_eq!(config, DatabaseConfig { sqlite: Some("app.db".into()), ..DatabaseConfig::default() });
    config.validate().unwrap();
    assert_eq!(DatabaseConfig::builder().sqlite("app.db").build().unwrap(), config);
}

#[test]
fn from_url_reads_sqlite_forms() {
    for (url, path) in [
        ("sqlite::memory:", ":memory:"),
        ("sqlite://:memory:", ":memory:"),
        ("sqlite://data.db", "data.db"),
        ("sqlite://relative/path.db", "relative/path.db"),
        ("sqlite:path.db", "path.db"),
        ("sqlite:./dir/path.db", "./dir/path.db"),
        ("sqlite:///abs/path.db", "/abs/path.db"),
        ("sqlite:/abs/path.db", "/abs/path.db"),
        ("SQLite://data.db", "data.db"),
        ("sqlite://my%20data/%E6%97%A5%23%3F.db", "my data/日#?.db"),
        ("sqlite://100%.db", "100%.db"),
    ] {
        let config = DatabaseConfig::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(config, DatabaseConfig::embedded(path), "{url}");
    }
}

#[test]
fn from_url_reads_sqlite_pool_parameters() {
    let config = DatabaseConfig::from_url(
        "sqlite:///var/lib/app.db?min_connections=0&max_connections=1&connect_timeout=5\
         &idle_timeout_seconds=0&max_lifetime_seconds=9",
    )
    .unwrap();
    let expected = DatabaseConfig {
        min_connections: 0,
        max_connections: 1,
        connection_timeout_seconds: 5,
        idle_timeout_seconds: 0,
        max_lifetime_seconds: 9,
        ..DatabaseConfig::embedded("/var/lib/app.db")
    };
    assert_eq!(config, expected);
    let config = DatabaseConfig::from_url("sqlite::memory:?max_connections=1").unwrap();
    assert_eq!(config, DatabaseConfig { max_connections: 1, ..DatabaseConfig::embedded(":memory:") });
}

#[test]
fn from_url_rejects_bad_sqlite_urls() {
    for (url, expected) in [
        ("sqlite:", "no path"),
        ("sqlite://", "no path"),
        ("sqlite://?max_connections=2", "no path"),
        ("sqlite://app.db?mode=rwc", "`mode`"),
        ("sqlite://app.db?max_connections=lots", "`max_connections`"),
        ("sqlite://app.db?connect_timeout=1&connection_timeout_seconds=2", "more than once"),
        ("sqlite://app#1.db", "%23"),
        ("sqlite://app.db?max_connections=2#x", "%23"),
        ("sqlite://%FF.db", "UTF-8"),
    ] {
        let err = DatabaseConfig::from_url(url).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expected), "{url}: {text}");
        assert!(!text.contains("app"), "{url}: {text}");
        assert_eq!(key_of(err), "url", "{url}");
    }
}

#[test]
fn from_url_validates_sqlite() {
    let err = DatabaseConfig::from_url("sqlite://a%00b.db").unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
    assert_eq!(key_of(err), "database.sqlite");
    let err = DatabaseConfig::from_url("sqlite::memory:?min_connections=3&max_connections=2").unwrap_err();
    assert_eq!(key_of(err), "database.max_connections");
}

#[test]
fn url_errors_mention_every_scheme() {
    for url in ["mysql://root:hunter2@localhost/db", "hunter2.db"] {
        let text = DatabaseConfig::from_url(url).unwrap_err().to_string();
        assert!(text.contains("postgres://") && text.contains("sqlite://path"), "{text}");
        assert!(text.contains("sqlite::memory:") && !text.contains("hunter2"), "{text}");
    }
}

#[test]
fn apply_url_switches_between_backends() {
    let mut config = DatabaseConfig { max_connections: 4, ..DatabaseConfig::default() };
    config.apply_url("sqlite://app.db").unwrap();
    assert_eq!(config.sqlite.as_deref(), Some("app.db"));
    assert_eq!((config.host.as_str(), config.max_connections), ("localhost", 4));

    config.apply_url("postgres://u@db.internal/shop").unwrap();
    assert_eq!(config.sqlite, None);
    assert_eq!((config.host.as_str(), config.database.as_str()), ("db.internal", "shop"));

    config.apply_url("sqlite::memory:").unwrap();
    assert_eq!(config.sqlite.as_deref(), Some(":memory:"));
    assert!(config.apply_url("sqlite://").is_err());
}

#[test]
fn to_url_shows_sqlite_and_round_trips() {
    for (path, url) in [
        (":memory:", "sqlite::memory:"),
        ("app.db", "sqlite://app.db"),
        ("data/app.db", "sqlite://data/app.db"),
        ("/var/lib/app.db", "sqlite:///var/lib/app.db"),
        ("C:/data/app.db", "sqlite://C:/data/app.db"),
        ("my data/a?b#c%d+e&f.db", "sqlite://my%20data/a%3Fb%23c%25d%2Be%26f.db"),
    ] {
        let config = DatabaseConfig::embedded(path);
        assert_eq!(config.to_url(), url);
        assert_eq!(config.redacted_url(), url);
        assert_eq!(config.to_string(), url);
        assert_eq!(DatabaseConfig::from_url(url).unwrap(), config, "{url}");
    }
}

#[test]
fn to_url_round_trips_awkward_sqlite_paths_and_pool_settings() {
    let awkward = ["日本語 ü.db", "//server/share/x.db", ":x", "%41%", "\\dir\\x.db", "a\u{7f}b", "./:memory:"];
    for path in awkward {
        let config = DatabaseConfig::builder()
            .sqlite(path)
            .min_connections(0)
            .max_connections(3)
            .connection_timeout_seconds(1)
            .idle_timeout_seconds(2)
            .max_lifetime_seconds(4)
            .build()
            .unwrap();
        let url = config.to_url();
        assert_eq!(DatabaseConfig::from_url(&url).unwrap(), config, "{url}");
    }
    let config = DatabaseConfig { max_connections: 1, ..DatabaseConfig::embedded(":memory:") };
    assert_eq!(config.to_url(), "sqlite::memory:?max_connections=1");
}

#[test]
fn sqlite_urls_leave_out_the_password() {
    let config = DatabaseConfig { password: "hunter2".into(), ..DatabaseConfig::embedded("app.db") };
    assert_eq!(config.to_url(), "sqlite://app.db");
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains(r#"sqlite: Some("app.db")"#), "{debug}");
}

#[test]
fn sqlite_validation_skips_the_server_settings() {
    let config = DatabaseConfig {
        host: String::new(),
        port: 0,
        database: "\0".into(),
        username: String::new(),
        password: "\0".into(),
        ..DatabaseConfig::embedded("app.db")
    };
    config.validate().unwrap();

    let cases: [(Breaker, &str); 6] = [
        (|c| c.sqlite = Some(String::new()), "database.sqlite"),
        (|c| c.sqlite = Some("a\0b".into()), "database.sqlite"),
        (|c| c.max_connections = 0, "database.max_connections"),
        (|c| c.min_connections = 11, "database.max_connections"),
        (|c| c.connection_timeout_seconds = 0, "database.connection_timeout_seconds"),
        (|c| c.sqlite = Some(":memory:".into()), ""),
    ];
    for (break_it, key) in cases {
        let mut config = DatabaseConfig::embedded("app.db");
        break_it(&mut config);
        match config.validate() {
            Ok(()) => assert!(key.is_empty(), "{key} was accepted"),
            Err(err) => assert_eq!(key_of(err), key),
        }
    }
}

#[test]
fn set_field_sets_sqlite() {
    let mut config = DatabaseConfig::default();
    config.set_field("sqlite", "app.db").unwrap();
    assert_eq!(config, DatabaseConfig::embedded("app.db"));
    let message = config.set_field("sqlit", "x").unwrap_err();
    assert!(message.contains("max_lifetime_seconds, sqlite"), "{message}");
}

#[test]
fn serialize_includes_sqlite_only_when_set() {
    let json = serde_json::to_string(&DatabaseConfig::default()).unwrap();
    assert!(!json.contains("sqlite"), "{json}");
    let config = DatabaseConfig::embedded("app.db");
    let json = serde_json::to_string(&config).unwrap();
    assert!(json.contains(r#""sqlite":"app.db""#), "{json}");
    assert_eq!(serde_json::from_str::<DatabaseConfig>(&json).unwrap(), config);
}

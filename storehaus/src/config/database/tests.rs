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

use super::*;

#[test]
fn transient_classification() {
    assert!(StoreError::Timeout("x".into()).is_transient());
    assert!(!StoreError::UnboundedWrite { table: "t".into() }.is_transient());
    let lost = DriverError::new(std::io::Error::other("reset"), true, None);
    assert!(StoreError::Database { code: None, source: lost }.is_transient());
    let unique = StoreError::UniqueViolation { constraint: "users_email_key".into() };
    assert_eq!((unique.sqlstate(), unique.constraint()), (Some("23505"), Some("users_email_key")));
}

#[test]
fn messages_name_the_culprit() {
    let e = StoreError::config("database.port", "expected an integer");
    assert_eq!(e.to_string(), "configuration error at `database.port`: expected an integer");
    let e = StoreError::UnknownField { table: "users".into(), field: "1=1 OR name".into() };
    assert_eq!(e.to_string(), "`1=1 OR name` is not a field of `users`");
}

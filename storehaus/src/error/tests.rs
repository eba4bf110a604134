use super::*;

#[test]
fn transient_classification() {
    use crate::backend::{Backend, postgres::Postgres, sqlite::Sqlite};
    assert!(StoreError::Timeout("x".into()).is_transient());
    assert!(StoreError::from(sqlx::Error::PoolClosed).is_transient());
    assert!(!StoreError::UnboundedWrite { table: "t".into() }.is_transient());
    assert!(Postgres::transient_code("08006"));
    assert!(Postgres::transient_code("40001"));
    assert!(!Postgres::transient_code("23505"));
    assert!(Sqlite::transient_code("5") && Sqlite::transient_code("517"));
    assert!(!Sqlite::transient_code("19"));
}

#[test]
fn messages_name_the_culprit() {
    let e = StoreError::config("database.port", "expected an integer");
    assert_eq!(e.to_string(), "configuration error at `database.port`: expected an integer");
    let e = StoreError::UnknownField { table: "users".into(), field: "1=1 OR name".into() };
    assert_eq!(e.to_string(), "`1=1 OR name` is not a field of `users`");
}

use super::*;
use crate::backend::{postgres::Postgres, sqlite::Sqlite};

#[test]
fn driver_errors_without_a_code_are_transient_when_the_connection_failed() {
    assert!(StoreError::from(sqlx::Error::PoolClosed).is_transient());
    assert!(matches!(StoreError::from(sqlx::Error::PoolTimedOut), StoreError::Timeout(_)));
    let closed = StoreError::from(sqlx::Error::PoolClosed);
    assert!(
        matches!(&closed, StoreError::Database { code: None, source } if source.downcast_ref::<sqlx::Error>().is_some())
    );
    assert!(!StoreError::from(sqlx::Error::RowNotFound).is_transient());
}

#[test]
fn each_backend_reads_its_own_codes() {
    assert!(Postgres::transient_code("08006"));
    assert!(Postgres::transient_code("40001"));
    assert!(!Postgres::transient_code("23505"));
    assert!(Sqlite::transient_code("5") && Sqlite::transient_code("517"));
    assert!(!Sqlite::transient_code("19"));
}

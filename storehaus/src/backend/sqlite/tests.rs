use super::*;

#[tokio::test]
async fn a_second_writer_on_a_memory_database_times_out_instead_of_hanging() {
    let config = DatabaseConfig { connection_timeout_seconds: 1, ..DatabaseConfig::embedded(MEMORY) };
    let db = SqliteDb::connect(MEMORY, &config).await.unwrap();
    let first = db.begin().await.unwrap();
    let started = std::time::Instant::now();
    let second = db.begin().await;
    assert!(matches!(second, Err(StoreError::Timeout(_))), "{second:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    first.rollback().await.unwrap();
    let third = db.begin().await.unwrap();
    third.commit().await.unwrap();
}

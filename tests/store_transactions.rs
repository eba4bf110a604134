//! Store calls inside transactions, on both backends.
//!
//! "No connection is left inside a transaction" is checked on PostgreSQL as no session `idle in
//! transaction`, and on SQLite (where every transaction holds the database's write lock from
//! `BEGIN IMMEDIATE`) as another transaction being able to begin.

use std::time::Duration;
use storehaus::prelude::*;
use storehaus::testing::{TestDatabase, TestSqlite};
use storehaus_suite::raw::rows;
use storehaus_suite::{TestBackend, on_both_backends, pg};

#[model]
#[table(name = "accounts", soft_delete)]
pub struct Account {
    #[primary_key]
    pub id: Uuid,
    pub owner: String,
    pub balance: i64,
}

fn account(owner: &str, balance: i64) -> Account {
    Account { id: Uuid::new_v4(), owner: owner.to_owned(), balance }
}

async fn setup<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Account>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Account>(false).await.unwrap();
    let store = GenericStore::<Account>::new(storehaus.pool().clone(), None, None);
    (storehaus, store)
}

/// Rows as committed, read on a pooled connection outside any transaction of the test.
async fn committed(storehaus: &StoreHaus) -> Vec<(String, i64)> {
    rows(storehaus, r#"SELECT "owner", "balance" FROM "accounts" ORDER BY "owner""#).await
}

/// PostgreSQL: connections to the test database that sit inside an open transaction right now.
async fn idle_in_transaction_now(storehaus: &StoreHaus) -> i64 {
    storehaus_suite::idle_in_transaction(pg(storehaus)).await
}

/// Connections left inside an open transaction, after giving returned connections up to five
/// seconds to be cleaned up (a dropped transaction's rollback runs in the background).
///
/// PostgreSQL: sessions `idle in transaction`. SQLite: 1 when no transaction can begin within
/// those five seconds, because one still holds the write lock.
async fn transactions_left_open<B: TestBackend>(storehaus: &StoreHaus) -> i64 {
    if B::NAME == "postgres" {
        for _ in 0..50 {
            if idle_in_transaction_now(storehaus).await == 0 {
                return 0;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        return idle_in_transaction_now(storehaus).await;
    }
    match tokio::time::timeout(Duration::from_secs(5), storehaus.begin()).await {
        Ok(Ok(tx)) => {
            tx.rollback().await.unwrap();
            0
        }
        Ok(Err(e)) => panic!("cannot begin a transaction: {e}"),
        Err(_) => 1,
    }
}

/// An application error type of its own, converted from `StoreError`.
#[derive(Debug)]
enum AppError {
    Store(StoreError),
    Rejected,
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        AppError::Store(error)
    }
}

fn panic_half_way() -> Result<(), StoreError> {
    panic!("the work panics half-way")
}

on_both_backends! {
    async fn the_closure_commits_when_it_returns_ok(db) {
        let (storehaus, store) = setup(&db).await;
        let value = storehaus
            .transaction(|tx| {
                let store = store.clone();
                async move {
                    let accounts = store.with_transaction(&tx);
                    accounts.create(account("ada", 10), None).await?;
                    accounts.create(account("bob", 20), None).await?;
                    Ok::<_, StoreError>(42)
                }
            })
            .await
            .unwrap();
        assert_eq!(value, 42);
        assert_eq!(committed(&storehaus).await, [("ada".to_owned(), 10), ("bob".to_owned(), 20)]);
        assert_eq!(store.count().await.unwrap(), 2);
    }

    async fn the_closure_rolls_back_when_it_returns_err(db) {
        let (storehaus, store) = setup(&db).await;
        let existing = store.create(account("zoe", 5), None).await.unwrap().id;

        let result: Result<(), StoreError> = storehaus
            .transaction(|tx| {
                let store = store.clone();
                async move {
                    let accounts = store.with_transaction(&tx);
                    accounts.create(account("ada", 10), None).await?;
                    accounts.update(&existing, account("zoe", 500), None).await?;
                    accounts.delete(&existing).await?;
                    Err(StoreError::validation("balance", "insufficient funds"))
                }
            })
            .await;
        let err = result.unwrap_err();
        assert!(
            matches!(&err, StoreError::Validation { message, .. } if message == "insufficient funds"),
            "{err:?}"
        );
        assert_eq!(committed(&storehaus).await, [("zoe".to_owned(), 5)], "every write of the closure was undone");
        let deleted: Vec<(Option<DateTime<Utc>>,)> =
            rows(&storehaus, &format!(r#"SELECT "__deleted_at__" FROM "accounts" WHERE "id" = '{existing}'"#)).await;
        assert_eq!(deleted, [(None,)]);
        assert_eq!(transactions_left_open::<B>(&storehaus).await, 0);
    }

    async fn the_closure_may_use_the_applications_error_type(db) {
        let (storehaus, store) = setup(&db).await;
        let result = storehaus
            .transaction(|tx| {
                let store = store.clone();
                async move {
                    store.with_transaction(&tx).create(account("ada", 1), None).await?;
                    Err::<(), _>(AppError::Rejected)
                }
            })
            .await;
        assert!(matches!(result, Err(AppError::Rejected)));
        assert!(committed(&storehaus).await.is_empty());

        // A store error inside the closure surfaces as the application's error, and rolls back.
        let duplicate = account("bob", 1);
        let result = storehaus
            .transaction(|tx| {
                let store = store.clone();
                async move {
                    let accounts = store.with_transaction(&tx);
                    accounts.create(duplicate.clone(), None).await?;
                    accounts.create(duplicate, None).await?;
                    Ok::<_, AppError>(())
                }
            })
            .await;
        assert!(matches!(result, Err(AppError::Store(StoreError::UniqueViolation { .. }))), "{result:?}");
        assert!(committed(&storehaus).await.is_empty());
    }

    async fn an_explicit_transaction_commits(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        let accounts = store.with_transaction(&tx);
        accounts.create(account("ada", 10), None).await.unwrap();
        assert!(!tx.is_finished().await);
        tx.commit().await.unwrap();
        assert_eq!(committed(&storehaus).await, [("ada".to_owned(), 10)]);
    }

    async fn an_explicit_transaction_rolls_back(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = Transaction::begin(storehaus.pool()).await.unwrap();
        let accounts = store.with_transaction(&tx);
        accounts.create(account("ada", 10), None).await.unwrap();
        tx.rollback().await.unwrap();
        assert!(committed(&storehaus).await.is_empty());
        assert_eq!(store.count().await.unwrap(), 0);
    }

    async fn writes_are_visible_inside_and_invisible_outside_until_commit(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        let inside = store.with_transaction(&tx);

        let ada = inside.create(account("ada", 10), None).await.unwrap();
        let updated = inside.update(&ada.id, account("ada", 15), None).await.unwrap();
        assert_eq!(updated.balance, 15);
        assert_eq!(
            inside.get_by_id(&ada.id).await.unwrap().unwrap().balance,
            15,
            "reads see the transaction's writes"
        );
        assert_eq!(inside.count().await.unwrap(), 1);
        assert_eq!(inside.list_all().await.unwrap().len(), 1);

        assert!(store.get_by_id(&ada.id).await.unwrap().is_none(), "the pool does not see uncommitted rows");
        assert_eq!(store.count().await.unwrap(), 0);
        assert!(committed(&storehaus).await.is_empty());

        // The calls above opened no transaction of their own: one connection holds one open
        // transaction. (On SQLite a second open transaction would have waited for this one.)
        if B::NAME == "postgres" {
            assert_eq!(idle_in_transaction_now(&storehaus).await, 1, "one connection holds the transaction");
        }

        tx.commit().await.unwrap();
        assert_eq!(store.get_by_id(&ada.id).await.unwrap().unwrap().balance, 15);
        assert_eq!(committed(&storehaus).await, [("ada".to_owned(), 15)]);
    }

    async fn clones_of_a_transaction_are_the_same_transaction(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        let a = store.with_transaction(&tx);
        let b = store.with_transaction(&tx.clone()).clone();
        let ada = a.create(account("ada", 1), None).await.unwrap();
        assert!(b.get_by_id(&ada.id).await.unwrap().is_some());
        drop((a, b));
        tx.commit().await.unwrap();
        assert_eq!(committed(&storehaus).await.len(), 1);
    }

    async fn a_dropped_transaction_leaves_nothing_and_frees_its_connection(db) {
        let (storehaus, store) = setup(&db).await;
        {
            let tx = storehaus.begin().await.unwrap();
            let accounts = store.with_transaction(&tx);
            accounts.create(account("ada", 10), None).await.unwrap();
            if B::NAME == "postgres" {
                assert_eq!(idle_in_transaction_now(&storehaus).await, 1, "the open transaction is visible");
            }
            // Neither committed nor rolled back: both handles go out of scope here.
        }
        assert_eq!(transactions_left_open::<B>(&storehaus).await, 0, "a connection was left idle in transaction");
        assert!(committed(&storehaus).await.is_empty());
        assert_eq!(store.count().await.unwrap(), 0);
    }

    async fn a_cancelled_transaction_closure_rolls_back(db) {
        let (storehaus, store) = setup(&db).await;
        let work = storehaus.transaction(|tx| {
            let store = store.clone();
            async move {
                store.with_transaction(&tx).create(account("ada", 10), None).await?;
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, StoreError>(())
            }
        });
        assert!(tokio::time::timeout(Duration::from_millis(500), work).await.is_err(), "the work was cut short");

        assert_eq!(transactions_left_open::<B>(&storehaus).await, 0, "a connection was left idle in transaction");
        assert!(committed(&storehaus).await.is_empty());
        // The pool still works after the cancellation.
        store.create(account("bob", 1), None).await.unwrap();
        assert_eq!(committed(&storehaus).await, [("bob".to_owned(), 1)]);
    }

    async fn a_store_bound_to_a_finished_transaction_fails(db) {
        let (storehaus, store) = setup(&db).await;

        let tx = storehaus.begin().await.unwrap();
        let accounts = store.with_transaction(&tx);
        let ada = accounts.create(account("ada", 10), None).await.unwrap();
        tx.clone().commit().await.unwrap();
        assert!(tx.is_finished().await);

        let err = accounts.create(account("bob", 1), None).await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
        let err = accounts.get_by_id(&ada.id).await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
        let err = accounts.update(&ada.id, account("ada", 99), None).await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
        let err = accounts.delete(&ada.id).await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
        let err = tx.clone().commit().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "committing twice: {err:?}");
        let err = tx.rollback().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "rolling back after commit: {err:?}");
        assert_eq!(
            committed(&storehaus).await,
            [("ada".to_owned(), 10)],
            "the finished transaction wrote nothing more"
        );

        let tx = storehaus.begin().await.unwrap();
        let accounts = store.with_transaction(&tx);
        tx.clone().rollback().await.unwrap();
        let err = accounts.count().await.unwrap_err();
        assert!(matches!(err, StoreError::Transaction(_)), "{err:?}");
    }

    /// PostgreSQL aborts a transaction at its first failed statement; SQLite would go on, but the
    /// backend refuses the commit all the same, so code behaves the same on either.
    async fn committing_after_a_failed_statement_is_an_error_not_a_silent_rollback(db) {
        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        let accounts = store.with_transaction(&tx);
        let ada = account("ada", 1);
        accounts.create(ada.clone(), None).await.unwrap();
        let err = accounts.create(ada.clone(), None).await.unwrap_err();
        assert!(matches!(err, StoreError::UniqueViolation { .. }), "{err:?}");
        let later = accounts.count().await;
        if B::NAME == "postgres" {
            // PostgreSQL aborts the whole transaction after an error; later statements fail too.
            let err = later.unwrap_err();
            assert_eq!(err.sqlstate(), Some("25P02"), "{err:?}");
        }
        // PostgreSQL answers COMMIT of an aborted transaction with a rollback; reporting success would
        // tell the caller that `ada` was stored.
        let commit = tx.commit().await;
        assert!(commit.is_err(), "commit of an aborted transaction reported success");
        assert!(committed(&storehaus).await.is_empty());
        assert_eq!(transactions_left_open::<B>(&storehaus).await, 0);

        // The same through the closure: the failed create is caught and the closure returns Ok.
        let result = storehaus
            .transaction(|tx| {
                let store = store.clone();
                async move {
                    let accounts = store.with_transaction(&tx);
                    accounts.create(ada.clone(), None).await?;
                    let _ignored = accounts.create(ada, None).await;
                    Ok::<_, StoreError>(())
                }
            })
            .await;
        assert!(result.is_err(), "transaction() returned Ok although nothing was committed");
        assert!(committed(&storehaus).await.is_empty());
    }

    async fn a_panicking_closure_rolls_back_and_frees_its_connection(db) {
        let (storehaus, store) = setup(&db).await;
        let storehaus = std::sync::Arc::new(storehaus);
        let task = tokio::spawn({
            let (storehaus, store) = (storehaus.clone(), store.clone());
            async move {
                storehaus
                    .transaction(|tx| async move {
                        store.with_transaction(&tx).create(account("ada", 1), None).await?;
                        panic_half_way()
                    })
                    .await
            }
        });
        let joined: Result<Result<(), StoreError>, _> = task.await;
        assert!(joined.unwrap_err().is_panic());
        assert_eq!(transactions_left_open::<B>(&storehaus).await, 0, "a connection was left idle in transaction");
        assert!(committed(&storehaus).await.is_empty());
    }

    async fn find_stream_on_a_transaction_sees_its_writes(db) {
        use futures_util::StreamExt;

        let (storehaus, store) = setup(&db).await;
        let tx = storehaus.begin().await.unwrap();
        let inside = store.with_transaction(&tx);
        for (i, owner) in ["ada", "bob", "cy"].into_iter().enumerate() {
            inside.create(account(owner, i as i64), None).await.unwrap();
        }
        let streamed: Vec<_> = inside.find_stream(QueryBuilder::new()).collect().await;
        assert_eq!(streamed.len(), 3);
        assert!(streamed.iter().all(Result::is_ok));
        let outside: Vec<_> = store.find_stream(QueryBuilder::new()).collect().await;
        assert!(outside.is_empty(), "uncommitted rows leaked to the pool: {outside:?}");
        // The transaction is still usable after the stream.
        assert_eq!(inside.count().await.unwrap(), 3);
        tx.rollback().await.unwrap();
    }
}

/// PostgreSQL only: another session locks the table, so the transaction's insert is still
/// running when cancelled. (On SQLite a transaction already holds the write lock, so its
/// statements never wait; see `cancelling_while_waiting_for_the_write_lock_leaves_nothing`.)
#[tokio::test]
async fn cancelling_while_a_statement_runs_rolls_back_and_frees_the_connection() {
    let Some(db) = TestDatabase::new().await else { return };
    let (storehaus, store) = setup(&db).await;
    // Another session holds the table, so the transaction's insert is still running when cancelled.
    let mut blocker = pg(&storehaus).begin().await.unwrap();
    sqlx::query("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE").execute(&mut *blocker).await.unwrap();
    let work = storehaus.transaction(|tx| {
        let store = store.clone();
        async move {
            store.with_transaction(&tx).create(account("ada", 10), None).await?;
            Ok::<_, StoreError>(())
        }
    });
    assert!(tokio::time::timeout(Duration::from_millis(300), work).await.is_err(), "the insert was blocked");
    blocker.rollback().await.unwrap();

    assert_eq!(
        transactions_left_open::<TestDatabase>(&storehaus).await,
        0,
        "a connection was left idle in transaction"
    );
    assert!(committed(&storehaus).await.is_empty(), "the cancelled transaction's insert was kept");
    store.create(account("bob", 1), None).await.unwrap();
    assert_eq!(committed(&storehaus).await, [("bob".to_owned(), 1)]);
}

/// SQLite only: another connection holds the write lock, so the transaction is still waiting to
/// begin when cancelled; once the lock is free, nothing of it remains and the pool works.
#[tokio::test]
async fn cancelling_while_waiting_for_the_write_lock_leaves_nothing() {
    let db = TestSqlite::new();
    let (storehaus, store) = setup(&db).await;
    let lite = storehaus.pool().as_sqlite().expect("a SQLite pool").clone();
    let mut blocker = lite.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let zed = r#"INSERT INTO "accounts" ("id", "owner", "balance")
                 VALUES ('00000000-0000-4000-8000-000000000000', 'zed', 0)"#;
    sqlx::query(zed).execute(&mut *blocker).await.unwrap();
    let work = storehaus.transaction(|tx| {
        let store = store.clone();
        async move {
            store.with_transaction(&tx).create(account("ada", 10), None).await?;
            Ok::<_, StoreError>(())
        }
    });
    assert!(tokio::time::timeout(Duration::from_millis(300), work).await.is_err(), "the transaction was blocked");
    blocker.rollback().await.unwrap();

    assert_eq!(transactions_left_open::<TestSqlite>(&storehaus).await, 0, "a connection was left in a transaction");
    assert!(committed(&storehaus).await.is_empty(), "a write of the cancelled transaction or the blocker was kept");
    // Every pooled connection still works outside a transaction: writes from each are committed.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.create(account(&format!("p{i}"), i), None).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(committed(&storehaus).await.len(), 8);
    let reopened = db.storehaus().await;
    assert_eq!(committed(&reopened).await.len(), 8, "another pool sees the writes");
}

//! A write whose returned row does not decode is undone, on the pool and in a transaction, for
//! single and batch writes: the call fails and the table stays as it was, and readable. The rows
//! are made undecodable by the database itself (a column default, a trigger), as a hand-made
//! schema change could: a timestamp past chrono's range on PostgreSQL, garbage text on SQLite.

use super::*;

#[model]
#[table(name = "stamped")]
#[derive(PartialEq)]
pub struct Stamped {
    #[primary_key]
    pub id: i64,
    pub label: String,
    /// Written on create only, so an update leaves it to the trigger.
    #[field(create)]
    pub origin: Option<DateTime<Utc>>,
    /// Written on update only, so an insert leaves it to the column default.
    #[field(update)]
    pub reviewed: Option<DateTime<Utc>>,
}

fn stamped(id: i64, label: &str) -> Stamped {
    Stamped { id, label: label.to_owned(), origin: None, reviewed: None }
}

/// A stored `TIMESTAMPTZ` StoreHaus cannot read: after chrono's last year on PostgreSQL (which
/// goes to 294276 AD), not a time at all on SQLite.
fn unreadable_time<B: TestBackend>() -> &'static str {
    if B::NAME == "postgres" { "'294000-01-01 00:00:00+00'" } else { "'garbage'" }
}

async fn stamped_store<B: TestBackend>(db: &B) -> (StoreHaus, GenericStore<Stamped>) {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Stamped>(false).await.unwrap();
    let store = GenericStore::<Stamped>::new(storehaus.pool().clone(), None, None);
    (storehaus, store)
}

/// Gives `reviewed`, which inserts do not write, a default that does not decode.
async fn poison_inserts<B: TestBackend>(storehaus: &StoreHaus) {
    let default = unreadable_time::<B>();
    if B::NAME == "postgres" {
        raw::execute(storehaus, &format!(r#"ALTER TABLE "stamped" ALTER COLUMN "reviewed" SET DEFAULT {default}"#))
            .await;
    } else {
        // SQLite cannot change a column's default: the column is added again with one (on one
        // connection), and the rows already there get their NULL back.
        let sql = format!(
            r#"ALTER TABLE "stamped" DROP COLUMN "reviewed";
               ALTER TABLE "stamped" ADD COLUMN "reviewed" TIMESTAMPTZ DEFAULT {default};
               UPDATE "stamped" SET "reviewed" = NULL"#
        );
        raw::execute(storehaus, &sql).await;
    }
}

/// Makes every update set `origin`, which updates do not write, to a value that does not decode.
async fn poison_updates<B: TestBackend>(storehaus: &StoreHaus) {
    let value = unreadable_time::<B>();
    if B::NAME == "postgres" {
        raw::execute(
            storehaus,
            &format!(
                r#"CREATE FUNCTION "poison_origin"() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN NEW."origin" := {value}; RETURN NEW; END $$"#
            ),
        )
        .await;
        raw::execute(
            storehaus,
            r#"CREATE TRIGGER "poison" BEFORE UPDATE ON "stamped" FOR EACH ROW EXECUTE FUNCTION "poison_origin"()"#,
        )
        .await;
    } else {
        // SQLite's RETURNING shows what BEFORE triggers wrote to columns the update leaves alone.
        raw::execute(
            storehaus,
            &format!(
                r#"CREATE TRIGGER "poison" BEFORE UPDATE ON "stamped" BEGIN
                   UPDATE "stamped" SET "origin" = {value} WHERE "id" = OLD."id"; END"#
            ),
        )
        .await;
    }
}

/// `result` is a decode error, not a success nor any other failure.
#[track_caller]
fn assert_undecodable<R: std::fmt::Debug>(result: Result<R, StoreError>, path: &str) {
    assert!(matches!(result, Err(StoreError::Decode { .. })), "{path}: expected a Decode error, got {result:?}");
}

/// `(id, label)` of every row, read without StoreHaus.
async fn labels(storehaus: &StoreHaus) -> Vec<(i64, String)> {
    raw::rows(storehaus, r#"SELECT "id", "label" FROM "stamped" ORDER BY "id""#).await
}

on_both_backends! {
    async fn an_insert_whose_row_does_not_decode_is_undone(db) {
        let (storehaus, store) = stamped_store(&db).await;
        store.create(stamped(1, "kept"), None).await.unwrap();
        poison_inserts::<B>(&storehaus).await;
        let before = labels(&storehaus).await;

        assert_undecodable(store.create(stamped(2, "new"), None).await, "create");
        assert_undecodable(store.create_many(vec![stamped(2, "a"), stamped(3, "b")], None).await, "create_many");
        assert_undecodable(store.upsert(stamped(2, "new"), None).await, "upsert");
        assert_undecodable(store.upsert_many(vec![stamped(2, "a"), stamped(3, "b")], None).await, "upsert_many");

        // In a transaction the call fails, and so does the commit: nothing of it is kept.
        let tx = storehaus.begin().await.unwrap();
        let result = store.with_transaction(&tx).create(stamped(2, "in tx"), None).await;
        assert_undecodable(result, "create in a transaction");
        let commit = tx.commit().await;
        assert!(matches!(commit, Err(StoreError::Transaction(_))), "{commit:?}");

        assert_eq!(labels(&storehaus).await, before);
        let all = store.list_all().await.unwrap();
        assert_eq!(all.into_iter().map(Record::into_inner).collect::<Vec<_>>(), [stamped(1, "kept")]);
    }

    async fn an_update_whose_row_does_not_decode_is_undone(db) {
        let (storehaus, store) = stamped_store(&db).await;
        let kept = store.create(stamped(1, "kept"), None).await.unwrap();
        store.create(stamped(2, "other"), None).await.unwrap();
        poison_updates::<B>(&storehaus).await;
        let before = labels(&storehaus).await;

        assert_undecodable(store.update(&1, stamped(1, "changed"), None).await, "update");
        assert_undecodable(store.update_many(vec![(1, stamped(1, "a")), (2, stamped(2, "b"))]).await, "update_many");
        let record = Record::new(stamped(1, "changed"), kept.system().clone());
        assert_undecodable(store.save(&record).await, "save");
        assert_undecodable(store.upsert(stamped(1, "changed"), None).await, "upsert of an existing row");
        assert_undecodable(store.add_tags(&1, ["t"]).await, "add_tags");
        let all_rows = QueryBuilder::new().all_rows();
        assert_undecodable(store.update_where(all_rows, UpdateSet::new().set("label", "x")).await, "update_where");

        let tx = storehaus.begin().await.unwrap();
        assert_undecodable(store.with_transaction(&tx).update(&2, stamped(2, "in tx"), None).await, "update in a transaction");
        assert!(matches!(tx.commit().await, Err(StoreError::Transaction(_))));

        assert_eq!(labels(&storehaus).await, before);
        let all = store.list_all().await.unwrap();
        assert_eq!(all.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(), ["kept", "other"]);
        assert!(all.iter().all(|r| r.origin.is_none() && r.tags().is_empty()));
    }
}

//! Foreign keys from migrations: the constraint and its index in the catalog, what deleting a
//! parent does, and the refusals (an orphan row, a parent table that does not exist yet).

use super::*;
use storehaus::model::OnDelete;
use storehaus::schema::Change;

#[model]
#[table(name = "mig_owners")]
pub struct Owner {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

/// Deleting the owner deletes its pets.
#[model]
#[table(name = "mig_pets")]
pub struct Pet {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Owner, on_delete = "cascade")]
    pub owner_id: i64,
    pub name: String,
}

/// The table of [`Pet`] as it was before the field referred to the owner.
#[model]
#[table(name = "mig_pets")]
pub struct UnlinkedPet {
    #[primary_key]
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
}

/// The table of [`Pet`] with the default action: an owner with pets cannot be deleted.
#[model]
#[table(name = "mig_pets")]
pub struct GuardedPet {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Owner)]
    pub owner_id: i64,
    pub name: String,
}

/// Deleting the owner keeps the note and forgets whose it was.
#[model]
#[table(name = "mig_notes")]
pub struct Note {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Owner, on_delete = "set_null")]
    pub owner_id: Option<i64>,
    pub text: String,
}

/// A model that refers to itself.
#[model]
#[table(name = "mig_nodes")]
pub struct Node {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Node, on_delete = "cascade")]
    pub parent_id: Option<i64>,
}

/// The table of [`Owner`] with `name` made optional: SQLite rebuilds the table for that.
#[model]
#[table(name = "mig_owners")]
pub struct RelaxedOwner {
    #[primary_key]
    pub id: i64,
    pub name: Option<String>,
}

/// The table of [`Node`] before the field referred to the parent node.
#[model]
#[table(name = "mig_nodes")]
pub struct UnlinkedNode {
    #[primary_key]
    pub id: i64,
    pub parent_id: Option<i64>,
}

/// `(column, parent table, parent column, ON DELETE action, validated)` of each foreign key of
/// `table`, from the catalog.
async fn foreign_keys<B: TestBackend>(
    storehaus: &StoreHaus,
    table: &str,
) -> Vec<(String, String, String, String, bool)> {
    let sql = if B::NAME == "postgres" {
        format!(
            "SELECT a.attname::text, p.relname::text, pa.attname::text,
               CASE con.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT'
                 ELSE 'NO ACTION' END,
               con.convalidated
             FROM pg_constraint con
             JOIN pg_class c ON c.oid = con.conrelid
             JOIN pg_class p ON p.oid = con.confrelid
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
             JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = con.confkey[1]
             WHERE con.contype = 'f' AND c.relname = '{table}' ORDER BY 1"
        )
    } else {
        format!(
            "SELECT \"from\", \"table\", \"to\", on_delete, 1 = 1 FROM pragma_foreign_key_list('{table}') ORDER BY 1"
        )
    };
    raw::rows(storehaus, &sql).await
}

/// The names of the indexes of `table`.
async fn index_names<B: TestBackend>(storehaus: &StoreHaus, table: &str) -> Vec<String> {
    let sql = if B::NAME == "postgres" {
        format!("SELECT CAST(indexname AS TEXT) FROM pg_indexes WHERE tablename = '{table}' ORDER BY 1")
    } else {
        format!("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = '{table}' ORDER BY 1")
    };
    raw::texts(storehaus, &sql).await.into_iter().flatten().collect()
}

fn key(column: &str, parent: &str, on_delete: &str) -> (String, String, String, String, bool) {
    (column.into(), parent.into(), "id".into(), on_delete.into(), true)
}

async fn owners(storehaus: &StoreHaus, ids: &[i64]) -> GenericStore<Owner> {
    storehaus.auto_migrate::<Owner>(false).await.unwrap();
    let store = GenericStore::<Owner>::new(storehaus.pool().clone(), None, None);
    for &id in ids {
        store.create(Owner::new(id, format!("owner {id}")), None).await.unwrap();
    }
    store
}

/// `mig_pets` made without its foreign key, holding pets of the owners `owner_ids`.
async fn unlinked_pets(storehaus: &StoreHaus, owner_ids: &[i64]) {
    storehaus.auto_migrate::<UnlinkedPet>(false).await.unwrap();
    let store = GenericStore::<UnlinkedPet>::new(storehaus.pool().clone(), None, None);
    for (n, &owner) in owner_ids.iter().enumerate() {
        store.create(UnlinkedPet::new(n as i64 + 1, owner, format!("pet {n}")), None).await.unwrap();
    }
}

on_both_backends! {
    /// A new table gets the constraint and an index on the column; a second run plans nothing.
    async fn a_new_table_gets_the_key_and_its_index(db) {
        let storehaus = db.storehaus().await;
        owners(&storehaus, &[]).await;
        let plan = storehaus.auto_migrate::<Pet>(false).await.unwrap();
        let added = Change::AddForeignKey {
            name: "mig_pets_owner_id_fkey".into(),
            column: "owner_id".into(),
            references: "mig_owners".into(),
            on_delete: OnDelete::Cascade,
        };
        let create = &plan.steps[0].sql;
        if B::NAME == "postgres" {
            // Added in the migration's transaction, checked at once: the table is empty.
            let step = plan.steps.iter().find(|s| s.change == added).expect("an AddForeignKey step");
            assert_eq!(
                step.sql,
                r#"ALTER TABLE "mig_pets" ADD CONSTRAINT "mig_pets_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "mig_owners" ("id") ON DELETE CASCADE"#
            );
        } else {
            // A column constraint of CREATE TABLE, with no step of its own.
            assert!(create.contains(r#""owner_id" BIGINT NOT NULL REFERENCES "mig_owners" ("id") ON DELETE CASCADE, "#), "{create}");
            assert!(!plan.steps.iter().any(|s| s.change == added), "{plan}");
        }
        assert!(!plan.steps.iter().any(|s| matches!(s.change, Change::ValidateForeignKey { .. })), "{plan}");

        assert_eq!(foreign_keys::<B>(&storehaus, "mig_pets").await, [key("owner_id", "mig_owners", "CASCADE")]);
        assert!(index_names::<B>(&storehaus, "mig_pets").await.contains(&"mig_pets_owner_id_idx".to_owned()));
        assert!(storehaus.plan::<Pet>().await.unwrap().is_empty());
        assert!(storehaus.auto_migrate::<Pet>(false).await.unwrap().is_empty());

        // A model that refers to itself needs no other table first.
        storehaus.auto_migrate::<Node>(false).await.unwrap();
        assert_eq!(foreign_keys::<B>(&storehaus, "mig_nodes").await, [key("parent_id", "mig_nodes", "CASCADE")]);
        assert!(storehaus.auto_migrate::<Node>(false).await.unwrap().is_empty());
    }

    /// ON DELETE CASCADE: force-deleting the owner deletes its pets, and only those.
    async fn cascade_deletes_the_children(db) {
        let storehaus = db.storehaus().await;
        let owners = owners(&storehaus, &[1, 2]).await;
        storehaus.auto_migrate::<Pet>(false).await.unwrap();
        let pets = GenericStore::<Pet>::new(storehaus.pool().clone(), None, None);
        for (id, owner) in [(10, 1), (11, 1), (20, 2)] {
            pets.create(Pet::new(id, owner, format!("pet {id}")), None).await.unwrap();
        }
        assert!(owners.force_delete(&1).await.unwrap());
        let left: Vec<i64> = pets.list_all().await.unwrap().iter().map(|p| p.id).collect();
        assert_eq!(left, [20]);
    }

    /// RESTRICT: deleting an owner that has pets fails with the database's error, and deletes
    /// nothing.
    async fn restrict_refuses_the_delete(db) {
        let storehaus = db.storehaus().await;
        let owners = owners(&storehaus, &[1]).await;
        storehaus.auto_migrate::<GuardedPet>(false).await.unwrap();
        assert_eq!(foreign_keys::<B>(&storehaus, "mig_pets").await, [key("owner_id", "mig_owners", "RESTRICT")]);
        let pets = GenericStore::<GuardedPet>::new(storehaus.pool().clone(), None, None);
        pets.create(GuardedPet::new(10, 1, "rex".into()), None).await.unwrap();

        let err = owners.force_delete(&1).await.unwrap_err();
        // One error on both backends (SQLite runs a RESTRICT action as a trigger).
        assert!(matches!(&err, StoreError::ForeignKeyViolation { .. }), "{err:?}");
        assert_eq!(err.sqlstate(), Some("23503"));
        if B::NAME == "postgres" {
            assert_eq!(err.constraint(), Some("mig_pets_owner_id_fkey"));
        }
        assert!(owners.get_by_id(&1).await.unwrap().is_some());
        assert_eq!(pets.count().await.unwrap(), 1);
    }

    /// SET NULL: deleting the owner keeps its notes, without an owner.
    async fn set_null_forgets_the_parent(db) {
        let storehaus = db.storehaus().await;
        let owners = owners(&storehaus, &[1]).await;
        storehaus.auto_migrate::<Note>(false).await.unwrap();
        assert_eq!(foreign_keys::<B>(&storehaus, "mig_notes").await, [key("owner_id", "mig_owners", "SET NULL")]);
        let notes = GenericStore::<Note>::new(storehaus.pool().clone(), None, None);
        notes.create(Note::new(1, Some(1), "hello".into()), None).await.unwrap();
        assert!(owners.force_delete(&1).await.unwrap());
        let note = notes.get_by_id(&1).await.unwrap().expect("the note stays");
        assert_eq!(note.owner_id, None);
    }

    /// A key added to a table that has rows: PostgreSQL adds it NOT VALID and validates it
    /// after the transaction, SQLite rebuilds the table; the rows stay, and the key holds.
    async fn a_key_is_added_to_a_table_with_rows(db) {
        let storehaus = db.storehaus().await;
        owners(&storehaus, &[1, 2]).await;
        unlinked_pets(&storehaus, &[1, 2, 2]).await;

        let planned = storehaus.plan::<Pet>().await.unwrap();
        let plan = storehaus.auto_migrate::<Pet>(false).await.unwrap();
        assert_eq!(planned, plan, "the dry run lists what the migration ran");
        let changes: Vec<&Change> = plan.steps.iter().map(|s| &s.change).collect();
        let index = changes.iter().position(|c| matches!(c, Change::CreateIndex { name, .. } if name == "mig_pets_owner_id_idx"));
        let add = changes.iter().position(|c| matches!(c, Change::AddForeignKey { .. }));
        assert!(index.is_some() && add.is_some(), "{plan}");
        let add_sql = &plan.steps[add.unwrap()].sql;
        if B::NAME == "postgres" {
            assert_eq!(
                add_sql,
                r#"ALTER TABLE "mig_pets" ADD CONSTRAINT "mig_pets_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "mig_owners" ("id") ON DELETE CASCADE NOT VALID"#
            );
            let last = plan.steps.last().unwrap();
            assert_eq!(last.change, Change::ValidateForeignKey { name: "mig_pets_owner_id_fkey".into() });
            assert_eq!(last.sql, r#"ALTER TABLE "mig_pets" VALIDATE CONSTRAINT "mig_pets_owner_id_fkey""#);
        } else {
            assert!(add_sql.starts_with(r#"CREATE TABLE "__new_mig_pets" ("#), "{add_sql}");
            assert!(add_sql.contains(r#""owner_id" BIGINT NOT NULL REFERENCES "mig_owners" ("id") ON DELETE CASCADE"#), "{add_sql}");
            assert!(!changes.iter().any(|c| matches!(c, Change::ValidateForeignKey { .. })), "{plan}");
            let check = raw::int(&storehaus, "SELECT COUNT(*) FROM pragma_foreign_key_check('mig_pets')").await;
            assert_eq!(check, 0);
        }
        // Validated on both (SQLite checks keys as the rebuild adds them).
        assert_eq!(foreign_keys::<B>(&storehaus, "mig_pets").await, [key("owner_id", "mig_owners", "CASCADE")]);
        assert_eq!(raw::int(&storehaus, "SELECT COUNT(*) FROM mig_pets").await, 3);
        assert!(storehaus.auto_migrate::<Pet>(false).await.unwrap().is_empty());

        // The key holds for new rows.
        let pets = GenericStore::<Pet>::new(storehaus.pool().clone(), None, None);
        let err = pets.create(Pet::new(99, 42, "stray".into()), None).await.unwrap_err();
        assert!(matches!(err, StoreError::ForeignKeyViolation { .. }), "{err:?}");

        // Another action: the key is dropped and added anew.
        let plan = storehaus.auto_migrate::<GuardedPet>(false).await.unwrap();
        let changes: Vec<&Change> = plan.steps.iter().map(|s| &s.change).collect();
        assert!(matches!(changes.first(), Some(Change::DropForeignKey { name }) if name == "mig_pets_owner_id_fkey"), "{plan}");
        assert_eq!(foreign_keys::<B>(&storehaus, "mig_pets").await, [key("owner_id", "mig_owners", "RESTRICT")]);
        assert_eq!(raw::int(&storehaus, "SELECT COUNT(*) FROM mig_pets").await, 3);
        assert!(storehaus.auto_migrate::<GuardedPet>(false).await.unwrap().is_empty());
    }

    /// A row whose owner does not exist: the migration is refused, naming the table, column,
    /// parent and value, and the table is left as it was.
    async fn an_orphan_row_refuses_the_migration(db) {
        let storehaus = db.storehaus().await;
        owners(&storehaus, &[1]).await;
        unlinked_pets(&storehaus, &[1, 77]).await;

        for attempt in [storehaus.plan::<Pet>().await, storehaus.auto_migrate::<Pet>(false).await] {
            let err = attempt.unwrap_err();
            let StoreError::UnsafeMigration { table, column, reason } = &err else { panic!("{err:?}") };
            assert_eq!((table.as_str(), column.as_str()), ("mig_pets", "owner_id"));
            assert!(reason.contains("`mig_owners`") && reason.contains("\"77\""), "{reason}");
        }
        assert!(foreign_keys::<B>(&storehaus, "mig_pets").await.is_empty());
        assert!(!index_names::<B>(&storehaus, "mig_pets").await.contains(&"mig_pets_owner_id_idx".to_owned()));
        assert_eq!(raw::int(&storehaus, "SELECT COUNT(*) FROM mig_pets").await, 2);

        // Once the orphan is gone, the key is added.
        raw::execute(&storehaus, "DELETE FROM mig_pets WHERE owner_id = 77").await;
        storehaus.auto_migrate::<Pet>(false).await.unwrap();
        assert_eq!(foreign_keys::<B>(&storehaus, "mig_pets").await, [key("owner_id", "mig_owners", "CASCADE")]);
    }

    /// Changing the parent's table (a rebuild on SQLite) keeps the children's rows and keys.
    async fn a_changed_parent_keeps_its_children(db) {
        let storehaus = db.storehaus().await;
        owners(&storehaus, &[1, 2]).await;
        storehaus.auto_migrate::<Pet>(false).await.unwrap();
        let pets = GenericStore::<Pet>::new(storehaus.pool().clone(), None, None);
        pets.create(Pet::new(10, 1, "rex".into()), None).await.unwrap();
        pets.create(Pet::new(20, 2, "tom".into()), None).await.unwrap();

        let plan = storehaus.auto_migrate::<RelaxedOwner>(false).await.unwrap();
        assert!(plan.steps.iter().any(|s| matches!(&s.change, Change::DropNotNull { column } if column == "name")), "{plan}");
        assert_eq!(pets.count().await.unwrap(), 2);
        assert_eq!(foreign_keys::<B>(&storehaus, "mig_pets").await, [key("owner_id", "mig_owners", "CASCADE")]);
        let owners = GenericStore::<RelaxedOwner>::new(storehaus.pool().clone(), None, None);
        assert!(owners.force_delete(&1).await.unwrap());
        let left: Vec<i64> = pets.list_all().await.unwrap().iter().map(|p| p.id).collect();
        assert_eq!(left, [20], "the key still cascades");
    }

    /// A key to the table itself, added to a table with rows (a rebuild on SQLite, which renames
    /// the new table to the name the key refers to).
    async fn a_key_to_the_table_itself_is_added_to_a_table_with_rows(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<UnlinkedNode>(false).await.unwrap();
        let unlinked = GenericStore::<UnlinkedNode>::new(storehaus.pool().clone(), None, None);
        unlinked.create(UnlinkedNode::new(1, None), None).await.unwrap();
        unlinked.create(UnlinkedNode::new(2, Some(1)), None).await.unwrap();

        storehaus.auto_migrate::<Node>(false).await.unwrap();
        assert_eq!(foreign_keys::<B>(&storehaus, "mig_nodes").await, [key("parent_id", "mig_nodes", "CASCADE")]);
        assert!(storehaus.auto_migrate::<Node>(false).await.unwrap().is_empty());
        let nodes = GenericStore::<Node>::new(storehaus.pool().clone(), None, None);
        assert!(nodes.force_delete(&1).await.unwrap());
        assert_eq!(nodes.count().await.unwrap(), 0, "deleting the root deletes its child");
    }

    /// The child's table before the parent's: refused, saying which model to migrate first.
    async fn the_parent_must_be_migrated_first(db) {
        let storehaus = db.storehaus().await;
        for attempt in [storehaus.plan::<Pet>().await, storehaus.auto_migrate::<Pet>(false).await] {
            let err = attempt.unwrap_err();
            let StoreError::UnsafeMigration { table, column, reason } = &err else { panic!("{err:?}") };
            assert_eq!((table.as_str(), column.as_str()), ("mig_pets", "owner_id"));
            assert!(reason.contains("`mig_owners`") && reason.contains("migrate the parent model `Owner` first"), "{reason}");
        }
        assert!(index_names::<B>(&storehaus, "mig_pets").await.is_empty());
        storehaus.auto_migrate::<Owner>(false).await.unwrap();
        storehaus.auto_migrate::<Pet>(false).await.unwrap();
    }
}

/// A key left unvalidated (here by hand, as a failed validation would leave it) is validated by
/// the next migration, after its transaction.
#[tokio::test]
async fn postgres_validates_a_key_left_not_valid() {
    let Some(db) = storehaus::testing::TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    owners(&storehaus, &[1]).await;
    unlinked_pets(&storehaus, &[1]).await;
    raw::execute(
        &storehaus,
        r#"ALTER TABLE mig_pets ADD CONSTRAINT mig_pets_owner_id_fkey FOREIGN KEY (owner_id)
           REFERENCES mig_owners (id) ON DELETE CASCADE NOT VALID"#,
    )
    .await;
    let validated = "SELECT COUNT(*) FROM pg_constraint WHERE conname = 'mig_pets_owner_id_fkey' AND convalidated";
    assert_eq!(raw::int(&storehaus, validated).await, 0);

    let plan = storehaus.auto_migrate::<Pet>(false).await.unwrap();
    let changes: Vec<&Change> = plan.steps.iter().map(|s| &s.change).collect();
    assert!(
        matches!(changes.last(), Some(Change::ValidateForeignKey { name }) if name == "mig_pets_owner_id_fkey"),
        "{plan}"
    );
    assert!(!changes.iter().any(|c| matches!(c, Change::AddForeignKey { .. })), "{plan}");
    assert_eq!(raw::int(&storehaus, validated).await, 1);
    assert!(storehaus.auto_migrate::<Pet>(false).await.unwrap().is_empty());
}

use super::*;
use crate::model::{ColumnDef, IndexDef};
use crate::query::tests::fixtures::table;
use crate::schema::Change;
use crate::types::ScalarType;

const fn column(name: &'static str, scalar: ScalarType, nullable: bool, primary_key: bool) -> ColumnDef {
    ColumnDef {
        name,
        ty: ColumnType::Scalar(scalar),
        nullable,
        int_range: None,
        primary_key,
        create: true,
        update: !primary_key,
        signal: true,
    }
}

const TABLE: TableDef = TableDef {
    name: "people",
    model: "Person",
    columns: &[column("id", ScalarType::Uuid, false, true), column("nick", ScalarType::Text, true, false)],
    primary_key: 0,
    indexes: &[IndexDef { columns: &["nick"], unique: true }],
    soft_delete: true,
    versioned: false,
    auth: false,
    tenant: None,
    row_security: false,
    foreign_keys: &[],
};

fn existing_for(table: &TableDef) -> TableSchema {
    TableSchema {
        columns: column_specs(table)
            .into_iter()
            .map(|c| ExistingColumn {
                name: c.name.into(),
                ty: Some(c.ty),
                type_name: format!("{}", c.ty),
                nullable: c.nullable,
                generated: c.generated,
            })
            .collect(),
        indexes: index_specs(table)
            .into_iter()
            .map(|i| ExistingIndex {
                name: i.name.clone(),
                columns: i.columns.iter().map(|c| (*c).to_owned()).collect(),
                unique: i.unique,
                valid: true,
            })
            .collect(),
        checks: Vec::new(),
        foreign_keys: Vec::new(),
        has_rows: true,
    }
}

fn names(ty: ColumnType) -> String {
    ty.to_string()
}

#[test]
fn a_missing_table_is_created_with_system_columns_and_indexes() {
    let plan = diff(&TABLE, None, &MigrateOptions::new(), &[], names).unwrap();
    let Planned::CreateTable { columns, .. } = &plan[0] else { panic!("{plan:?}") };
    let names: Vec<_> = columns.iter().map(|c| c.name).collect();
    assert_eq!(names, ["id", "nick", "__created_at__", "__updated_at__", "__tags__", "__deleted_at__"]);
    assert!(matches!(&plan[1], Planned::CreateIndex(i) if i.unique && i.name == "people_nick_key"));
    assert!(matches!(&plan[2], Planned::CreateIndex(i) if i.inverted && i.columns == ["__tags__"]));
}

#[test]
fn a_matching_table_needs_nothing() {
    let plan = diff(&TABLE, Some(&existing_for(&TABLE)), &MigrateOptions::new(), &[], names).unwrap();
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn unsafe_changes_are_refused_naming_the_column() {
    let mut existing = existing_for(&TABLE);
    existing.columns[1].ty = Some(ColumnType::Scalar(ScalarType::Integer));
    let err = diff(&TABLE, Some(&existing), &MigrateOptions::new(), &[], names).unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "nick"), "{err}");
    let plan = diff(&TABLE, Some(&existing), &MigrateOptions::new().allow_type_changes(), &[], names).unwrap();
    assert!(matches!(&plan[..], [Planned::AlterType { .. }]));

    let mut existing = existing_for(&TABLE);
    existing.columns.push(ExistingColumn {
        name: "legacy".into(),
        ty: None,
        type_name: "inet".into(),
        nullable: true,
        generated: false,
    });
    let err = diff(&TABLE, Some(&existing), &MigrateOptions::new(), &[], names).unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "legacy"), "{err}");
}

#[test]
fn not_null_columns_need_an_empty_table() {
    let mut existing = existing_for(&TABLE);
    existing.columns.retain(|c| c.name != "id");
    let err = diff(&TABLE, Some(&existing), &MigrateOptions::new(), &[], names).unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "id"));
    existing.has_rows = false;
    let plan = diff(&TABLE, Some(&existing), &MigrateOptions::new(), &[], names).unwrap();
    assert!(matches!(&plan[..], [Planned::AddColumn(c)] if c.name == "id"));
}

#[test]
fn long_index_names_are_shortened_stably() {
    let long = "t".repeat(80);
    let a = index_name(&long, &["c"], "idx");
    assert_eq!(a.len(), MAX_IDENTIFIER_BYTES);
    assert_eq!(a, index_name(&long, &["c"], "idx"));
    assert_ne!(a, index_name(&long, &["d"], "idx"));
}

const USERS: TableDef = table("users", "User", &[column("id", ScalarType::BigInt, false, true)]);

fn users() -> &'static TableDef {
    &USERS
}

const POSTS: TableDef = TableDef {
    foreign_keys: &[ForeignKeyDef { column: "author_id", references: users, on_delete: OnDelete::Cascade }],
    ..table(
        "posts",
        "Post",
        &[
            column("id", ScalarType::BigInt, false, true),
            column("author_id", ScalarType::BigInt, false, false),
            column("editor_id", ScalarType::BigInt, true, false),
        ],
    )
};

fn comments() -> &'static TableDef {
    &COMMENTS
}

/// Refers to itself, and has a declared index that starts with its key column.
const COMMENTS: TableDef = TableDef {
    indexes: &[IndexDef { columns: &["reply_to", "id"], unique: false }],
    foreign_keys: &[ForeignKeyDef { column: "reply_to", references: comments, on_delete: OnDelete::SetNull }],
    ..table(
        "comments",
        "Comment",
        &[column("id", ScalarType::BigInt, false, true), column("reply_to", ScalarType::BigInt, true, false)],
    )
};

/// The key `posts.author_id` as the database would hold it.
fn author_key(on_delete: OnDelete, validated: bool) -> ExistingForeignKey {
    ExistingForeignKey {
        name: "posts_author_id_fkey".into(),
        column: "author_id".into(),
        parent: "users".into(),
        parent_key: Some("id".into()),
        on_delete: Some(on_delete),
        validated,
    }
}

fn posts_with(keys: Vec<ExistingForeignKey>, has_rows: bool) -> TableSchema {
    TableSchema { foreign_keys: keys, has_rows, ..existing_for(&POSTS) }
}

fn plan_posts(existing: &TableSchema) -> Vec<Planned> {
    diff(&POSTS, Some(existing), &MigrateOptions::new(), &[], names).unwrap()
}

#[test]
fn a_new_table_gets_its_foreign_key_and_an_index_on_the_column() {
    let plan = diff(&POSTS, None, &MigrateOptions::new(), &[], names).unwrap();
    let key = ForeignKeySpec {
        name: "posts_author_id_fkey".into(),
        column: "author_id",
        parent: "users",
        parent_key: "id",
        on_delete: OnDelete::Cascade,
        not_valid: false,
    };
    assert!(
        matches!(&plan[0], Planned::CreateTable { foreign_keys, .. } if foreign_keys == std::slice::from_ref(&key))
    );
    assert!(
        plan.iter().any(|p| matches!(p, Planned::CreateIndex(i)
            if i.name == "posts_author_id_idx" && i.columns == ["author_id"] && !i.unique)),
        "{plan:?}"
    );
    assert_eq!(plan.last(), Some(&Planned::AddForeignKey(key)));
    assert!(!plan.iter().any(|p| matches!(p, Planned::ValidateForeignKey(_))));
}

#[test]
fn a_key_is_added_to_an_empty_table_at_once_and_to_one_with_rows_not_valid_then_validated() {
    let plan = plan_posts(&posts_with(Vec::new(), false));
    assert!(matches!(&plan[..], [Planned::AddForeignKey(k)] if !k.not_valid && k.name == "posts_author_id_fkey"));

    let plan = plan_posts(&posts_with(Vec::new(), true));
    assert!(
        matches!(&plan[..], [Planned::AddForeignKey(a), Planned::ValidateForeignKey(v)]
            if a.not_valid && v.name == a.name),
        "{plan:?}"
    );
    let changes: Vec<Change> = plan.iter().map(|p| p.change(names)).collect();
    assert_eq!(
        changes,
        [
            Change::AddForeignKey {
                name: "posts_author_id_fkey".into(),
                column: "author_id".into(),
                references: "users".into(),
                on_delete: OnDelete::Cascade,
            },
            Change::ValidateForeignKey { name: "posts_author_id_fkey".into() },
        ]
    );
}

#[test]
fn a_matching_key_needs_nothing_and_keys_on_other_columns_are_left_alone() {
    let hand_made = ExistingForeignKey {
        name: "by_hand".into(),
        column: "editor_id".into(),
        on_delete: None,
        ..author_key(OnDelete::Restrict, false)
    };
    let plan = plan_posts(&posts_with(vec![author_key(OnDelete::Cascade, true), hand_made], true));
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn another_action_or_parent_drops_the_key_and_adds_it_anew() {
    let plan = plan_posts(&posts_with(vec![author_key(OnDelete::Restrict, true)], false));
    assert!(
        matches!(&plan[..], [Planned::DropForeignKey { name, column }, Planned::AddForeignKey(k)]
            if name == "posts_author_id_fkey" && column == "author_id" && k.on_delete == OnDelete::Cascade),
        "{plan:?}"
    );
    let elsewhere =
        ExistingForeignKey { name: "old_key".into(), parent: "accounts".into(), ..author_key(OnDelete::Cascade, true) };
    let plan = plan_posts(&posts_with(vec![elsewhere], true));
    assert!(
        matches!(&plan[..], [Planned::DropForeignKey { name, .. }, Planned::AddForeignKey(_), Planned::ValidateForeignKey(_)]
            if name == "old_key"),
        "{plan:?}"
    );
}

#[test]
fn a_key_left_unvalidated_is_validated_under_its_own_name() {
    let key = ExistingForeignKey { name: "author_fk".into(), ..author_key(OnDelete::Cascade, false) };
    let plan = plan_posts(&posts_with(vec![key], true));
    assert!(matches!(&plan[..], [Planned::ValidateForeignKey(k)] if k.name == "author_fk"), "{plan:?}");
}

#[test]
fn the_index_of_a_key_is_added_unless_an_index_starts_with_its_column() {
    let mut existing = posts_with(vec![author_key(OnDelete::Cascade, true)], false);
    existing.indexes.retain(|i| i.columns != ["author_id"]);
    let plan = plan_posts(&existing);
    assert!(matches!(&plan[..], [Planned::CreateIndex(i)] if i.name == "posts_author_id_idx"), "{plan:?}");

    let specs = index_specs(&COMMENTS);
    assert!(!specs.iter().any(|i| i.name.ends_with("_idx") && i.columns == ["reply_to"]), "{specs:?}");
}

#[test]
fn a_key_to_a_missing_table_is_refused_unless_it_is_the_table_itself() {
    let err = diff(&POSTS, None, &MigrateOptions::new(), &["users"], names).unwrap_err();
    let StoreError::UnsafeMigration { table, column, reason } = &err else { panic!("{err}") };
    assert_eq!((table.as_str(), column.as_str()), ("posts", "author_id"));
    assert!(reason.contains("`users`") && reason.contains("`User` first"), "{reason}");

    let plan = diff(&COMMENTS, None, &MigrateOptions::new(), &["comments"], names).unwrap();
    assert!(
        matches!(plan.last(), Some(Planned::AddForeignKey(k)) if k.parent == "comments" && k.on_delete == OnDelete::SetNull),
        "{plan:?}"
    );
}

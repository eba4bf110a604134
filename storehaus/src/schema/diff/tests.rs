use super::*;
use crate::model::{ColumnDef, IndexDef};
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
            .map(|i| ExistingIndex { columns: i.columns.iter().map(|c| (*c).to_owned()).collect(), unique: i.unique })
            .collect(),
        checks: Vec::new(),
        has_rows: true,
    }
}

fn names(ty: ColumnType) -> String {
    ty.to_string()
}

#[test]
fn a_missing_table_is_created_with_system_columns_and_indexes() {
    let plan = diff(&TABLE, None, &MigrateOptions::new(), names).unwrap();
    let Planned::CreateTable(columns) = &plan[0] else { panic!("{plan:?}") };
    let names: Vec<_> = columns.iter().map(|c| c.name).collect();
    assert_eq!(names, ["id", "nick", "__created_at__", "__updated_at__", "__tags__", "__deleted_at__"]);
    assert!(matches!(&plan[1], Planned::CreateIndex(i) if i.unique && i.name == "people_nick_key"));
    assert!(matches!(&plan[2], Planned::CreateIndex(i) if i.inverted && i.columns == ["__tags__"]));
}

#[test]
fn a_matching_table_needs_nothing() {
    let plan = diff(&TABLE, Some(&existing_for(&TABLE)), &MigrateOptions::new(), names).unwrap();
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn unsafe_changes_are_refused_naming_the_column() {
    let mut existing = existing_for(&TABLE);
    existing.columns[1].ty = Some(ColumnType::Scalar(ScalarType::Integer));
    let err = diff(&TABLE, Some(&existing), &MigrateOptions::new(), names).unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "nick"), "{err}");
    let plan = diff(&TABLE, Some(&existing), &MigrateOptions::new().allow_type_changes(), names).unwrap();
    assert!(matches!(&plan[..], [Planned::AlterType { .. }]));

    let mut existing = existing_for(&TABLE);
    existing.columns.push(ExistingColumn {
        name: "legacy".into(),
        ty: None,
        type_name: "inet".into(),
        nullable: true,
        generated: false,
    });
    let err = diff(&TABLE, Some(&existing), &MigrateOptions::new(), names).unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "legacy"), "{err}");
}

#[test]
fn not_null_columns_need_an_empty_table() {
    let mut existing = existing_for(&TABLE);
    existing.columns.retain(|c| c.name != "id");
    let err = diff(&TABLE, Some(&existing), &MigrateOptions::new(), names).unwrap_err();
    assert!(matches!(&err, StoreError::UnsafeMigration { column, .. } if column == "id"));
    existing.has_rows = false;
    let plan = diff(&TABLE, Some(&existing), &MigrateOptions::new(), names).unwrap();
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

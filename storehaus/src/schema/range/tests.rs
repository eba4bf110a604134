use super::*;
use crate::error::DriverError;
use crate::schema::diff::{ExistingColumn, ExistingIndex, TableSchema, column_specs, diff, index_specs};
use crate::schema::{MigrateOptions, Planned};
use crate::types::ScalarType;

const fn column(name: &'static str, scalar: ScalarType, int_range: Option<IntRange>) -> ColumnDef {
    ColumnDef {
        name,
        ty: ColumnType::Scalar(scalar),
        nullable: false,
        int_range,
        primary_key: false,
        create: true,
        update: true,
        signal: true,
    }
}

const I8: Option<IntRange> = Some(IntRange::new(-128, 127));
const U16: Option<IntRange> = Some(IntRange::new(0, 65_535));

const TABLE: TableDef = TableDef {
    name: "gauges",
    model: "Gauge",
    columns: &[
        ColumnDef { primary_key: true, ..column("id", ScalarType::BigInt, None) },
        column("tiny", ScalarType::SmallInt, I8),
        column("count", ScalarType::Integer, U16),
        ColumnDef { ty: ColumnType::Array(ScalarType::SmallInt), ..column("many", ScalarType::SmallInt, I8) },
    ],
    primary_key: 0,
    indexes: &[],
    soft_delete: false,
    versioned: false,
    auth: false,
    tenant: None,
    row_security: false,
    foreign_keys: &[],
};

fn existing(checks: &[&str]) -> TableSchema {
    TableSchema {
        columns: column_specs(&TABLE)
            .into_iter()
            .map(|c| ExistingColumn {
                name: c.name.into(),
                ty: Some(c.ty),
                type_name: c.ty.to_string(),
                nullable: c.nullable,
                generated: c.generated,
            })
            .collect(),
        indexes: index_specs(&TABLE)
            .into_iter()
            .map(|i| ExistingIndex {
                name: i.name.clone(),
                columns: i.columns.iter().map(|c| (*c).to_owned()).collect(),
                unique: i.unique,
                valid: true,
            })
            .collect(),
        checks: checks.iter().map(|c| (*c).to_owned()).collect(),
        foreign_keys: Vec::new(),
        has_rows: true,
    }
}

fn plan(existing: Option<&TableSchema>) -> Vec<Planned> {
    diff(&TABLE, existing, &MigrateOptions::new(), &[], |ty| ty.to_string()).unwrap()
}

#[test]
fn scalar_narrow_columns_get_guards_with_predictable_names() {
    let names: Vec<String> = range_checks(&TABLE).into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["gauges_tiny_i8_range", "gauges_count_u16_range"]);
    let name = check_name("gauges", &TABLE.columns[1], IntRange::new(1, 10));
    assert!(name.starts_with("gauges_tiny_r") && name.ends_with("_range"), "{name}");
    let long = check_name(&"t".repeat(80), &TABLE.columns[1], IntRange::new(-128, 127));
    assert_eq!(long.len(), 63);
}

#[test]
fn a_new_table_gets_its_guards_after_it_is_created() {
    let planned = plan(None);
    let guards: Vec<&str> = planned
        .iter()
        .filter_map(|p| match p {
            Planned::AddRangeCheck(c) => Some(c.name.as_str()),
            _ => None,
        })
        .collect();
    assert!(matches!(planned[0], Planned::CreateTable { .. }));
    assert_eq!(guards, ["gauges_tiny_i8_range", "gauges_count_u16_range"]);
}

#[test]
fn an_existing_table_gains_missing_guards_and_loses_unwanted_ones() {
    assert!(plan(Some(&existing(&["gauges_tiny_i8_range", "gauges_count_u16_range", "hand_made"]))).is_empty());
    let planned = plan(Some(&existing(&["gauges_tiny_u8_range", "gauges_count_u16_range", "hand_made"])));
    assert!(
        matches!(&planned[..], [Planned::DropRangeCheck(d), Planned::AddRangeCheck(a)]
            if d == "gauges_tiny_u8_range" && a.name == "gauges_tiny_i8_range"),
        "{planned:?}"
    );
}

#[test]
fn a_refusal_by_a_guard_names_the_field() {
    let refused = |constraint: &str| StoreError::Database {
        code: Some("23514".into()),
        source: DriverError::new(std::fmt::Error, false, Some(constraint.to_owned())),
    };
    let error = range_violation(&TABLE, refused("gauges_count_u16_range"));
    assert!(
        matches!(&error, StoreError::Validation { field: Some(f), message }
            if f == "count" && message.contains("u16 (0..=65535)")),
        "{error}"
    );
    assert!(matches!(range_violation(&TABLE, refused("other")), StoreError::Database { .. }));
}

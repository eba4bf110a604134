use super::*;
use crate::model::ColumnDef;
use crate::types::{ColumnType, ScalarType};

const TABLE: TableDef = TableDef {
    name: "it's",
    model: "Odd",
    columns: &[ColumnDef {
        name: "id",
        ty: ColumnType::Scalar(ScalarType::BigInt),
        nullable: false,
        int_range: None,
        primary_key: true,
        create: true,
        update: false,
        signal: true,
    }],
    primary_key: 0,
    indexes: &[],
    soft_delete: false,
    versioned: false,
    auth: false,
    tenant: None,
    row_security: false,
    foreign_keys: &[],
};

#[test]
fn payloads_leave_out_no_signal_columns() {
    const COLUMNS: &[ColumnDef] = &[
        TABLE.columns[0],
        ColumnDef { name: "pass'word", primary_key: false, update: true, signal: false, ..TABLE.columns[0] },
        ColumnDef { name: "name", primary_key: false, update: true, ..TABLE.columns[0] },
    ];
    const SECRET: TableDef = TableDef { columns: COLUMNS, ..TABLE };
    let sql = with_events("DELETE FROM \"it's\" RETURNING *", &SECRET, EventKind::Delete);
    assert!(sql.contains("to_jsonb(\"__w\".*) - 'pass''word' FROM"), "{sql}");
    let sql = with_events("INSERT INTO \"it's\" RETURNING *", &SECRET, EventKind::Create);
    assert!(sql.contains("to_jsonb(\"__w\".*) - 'pass''word' FROM"), "{sql}");
}

#[test]
fn wraps_a_write_in_one_statement() {
    let sql = with_events("DELETE FROM \"it's\" WHERE \"id\" = $1 RETURNING *", &TABLE, EventKind::Delete);
    assert_eq!(
        sql,
        "WITH \"__w\" AS (DELETE FROM \"it's\" WHERE \"id\" = $1 RETURNING *), \"__e\" AS (INSERT INTO \
         \"storehaus_events\" (\"event_type\", \"table_name\", \"record_id\", \"tags\", \"payload\") SELECT \
         'delete', 'it''s', \"__w\".\"id\"::text, \"__w\".\"__tags__\", to_jsonb(\"__w\".*) FROM \"__w\") \
         SELECT \"__w\".* FROM \"__w\""
    );
}

#[test]
fn payloads_of_tenant_tables_repeat_the_tenant_column() {
    const COLUMNS: &[ColumnDef] = &[
        TABLE.columns[0],
        ColumnDef { name: "org\"id", primary_key: false, update: true, ..TABLE.columns[0] },
        ColumnDef { name: "secret", primary_key: false, update: true, signal: false, ..TABLE.columns[0] },
    ];
    const TENANT: TableDef = TableDef { columns: COLUMNS, tenant: Some(1), auth: true, ..TABLE };
    let sql = with_events("UPDATE \"it's\" SET x = 1 RETURNING *", &TENANT, EventKind::Update);
    assert!(
        sql.contains(
            "to_jsonb(\"__w\".*) - 'secret' || jsonb_build_object('__tenant__', \"__w\".\"org\"\"id\") FROM \"__w\""
        ),
        "{sql}"
    );

    // A tenant column kept out of events is not brought back under another name.
    const HIDDEN: TableDef = TableDef { columns: COLUMNS, tenant: Some(2), ..TABLE };
    let sql = with_events("DELETE FROM \"it's\" RETURNING *", &HIDDEN, EventKind::Delete);
    assert!(!sql.contains("__tenant__") && !sql.contains("\"__w\".\"secret\""), "{sql}");
}

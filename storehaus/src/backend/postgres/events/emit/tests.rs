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

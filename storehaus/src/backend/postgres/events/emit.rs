//! Writing events in the same statement as the change they describe.

use super::EVENT_LOG;
use crate::backend::postgres::quote_ident;
use crate::model::TableDef;
use crate::model::system::TAGS;

/// Which event a write produces for each row it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    Create,
    Update,
    Delete,
    SoftDelete,
    Restore,
    /// An upsert: `create` for inserted rows, `update` for updated ones. The inner statement
    /// returns one extra trailing column `"__inserted"` (`xmax = 0`).
    Upsert,
}

impl EventKind {
    fn name(self) -> &'static str {
        match self {
            EventKind::Create => "'create'",
            EventKind::Update => "'update'",
            EventKind::Delete => "'delete'",
            EventKind::SoftDelete => "'soft_delete'",
            EventKind::Restore => "'restore'",
            EventKind::Upsert => "CASE WHEN \"__w\".\"__inserted\" THEN 'create' ELSE 'update' END",
        }
    }
}

/// Wraps a write that returns the record columns of `table` so that it also appends one event per
/// returned row to the event log, in one statement (and so in the write's transaction).
///
/// The result has the same columns and parameters as `write` (without `"__inserted"`).
pub(crate) fn with_events(write: &str, table: &TableDef, kind: EventKind) -> String {
    let key = quote_ident(table.primary_key().name);
    let table_literal = quote_literal(table.name);
    let payload = if kind == EventKind::Upsert {
        "to_jsonb(\"__w\".*) - '__inserted'".to_owned()
    } else {
        "to_jsonb(\"__w\".*)".to_owned()
    };
    let output = if kind == EventKind::Upsert {
        super::super::record::record_columns(table)
            .into_iter()
            .map(|c| format!("\"__w\".{}", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        "\"__w\".*".to_owned()
    };
    format!(
        "WITH \"__w\" AS ({write}), \"__e\" AS (\
         INSERT INTO \"{EVENT_LOG}\" (\"event_type\", \"table_name\", \"record_id\", \"tags\", \"payload\") \
         SELECT {kind}, {table_literal}, \"__w\".{key}::text, \"__w\".\"{TAGS}\", {payload} FROM \"__w\") \
         SELECT {output} FROM \"__w\"",
        kind = kind.name(),
    )
}

/// `write` wrapped by [`with_events`] when `emit`, unchanged otherwise.
pub(crate) fn events_if(emit: bool, write: String, table: &TableDef, kind: EventKind) -> String {
    if emit { with_events(&write, table, kind) } else { write }
}

/// A standard SQL string literal (quotes doubled), for names from model metadata.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
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
            primary_key: true,
            create: true,
            update: false,
        }],
        primary_key: 0,
        indexes: &[],
        soft_delete: false,
        versioned: false,
    };

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
}

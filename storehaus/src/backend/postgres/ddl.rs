//! PostgreSQL DDL for planned schema changes.

use super::types::{default_expr, type_name};
use crate::backend::sql::ddl::{column_def, create_index};
use crate::backend::sql::quote_ident;
use crate::schema::{ColumnSpec, Planned};

/// The SQL statement of one planned change to `table`.
pub(crate) fn statement(table: &str, planned: &Planned) -> String {
    let name = quote_ident(table);
    let alter = |change: String| format!("ALTER TABLE {name} {change}");
    match planned {
        Planned::DropTable => format!("DROP TABLE IF EXISTS {name} CASCADE"),
        Planned::CreateTable(columns) => {
            let columns: Vec<String> = columns.iter().map(column).collect();
            format!("CREATE TABLE {name} ({})", columns.join(", "))
        }
        Planned::AddColumn(spec) => alter(format!("ADD COLUMN {}", column(spec))),
        Planned::AlterType { column, .. } => {
            let (ty, column) = (type_name(column.ty), quote_ident(column.name));
            alter(format!("ALTER COLUMN {column} TYPE {ty} USING CAST({column} AS {ty})"))
        }
        Planned::DropColumn(column) => alter(format!("DROP COLUMN {}", quote_ident(column))),
        Planned::SetNotNull(column) => alter(format!("ALTER COLUMN {} SET NOT NULL", quote_ident(column))),
        Planned::DropNotNull(column) => alter(format!("ALTER COLUMN {} DROP NOT NULL", quote_ident(column))),
        Planned::CreateIndex(index) => create_index(table, index, index.inverted.then_some("GIN")),
        Planned::AddRangeCheck(check) => alter(format!(
            "ADD CONSTRAINT {} CHECK ({} BETWEEN {} AND {})",
            quote_ident(&check.name),
            quote_ident(check.column),
            check.range.min,
            check.range.max
        )),
        Planned::DropRangeCheck(name) => alter(format!("DROP CONSTRAINT IF EXISTS {}", quote_ident(name))),
    }
}

fn column(spec: &ColumnSpec) -> String {
    let default = spec.default.map(default_expr);
    column_def(spec.name, &type_name(spec.ty), spec.primary_key, !spec.nullable, default)
}

#[cfg(test)]
mod tests;

//! PostgreSQL DDL for planned schema changes.

use super::types::{default_expr, type_name};
use crate::backend::sql::ddl::{column_def, create_index};
use crate::backend::sql::quote_ident;
use crate::schema::{ColumnSpec, ForeignKeySpec, Planned};

/// The SQL statement of one planned change to `table`.
pub(crate) fn statement(table: &str, planned: &Planned) -> String {
    let name = quote_ident(table);
    let alter = |change: String| format!("ALTER TABLE {name} {change}");
    match planned {
        Planned::DropTable => format!("DROP TABLE IF EXISTS {name} CASCADE"),
        // The foreign keys are added by the steps that follow, as to an existing table.
        Planned::CreateTable { columns, .. } => {
            let keys: Vec<&str> = columns.iter().filter(|c| c.primary_key).map(|c| c.name).collect();
            // A composite key is a table constraint; a single one stays on its column.
            let mut parts: Vec<String> = match keys.len() {
                1 => columns.iter().map(column).collect(),
                _ => columns.iter().map(|c| column(&ColumnSpec { primary_key: false, ..c.clone() })).collect(),
            };
            if keys.len() > 1 {
                let keys: Vec<String> = keys.iter().map(|k| quote_ident(k)).collect();
                parts.push(format!("PRIMARY KEY ({})", keys.join(", ")));
            }
            format!("CREATE TABLE {name} ({})", parts.join(", "))
        }
        Planned::AddColumn(spec) => alter(format!("ADD COLUMN {}", column(spec))),
        Planned::AlterType { column, .. } => {
            let (ty, column) = (type_name(column.ty), quote_ident(column.name));
            alter(format!("ALTER COLUMN {column} TYPE {ty} USING CAST({column} AS {ty})"))
        }
        Planned::DropColumn(column) => alter(format!("DROP COLUMN {}", quote_ident(column))),
        Planned::SetNotNull(column) => alter(format!("ALTER COLUMN {} SET NOT NULL", quote_ident(column))),
        Planned::DropNotNull(column) => alter(format!("ALTER COLUMN {} DROP NOT NULL", quote_ident(column))),
        Planned::CreateIndex(index) => create_index(table, index, index.inverted.then_some("GIN"), index.concurrently),
        Planned::DropIndex { name, concurrently } => {
            let concurrently = if *concurrently { "CONCURRENTLY " } else { "" };
            format!("DROP INDEX {concurrently}IF EXISTS {}", quote_ident(name))
        }
        Planned::AddRangeCheck(check) => alter(format!(
            "ADD CONSTRAINT {} CHECK ({} BETWEEN {} AND {})",
            quote_ident(&check.name),
            quote_ident(check.column),
            check.range.min,
            check.range.max
        )),
        Planned::DropRangeCheck(name) => alter(format!("DROP CONSTRAINT IF EXISTS {}", quote_ident(name))),
        // `NOT VALID` takes the lock only to record the key: the scan of existing rows is left
        // to `VALIDATE CONSTRAINT`, whose lock lets reads and writes go on.
        Planned::AddForeignKey(fk) => alter(format!(
            "ADD CONSTRAINT {} FOREIGN KEY ({}) {}{}",
            quote_ident(&fk.name),
            quote_ident(fk.column),
            references(fk),
            if fk.not_valid { " NOT VALID" } else { "" }
        )),
        Planned::ValidateForeignKey(fk) => alter(format!("VALIDATE CONSTRAINT {}", quote_ident(&fk.name))),
        Planned::DropForeignKey { name, .. } => alter(format!("DROP CONSTRAINT IF EXISTS {}", quote_ident(name))),
    }
}

/// `REFERENCES "parent" ("key") ON DELETE …`
fn references(fk: &ForeignKeySpec) -> String {
    format!("REFERENCES {} ({}) ON DELETE {}", quote_ident(fk.parent), quote_ident(fk.parent_key), fk.on_delete.sql())
}

fn column(spec: &ColumnSpec) -> String {
    let default = spec.default.map(default_expr);
    let mut declared = type_name(spec.ty);
    if spec.generated {
        // ALWAYS: the database refuses a key given by any writer, which would otherwise collide
        // with a later generated one.
        declared.push_str(" GENERATED ALWAYS AS IDENTITY");
    }
    column_def(spec.name, &declared, spec.primary_key, !spec.nullable, default)
}

#[cfg(test)]
mod tests;

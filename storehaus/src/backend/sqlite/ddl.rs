//! SQLite DDL for planned schema changes.
//!
//! SQLite can add, drop and rename columns but not alter one, so a type or `NULL`-ability change
//! (and adding a column `ALTER TABLE ADD COLUMN` refuses) rebuilds the table the way the SQLite
//! manual describes (<https://sqlite.org/lang_altertable.html#otheralter>): create the new table,
//! copy the rows, drop the old one, rename the new one, recreate indexes and triggers. To know what
//! to recreate, statements are written against a [`Layout`] of the table that each change updates.
//!
//! A rebuild reproduces columns (declared type, `NOT NULL`, default, primary key), `UNIQUE`
//! constraints, indexes and triggers. It does not reproduce `CHECK`, `FOREIGN KEY` or `COLLATE`
//! clauses, which StoreHaus never writes, so tables that have them by hand lose them.

use super::types::{conversion, default_expr, from_declared, type_name};
use super::unsupported;
use super::values::timestamptz_text;
use crate::backend::sql::{ddl, quote_ident as q, quote_literal};
use crate::error::StoreError;
use crate::model::system::SystemDefault;
use crate::schema::{ColumnSpec, Planned, RangeCheck};
use chrono::{DateTime, Utc};

/// A column as the table declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveColumn {
    pub name: String,
    /// The declared type as written (may be empty).
    pub declared: String,
    pub not_null: bool,
    /// The SQL that follows `DEFAULT`.
    pub default: Option<String>,
    /// Position in the primary key from 1; 0 when not part of it.
    pub primary_key: u32,
    /// A generated column, whose expression a rebuild cannot reproduce.
    pub generated: bool,
    /// An `INTEGER PRIMARY KEY AUTOINCREMENT`: the database assigns keys and never reuses one.
    pub autoincrement: bool,
}

/// An index of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveIndex {
    pub name: String,
    /// The indexed columns; empty names stand for expressions.
    pub columns: Vec<String>,
    pub unique: bool,
    /// Indexes only the rows of a `WHERE` clause.
    pub partial: bool,
    /// `CREATE INDEX` text; `None` for the index of a `UNIQUE` or `PRIMARY KEY` constraint.
    pub sql: Option<String>,
    /// Whether it backs a `UNIQUE` constraint of the table definition.
    pub unique_constraint: bool,
}

/// What a table is made of, as far as DDL needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    pub columns: Vec<LiveColumn>,
    pub indexes: Vec<LiveIndex>,
    /// `CREATE TRIGGER` texts.
    pub triggers: Vec<String>,
}

/// The SQL of one planned change to `table`, which `layout` describes before the change and after.
///
/// `now` is the constant default of a `now` column added to an existing table: `ADD COLUMN`
/// refuses non-constant defaults, and existing rows get the migration time as on PostgreSQL.
pub(crate) fn statement(
    table: &str,
    layout: &mut Layout,
    planned: &Planned,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let name = q(table);
    match planned {
        Planned::DropTable => {
            *layout = Layout::default();
            Ok(format!("DROP TABLE IF EXISTS {name}"))
        }
        Planned::CreateTable(specs) => {
            *layout = Layout { columns: specs.iter().map(|s| live(s, None)).collect(), ..Layout::default() };
            Ok(create_table(&name, layout))
        }
        Planned::AddColumn(spec) if spec.primary_key || (!spec.nullable && spec.default.is_none()) => {
            // ADD COLUMN takes neither a primary key nor NOT NULL without a default; diff only
            // plans the latter for an empty table, so the rebuild copies nothing.
            let mut new = layout.clone();
            new.columns.push(live(spec, None));
            rebuild(table, layout, new, None)
        }
        Planned::AddColumn(spec) => {
            let literal = (spec.default == Some(SystemDefault::Now)).then(|| quote_literal(&timestamptz_text(now)));
            let column = live(spec, literal);
            let sql = format!("ALTER TABLE {name} ADD COLUMN {}", column_def(&column, false));
            layout.columns.push(column);
            Ok(sql)
        }
        Planned::DropColumn(column) => {
            // SQLite refuses to drop an indexed column; PostgreSQL drops its indexes with it.
            let mut sql: Vec<String> = Vec::new();
            layout.indexes.retain(|index| match &index.sql {
                Some(_) if index.columns.contains(column) => {
                    sql.push(format!("DROP INDEX {}", q(&index.name)));
                    false
                }
                _ => true,
            });
            layout.columns.retain(|c| c.name != *column);
            sql.push(format!("ALTER TABLE {name} DROP COLUMN {}", q(column)));
            Ok(sql.join("; "))
        }
        Planned::AlterType { column: spec, .. } => {
            let mut new = layout.clone();
            let column = find(table, &mut new, spec.name)?;
            let from = from_declared(&column.declared);
            let Some(check) = from.and_then(|from| conversion(from, spec.ty, &format!("NEW.{}", q(spec.name)))) else {
                return Err(unsupported(format!(
                    "changing `{table}`.`{}` from {} to {}: a rebuild keeps stored values as they are, so only \
                     integer widths, float widths and text-stored types to TEXT can change",
                    spec.name,
                    column.declared,
                    type_name(spec.ty)
                )));
            };
            column.declared = type_name(spec.ty);
            let check = check
                .map(|when| (when, format!("a value of {} is out of range for {}", q(spec.name), column.declared)));
            rebuild(table, layout, new, check)
        }
        Planned::SetNotNull(column) | Planned::DropNotNull(column) => {
            let not_null = matches!(planned, Planned::SetNotNull(_));
            let mut new = layout.clone();
            find(table, &mut new, column)?.not_null = not_null;
            let check =
                not_null.then(|| (format!("NEW.{} IS NULL", q(column)), format!("{} contains NULL", q(column))));
            rebuild(table, layout, new, check)
        }
        Planned::CreateIndex(index) if index.inverted => {
            Err(unsupported(format!("the inverted index `{}` (SQLite cannot index array elements)", index.name)))
        }
        Planned::AddRangeCheck(check) => {
            let triggers = range_guard(table, check);
            let sql = triggers.join("; ");
            layout.triggers.extend(triggers);
            Ok(sql)
        }
        Planned::DropRangeCheck(guard) => {
            let names = [q(guard), q(&format!("{guard}{UPDATE_GUARD}"))];
            layout.triggers.retain(|sql| !names.iter().any(|n| sql.starts_with(&format!("CREATE TRIGGER {n} "))));
            Ok(names.map(|n| format!("DROP TRIGGER IF EXISTS {n}")).join("; "))
        }
        Planned::CreateIndex(index) => {
            let sql = ddl::create_index(table, index, None);
            layout.indexes.push(LiveIndex {
                name: index.name.clone(),
                columns: index.columns.iter().map(|c| (*c).to_owned()).collect(),
                unique: index.unique,
                partial: false,
                sql: Some(sql.clone()),
                unique_constraint: false,
            });
            Ok(sql)
        }
    }
}

/// What the update trigger of a range guard adds to the guard's name.
const UPDATE_GUARD: &str = "__update";

/// The triggers of a range guard: SQLite has no `ALTER TABLE … ADD CONSTRAINT`, and a `CHECK`
/// added by a rebuild would be lost by the next one, while triggers are kept (see `rebuild`).
/// `RAISE(ABORT)` undoes the whole statement, like a failed `CHECK`; its message is the guard's
/// name, which is how an error is traced back to the field.
fn range_guard(table: &str, check: &RangeCheck) -> [String; 2] {
    let column = q(check.column);
    let when = format!("NEW.{column} NOT BETWEEN {} AND {}", check.range.min, check.range.max);
    let body = format!("BEGIN SELECT RAISE(ABORT, {}); END", quote_literal(&check.name));
    [
        format!("CREATE TRIGGER {} BEFORE INSERT ON {} WHEN {when} {body}", q(&check.name), q(table)),
        format!(
            "CREATE TRIGGER {} BEFORE UPDATE OF {column} ON {} WHEN {when} {body}",
            q(&format!("{}{UPDATE_GUARD}", check.name)),
            q(table)
        ),
    ]
}

/// The column a spec describes; `default` overrides the spec's default expression.
fn live(spec: &ColumnSpec, default: Option<String>) -> LiveColumn {
    LiveColumn {
        name: spec.name.to_owned(),
        declared: if spec.generated { "INTEGER".to_owned() } else { type_name(spec.ty) },
        not_null: !spec.nullable,
        default: default.or_else(|| spec.default.map(|d| default_expr(d).to_owned())),
        primary_key: u32::from(spec.primary_key),
        generated: false,
        autoincrement: spec.generated,
    }
}

fn find<'l>(table: &str, layout: &'l mut Layout, column: &str) -> Result<&'l mut LiveColumn, StoreError> {
    layout
        .columns
        .iter_mut()
        .find(|c| c.name == column)
        .ok_or_else(|| unsupported(format!("changing `{table}`.`{column}`, which the table does not have")))
}

/// The definition of `column`; `primary_key` when the key is this column alone.
///
/// A generated key is a rowid alias, which only the exact type `INTEGER` makes (whatever the
/// model's integer width: the rowid is 64 bits); `AUTOINCREMENT` keeps the keys of deleted rows
/// from being given again, as PostgreSQL's identity never does.
fn column_def(column: &LiveColumn, primary_key: bool) -> String {
    if column.autoincrement {
        let declared = "INTEGER PRIMARY KEY AUTOINCREMENT";
        return ddl::column_def(&column.name, declared, false, column.not_null, column.default.as_deref());
    }
    ddl::column_def(&column.name, &column.declared, primary_key, column.not_null, column.default.as_deref())
}

/// `CREATE TABLE` with the columns, primary key and `UNIQUE` constraints of `layout`.
fn create_table(name: &str, layout: &Layout) -> String {
    let mut key: Vec<&LiveColumn> = layout.columns.iter().filter(|c| c.primary_key > 0).collect();
    key.sort_by_key(|c| c.primary_key);
    let single = |c: &LiveColumn| key.len() == 1 && c.primary_key > 0;
    let mut parts: Vec<String> = layout.columns.iter().map(|c| column_def(c, single(c))).collect();
    let list = |columns: &mut dyn Iterator<Item = &String>| columns.map(|c| q(c)).collect::<Vec<_>>().join(", ");
    if key.len() > 1 {
        parts.push(format!("PRIMARY KEY ({})", list(&mut key.iter().map(|c| &c.name))));
    }
    for index in layout.indexes.iter().filter(|i| i.unique_constraint) {
        parts.push(format!("UNIQUE ({})", list(&mut index.columns.iter())));
    }
    format!("CREATE TABLE {name} ({})", parts.join(", "))
}

/// The statements that turn the table `old` describes into the one `new` describes, keeping the
/// rows; `check` is a condition on `NEW` that refuses a row, with the message to refuse it with.
fn rebuild(table: &str, old: &mut Layout, new: Layout, check: Option<(String, String)>) -> Result<String, StoreError> {
    if let Some(column) = old.columns.iter().find(|c| c.generated) {
        return Err(unsupported(format!(
            "rebuilding `{table}`, whose generated column `{}` a rebuild cannot reproduce",
            column.name
        )));
    }
    let (name, temp) = (q(table), q(&format!("__new_{table}")));
    let copied: Vec<String> =
        new.columns.iter().filter(|c| old.columns.iter().any(|o| o.name == c.name)).map(|c| q(&c.name)).collect();
    let copied = copied.join(", ");
    let mut sql = vec![create_table(&temp, &new)];
    // A temporary trigger is the one way plain SQL can fail with a message of its own; it goes
    // with the transaction if the copy fails.
    let trigger = q("__storehaus_check");
    if let Some((when, message)) = &check {
        sql.push(format!(
            "CREATE TEMP TRIGGER {trigger} BEFORE INSERT ON {temp} WHEN {when} \
             BEGIN SELECT RAISE(ABORT, {}); END",
            quote_literal(&format!("cannot rebuild {name}: {message}"))
        ));
    }
    sql.push(format!("INSERT INTO {temp} ({copied}) SELECT {copied} FROM {name}"));
    if check.is_some() {
        sql.push(format!("DROP TRIGGER temp.{trigger}"));
    }
    sql.push(format!("DROP TABLE {name}"));
    sql.push(format!("ALTER TABLE {temp} RENAME TO {name}"));
    sql.extend(new.indexes.iter().filter_map(|i| i.sql.clone()));
    sql.extend(new.triggers.iter().cloned());
    *old = new;
    Ok(sql.join("; "))
}

#[cfg(test)]
mod tests;

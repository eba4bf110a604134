//! SQLite DDL for planned schema changes.
//!
//! SQLite can add, drop and rename columns but not alter one, so a type or `NULL`-ability change
//! (and adding a column `ALTER TABLE ADD COLUMN` refuses) rebuilds the table the way the SQLite
//! manual describes (<https://sqlite.org/lang_altertable.html#otheralter>): create the new table,
//! copy the rows, drop the old one, rename the new one, recreate indexes and triggers. To know what
//! to recreate, statements are written against a [`Layout`] of the table that each change updates.
//!
//! A rebuild reproduces columns (declared type, `NOT NULL`, default, primary key), `UNIQUE`
//! constraints, foreign keys (columns, parent, `ON DELETE` and `ON UPDATE` actions), indexes and
//! triggers. It does not reproduce `CHECK` or `COLLATE` clauses, nor a foreign key's `DEFERRABLE`,
//! which StoreHaus never writes, so tables that have them by hand lose them.
//!
//! SQLite has no `ALTER TABLE … ADD CONSTRAINT`: a foreign key is a column constraint of
//! `CREATE TABLE`, and adding one to an existing table, or dropping one, is a rebuild.

use super::types::{conversion, default_expr, from_declared, type_name};
use super::unsupported;
use super::values::timestamptz_text;
use crate::backend::sql::{ddl, quote_ident as q, quote_literal};
use crate::error::StoreError;
use crate::model::system::SystemDefault;
use crate::schema::{ColumnSpec, ForeignKeySpec, Planned, RangeCheck};
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

/// A foreign key of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveForeignKey {
    /// The referring columns, in order.
    pub columns: Vec<String>,
    /// The parent's table.
    pub parent: String,
    /// The referenced columns, in order; empty when the key refers to the parent's primary key
    /// without naming it.
    pub parent_columns: Vec<String>,
    /// The `ON DELETE` action as SQLite spells it (`NO ACTION` when none was given).
    pub on_delete: String,
    /// The `ON UPDATE` action, likewise.
    pub on_update: String,
}

impl LiveForeignKey {
    /// The key a spec describes.
    fn new(fk: &ForeignKeySpec) -> Self {
        LiveForeignKey {
            columns: vec![fk.column.to_owned()],
            parent: fk.parent.to_owned(),
            parent_columns: vec![fk.parent_key.to_owned()],
            on_delete: fk.on_delete.sql().to_owned(),
            on_update: NO_ACTION.to_owned(),
        }
    }

    /// `REFERENCES "parent" ("key", …) [ON DELETE …] [ON UPDATE …]`.
    fn references(&self) -> String {
        let mut sql = format!("REFERENCES {}", q(&self.parent));
        if !self.parent_columns.is_empty() {
            sql.push_str(&format!(" ({})", list(&self.parent_columns)));
        }
        for (event, action) in [("DELETE", &self.on_delete), ("UPDATE", &self.on_update)] {
            if action != NO_ACTION {
                sql.push_str(&format!(" ON {event} {action}"));
            }
        }
        sql
    }
}

/// The action of a foreign key that declares none.
const NO_ACTION: &str = "NO ACTION";

/// What a table is made of, as far as DDL needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    pub columns: Vec<LiveColumn>,
    pub indexes: Vec<LiveIndex>,
    /// `CREATE TRIGGER` texts.
    pub triggers: Vec<String>,
    pub foreign_keys: Vec<LiveForeignKey>,
}

/// The SQL of one planned change to `table`, which `layout` describes before the change and after;
/// empty for a change that needs no statement here (a foreign key the table already has, a
/// validation SQLite never needs).
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
        Planned::CreateTable { columns, foreign_keys } => {
            *layout = Layout {
                columns: columns.iter().map(|s| live(s, None)).collect(),
                foreign_keys: foreign_keys.iter().map(LiveForeignKey::new).collect(),
                ..Layout::default()
            };
            Ok(create_table(&name, layout))
        }
        Planned::AddForeignKey(fk) => {
            let key = LiveForeignKey::new(fk);
            if layout.foreign_keys.contains(&key) {
                return Ok(String::new());
            }
            let mut new = layout.clone();
            new.foreign_keys.push(key);
            rebuild(table, layout, new, None)
        }
        // Every key is checked as it is added: none is left to validate.
        Planned::ValidateForeignKey(_) => Ok(String::new()),
        Planned::DropForeignKey { column, .. } => {
            let mut new = layout.clone();
            new.foreign_keys.retain(|key| key.columns != [column.as_str()]);
            rebuild(table, layout, new, None)
        }
        Planned::DropColumn(column) if layout.foreign_keys.iter().any(|key| key.columns.contains(column)) => {
            // `DROP COLUMN` refuses a column of a foreign key; PostgreSQL drops the key with it.
            let mut new = layout.clone();
            new.columns.retain(|c| c.name != *column);
            new.indexes.retain(|index| index.sql.is_none() || !index.columns.contains(column));
            new.foreign_keys.retain(|key| !key.columns.contains(column));
            rebuild(table, layout, new, None)
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
        // SQLite builds an index in the migration's transaction: it has no concurrent build,
        // and no invalid index to drop (a failed build leaves nothing behind).
        Planned::DropIndex { name, .. } => {
            layout.indexes.retain(|index| &index.name != name);
            Ok(format!("DROP INDEX IF EXISTS {}", q(name)))
        }
        Planned::CreateIndex(index) => {
            let sql = ddl::create_index(table, index, None, false);
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

/// `CREATE TABLE` with the columns, primary key, `UNIQUE` constraints and foreign keys of
/// `layout`. A single-column foreign key is a constraint of its column; one over several columns
/// (only ever made by hand) a table constraint.
fn create_table(name: &str, layout: &Layout) -> String {
    let mut key: Vec<&LiveColumn> = layout.columns.iter().filter(|c| c.primary_key > 0).collect();
    key.sort_by_key(|c| c.primary_key);
    let single = |c: &LiveColumn| key.len() == 1 && c.primary_key > 0;
    let (own, shared): (Vec<&LiveForeignKey>, Vec<&LiveForeignKey>) =
        layout.foreign_keys.iter().partition(|fk| fk.columns.len() == 1);
    let mut parts: Vec<String> = layout
        .columns
        .iter()
        .map(|c| {
            let mut def = column_def(c, single(c));
            for fk in own.iter().filter(|fk| fk.columns[0] == c.name) {
                def.push(' ');
                def.push_str(&fk.references());
            }
            def
        })
        .collect();
    if key.len() > 1 {
        let names: Vec<String> = key.iter().map(|c| c.name.clone()).collect();
        parts.push(format!("PRIMARY KEY ({})", list(&names)));
    }
    for index in layout.indexes.iter().filter(|i| i.unique_constraint) {
        parts.push(format!("UNIQUE ({})", list(&index.columns)));
    }
    for fk in shared {
        parts.push(format!("FOREIGN KEY ({}) {}", list(&fk.columns), fk.references()));
    }
    format!("CREATE TABLE {name} ({})", parts.join(", "))
}

/// `"a", "b", …`
fn list(columns: &[String]) -> String {
    columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
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

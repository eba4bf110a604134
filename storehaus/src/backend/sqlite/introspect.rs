//! Reading a table's columns and indexes from SQLite's schema pragmas.

use super::ddl::{Layout, LiveColumn, LiveForeignKey, LiveIndex};
use super::types::from_declared;
use crate::backend::sql::{SqlText, quote_ident};
use crate::model::{OnDelete, TableDef};
use crate::schema::{ExistingColumn, ExistingForeignKey, ExistingIndex, TableSchema, foreign_key_name};
use sqlx::{Row, SqliteConnection};

/// Whether the table exists. Table names match without regard to ASCII case, as SQLite matches them.
const EXISTS: &str = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE";

/// Columns in order. `hidden` is 2 or 3 for generated columns and 1 for hidden columns of virtual
/// tables, which are not the table's own.
const COLUMNS: &str = "\
SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?) WHERE hidden <> 1 ORDER BY cid";

/// Every index with its key columns in order (a `NULL` name is an expression) and its text, which
/// is `NULL` for the indexes SQLite makes for `PRIMARY KEY` and `UNIQUE` constraints.
const INDEXES: &str = "\
SELECT il.name, il.\"unique\", il.origin, il.partial, ii.name, s.sql
FROM pragma_index_list(?1) AS il
JOIN pragma_index_info(il.name) AS ii
LEFT JOIN sqlite_schema AS s ON s.type = 'index' AND s.name = il.name
ORDER BY il.seq, ii.seqno";

/// The table's `CREATE TABLE` text, which alone tells whether its key is `AUTOINCREMENT`.
const TABLE_SQL: &str = "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE";

/// Foreign keys, one row per column in key order; `to` is `NULL` when the key refers to the
/// parent's primary key without naming it.
const FOREIGN_KEYS: &str = "\
SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq";

const TRIGGERS: &str = "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ? COLLATE NOCASE";

/// What the schema says of the table of `model`, for the diff and for DDL, with column names
/// spelled as the model spells them; `None` when it does not exist.
pub(crate) async fn table_schema(
    conn: &mut SqliteConnection,
    model: &TableDef,
) -> Result<Option<(TableSchema, Layout)>, sqlx::Error> {
    let table = model.name;
    if sqlx::query(EXISTS).bind(table).fetch_optional(&mut *conn).await?.is_none() {
        return Ok(None);
    }
    let mut layout = Layout::default();
    for row in sqlx::query(COLUMNS).bind(table).fetch_all(&mut *conn).await? {
        let default: Option<String> = row.try_get(3)?;
        layout.columns.push(LiveColumn {
            name: row.try_get(0)?,
            declared: row.try_get(1)?,
            not_null: row.try_get::<i64, _>(2)? != 0,
            // The pragma gives the expression without the parentheses it may have been written in.
            default: default.map(|d| format!("({d})")),
            primary_key: row.try_get(4)?,
            generated: row.try_get::<i64, _>(5)? != 0,
            autoincrement: false,
        });
    }
    let create: Option<String> = sqlx::query_scalar(TABLE_SQL).bind(table).fetch_optional(&mut *conn).await?.flatten();
    if create.as_deref().is_some_and(has_autoincrement) {
        // Only the one `INTEGER PRIMARY KEY` column of a table may carry the keyword.
        let mut keys: Vec<&mut LiveColumn> = layout.columns.iter_mut().filter(|c| c.primary_key > 0).collect();
        if let [key] = &mut keys[..] {
            key.autoincrement = true;
        }
    }
    for row in sqlx::query(INDEXES).bind(table).fetch_all(&mut *conn).await? {
        let name: String = row.try_get(0)?;
        let column = row.try_get::<Option<String>, _>(4)?.unwrap_or_default();
        if let Some(last) = layout.indexes.last_mut().filter(|i| i.name == name) {
            last.columns.push(column);
            continue;
        }
        layout.indexes.push(LiveIndex {
            name,
            columns: vec![column],
            unique: row.try_get(1)?,
            partial: row.try_get(3)?,
            sql: row.try_get(5)?,
            unique_constraint: row.try_get::<String, _>(2)? == "u",
        });
    }
    // The rows of one key follow each other, with the same `id`.
    let mut last_id: Option<i64> = None;
    for row in sqlx::query(FOREIGN_KEYS).bind(table).fetch_all(&mut *conn).await? {
        let (id, column, to): (i64, String, Option<String>) = (row.try_get(0)?, row.try_get(2)?, row.try_get(3)?);
        if last_id == Some(id)
            && let Some(last) = layout.foreign_keys.last_mut()
        {
            last.columns.push(column);
            last.parent_columns.extend(to);
            continue;
        }
        last_id = Some(id);
        layout.foreign_keys.push(LiveForeignKey {
            columns: vec![column],
            parent: row.try_get(1)?,
            parent_columns: to.into_iter().collect(),
            on_delete: row.try_get(5)?,
            on_update: row.try_get(4)?,
        });
    }
    // Range guards are triggers here (see `ddl::range_guard`), found by name like PostgreSQL's checks.
    let mut checks = Vec::new();
    for row in sqlx::query(TRIGGERS).bind(table).fetch_all(&mut *conn).await? {
        checks.push(row.try_get::<String, _>(0)?);
        layout.triggers.extend(row.try_get::<Option<String>, _>(1)?);
    }
    let probe = SqlText::assembled(format!("SELECT 1 FROM {} LIMIT 1", quote_ident(table)));
    let has_rows = sqlx::query(probe.into_sqlx()).fetch_optional(&mut *conn).await?.is_some();
    let mut schema = schema(table, &layout, has_rows);
    schema.checks = checks;
    model_spelling(model, &mut schema, &mut layout);
    // A generated key is declared `INTEGER`, the one spelling of a rowid alias, which holds the
    // 64 bits of an `i64` key as well.
    if let Some(key) = model.generated_key()
        && let Some(found) = schema.columns.iter_mut().find(|c| c.name == key.name && c.generated)
    {
        found.ty = Some(key.ty);
    }
    Ok(Some((schema, layout)))
}

/// The diff's view of a layout: declared types mapped, and, as on PostgreSQL, partial and
/// expression indexes and foreign keys over several columns left out.
fn schema(table: &str, layout: &Layout, has_rows: bool) -> TableSchema {
    let columns = layout
        .columns
        .iter()
        .map(|c| ExistingColumn {
            name: c.name.clone(),
            ty: from_declared(&c.declared),
            type_name: if c.declared.is_empty() { "no declared type".to_owned() } else { c.declared.clone() },
            // A primary key column allows NULL unless declared NOT NULL (a long-standing SQLite
            // quirk), but StoreHaus declares it NOT NULL and, as on PostgreSQL, a key is never null.
            nullable: !c.not_null && c.primary_key == 0,
            generated: c.autoincrement,
        })
        .collect();
    let indexes = layout
        .indexes
        .iter()
        .filter(|index| !index.partial && index.columns.iter().all(|c| !c.is_empty()))
        .map(|index| ExistingIndex {
            name: index.name.clone(),
            columns: index.columns.clone(),
            unique: index.unique,
            valid: true,
        })
        .collect();
    let foreign_keys = layout
        .foreign_keys
        .iter()
        .filter(|key| key.columns.len() == 1)
        .map(|key| ExistingForeignKey {
            // SQLite keeps no constraint names: a key is known by its column.
            name: foreign_key_name(table, &key.columns[0]),
            column: key.columns[0].clone(),
            parent: key.parent.clone(),
            parent_key: key.parent_columns.first().cloned(),
            on_delete: on_delete(&key.on_delete),
            // SQLite checks a key when the table is rebuilt with it, never later.
            validated: true,
        })
        .collect();
    TableSchema { columns, indexes, checks: Vec::new(), foreign_keys, has_rows }
}

/// The action of a foreign key as `pragma_foreign_key_list` spells it, if StoreHaus declares it.
fn on_delete(action: &str) -> Option<OnDelete> {
    [OnDelete::Restrict, OnDelete::Cascade, OnDelete::SetNull].into_iter().find(|a| a.sql() == action)
}

/// Whether a `CREATE TABLE` text has the `AUTOINCREMENT` keyword outside quoted names and
/// literals.
fn has_autoincrement(sql: &str) -> bool {
    let mut bare = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for ch in sql.chars() {
        match quote {
            // A doubled quote inside a quoted name reads as leaving and entering again: harmless.
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if matches!(ch, '"' | '\'' | '`') => quote = Some(ch),
            None if ch == '[' => quote = Some(']'),
            None => bare.push(ch.to_ascii_uppercase()),
        }
    }
    bare.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|word| word == "AUTOINCREMENT")
}

/// Spells the table's column names as the model does where they differ only in ASCII case: SQLite
/// matches column names without regard to it, so `Name` already is the model's `name`, and adding
/// `name` would fail as a duplicate.
fn model_spelling(table: &TableDef, schema: &mut TableSchema, layout: &mut Layout) {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name).chain(table.system_columns().map(|c| c.name)).collect();
    let respell = |found: &mut String| {
        if let Some(name) = names.iter().find(|n| n.eq_ignore_ascii_case(found)) {
            (*name).clone_into(found);
        }
    };
    schema.columns.iter_mut().for_each(|c| respell(&mut c.name));
    schema.indexes.iter_mut().flat_map(|i| &mut i.columns).for_each(respell);
    schema.foreign_keys.iter_mut().for_each(|k| respell(&mut k.column));
    layout.columns.iter_mut().for_each(|c| respell(&mut c.name));
    layout.indexes.iter_mut().flat_map(|i| &mut i.columns).for_each(respell);
    layout.foreign_keys.iter_mut().flat_map(|k| &mut k.columns).for_each(respell);
}

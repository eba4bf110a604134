//! The statements a model runs on every call, written once per store from the model's metadata
//! (identifiers quoted; every value a `?` placeholder), so each connection's statement cache hits.

use crate::backend::layout::record_columns;
use crate::backend::quote_ident;
use crate::model::system::{CREATED_AT, DELETED_AT, TAGS, UPDATED_AT, VERSION};
use crate::model::{TableDef, Write};

/// SQL text of a model's per-call statements; the parameters of each are documented in order.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// The create columns, the tags, then the clock twice (created, updated).
    pub insert: String,
    /// The key. Live rows only.
    pub get: String,
    /// The key. Deleted rows too.
    pub get_with_deleted: String,
    /// The update columns, the clock, then the key. Keeps the tags.
    pub update: String,
    /// The update columns, the tags, the clock, then the key.
    pub update_with_tags: String,
    /// `update` + the expected version (versioned tables only).
    pub update_versioned: Option<String>,
    /// `update_with_tags` + the expected version (versioned tables only).
    pub update_with_tags_versioned: Option<String>,
    /// The clock twice, then the key. Soft delete where the table has it.
    pub soft_delete: Option<String>,
    /// The clock, then the key. Soft-deleted rows come back (soft-delete tables only).
    pub restore: Option<String>,
    /// The key. Removes the row whatever its state.
    pub force_delete: String,
    /// The key. The state of the row: (`is_deleted`, `version`), for telling errors apart.
    pub probe: String,
    /// Live rows ordered by key.
    pub list_all: String,
    /// Live rows.
    pub count: String,
    /// An upsert's write to an existing row: the columns written on both create and update, the
    /// clock, the key. Keeps the tags. No soft-delete filter: the caller skips deleted rows.
    pub upsert_update: String,
    /// `upsert_update` with the tags after the columns.
    pub upsert_update_with_tags: String,
    /// The tags to add, the clock, the key.
    pub add_tags: String,
    /// The tags to remove, the clock, the key.
    pub remove_tags: String,
    /// The new tags, the clock, the key.
    pub set_tags: String,
    /// Whether writes produce change events (the store has signals).
    pub emit: bool,
}

impl Statements {
    pub(crate) fn new(table: &'static TableDef, emit: bool) -> Self {
        let name = quote_ident(table.name);
        let q = |column: &str| quote_ident(column);
        let columns = record_columns(table).iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
        let returning = format!(" RETURNING {columns}");
        let key = format!("{} = ?", q(table.primary_key().name));
        let live = if table.soft_delete { format!(" AND {} IS NULL", q(DELETED_AT)) } else { String::new() };
        let bump = if table.versioned { format!(", {0} = {0} + 1", q(VERSION)) } else { String::new() };

        let insert = {
            let mut names: Vec<String> = table.written_columns(Write::Create).map(|c| q(c.name)).collect();
            names.extend([TAGS, CREATED_AT, UPDATED_AT].map(q));
            let slots = vec!["?"; names.len()].join(", ");
            format!("INSERT INTO {name} ({}) VALUES ({slots}){returning}", names.join(", "))
        };
        let select = |filter: &str| format!("SELECT {columns} FROM {name} WHERE {key}{filter}");
        let live_only = if table.soft_delete { format!(" WHERE {} IS NULL", q(DELETED_AT)) } else { String::new() };

        // `columns` are the written ones, then the tags (optionally), the clock and the key.
        let set_columns = |columns: Vec<&str>, with_tags: bool, filter: &str| {
            let mut sets: Vec<String> = columns.into_iter().map(|c| format!("{} = ?", q(c))).collect();
            if with_tags {
                sets.push(format!("{} = ?", q(TAGS)));
            }
            sets.push(format!("{} = ?{bump}", q(UPDATED_AT)));
            format!("UPDATE {name} SET {} WHERE {key}{filter}{returning}", sets.join(", "))
        };
        let update_columns = || table.written_columns(Write::Update).map(|c| c.name).collect::<Vec<_>>();
        let update = |with_tags: bool, versioned_check: bool| {
            let version = if versioned_check { format!(" AND {} = ?", q(VERSION)) } else { String::new() };
            set_columns(update_columns(), with_tags, &format!("{live}{version}"))
        };
        let upsert_columns =
            || table.written_columns(Write::Create).filter(|c| c.update).map(|c| c.name).collect::<Vec<_>>();
        let versioned = |with_tags| table.versioned.then(|| update(with_tags, true));
        let set_deleted = |value: &str, state: &str| {
            format!(
                "UPDATE {name} SET {} = {value}, {} = ? WHERE {key} AND {} {state}{returning}",
                q(DELETED_AT),
                q(UPDATED_AT),
                q(DELETED_AT)
            )
        };
        let probe = {
            let deleted = if table.soft_delete { format!("{} IS NOT NULL", q(DELETED_AT)) } else { "0".to_owned() };
            let version = if table.versioned { q(VERSION) } else { "NULL".to_owned() };
            format!("SELECT {deleted}, {version} FROM {name} WHERE {key}")
        };

        // Tag edits keep the existing order and append only tags not already present; the tag
        // list is the first parameter.
        let tags = q(TAGS);
        let tags_update = |value: String| {
            format!("UPDATE {name} SET {tags} = {value}, {} = ?{bump} WHERE {key}{live}{returning}", q(UPDATED_AT))
        };
        let add_tags = tags_update(format!(
            "(SELECT json_group_array(v ORDER BY s, i) FROM (\
             SELECT value AS v, 0 AS s, key AS i FROM json_each({tags}) UNION ALL \
             SELECT value, 1, key FROM json_each(?) WHERE value NOT IN (SELECT value FROM json_each({tags}))))"
        ));
        let remove_tags = tags_update(format!(
            "(SELECT json_group_array(value ORDER BY key) FROM json_each({tags}) \
             WHERE value NOT IN (SELECT value FROM json_each(?)))"
        ));

        Statements {
            insert,
            get: select(&live),
            get_with_deleted: select(""),
            update: update(false, false),
            update_with_tags: update(true, false),
            update_versioned: versioned(false),
            update_with_tags_versioned: versioned(true),
            upsert_update: set_columns(upsert_columns(), false, ""),
            upsert_update_with_tags: set_columns(upsert_columns(), true, ""),
            soft_delete: table.soft_delete.then(|| set_deleted("?", "IS NULL")),
            restore: table.soft_delete.then(|| set_deleted("NULL", "IS NOT NULL")),
            force_delete: format!("DELETE FROM {name} WHERE {key}{returning}"),
            probe,
            list_all: format!("SELECT {columns} FROM {name}{live_only} ORDER BY {}", q(table.primary_key().name)),
            count: format!("SELECT COUNT(*) FROM {name}{live_only}"),
            add_tags,
            remove_tags,
            set_tags: tags_update("?".to_owned()),
            emit,
        }
    }
}

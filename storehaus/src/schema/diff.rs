//! Comparing a model's [`TableDef`] with the table the backend found.

use super::range::{RangeCheck, possible_check_names, range_checks};
use super::{Change, MigrateOptions};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::model::system::{AUTH, SystemDefault, TAGS};
use crate::types::ColumnType;

/// PostgreSQL truncates identifiers beyond 63 bytes; longer index names are shortened with a hash.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// A column as the model wants it: a declared field or a system column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    pub default: Option<SystemDefault>,
    pub primary_key: bool,
    /// The database assigns the value on insert (the key of an `auto_increment` model).
    pub generated: bool,
}

/// Every column of the model's table, declared fields first, then system columns.
pub(crate) fn column_specs(table: &TableDef) -> Vec<ColumnSpec> {
    let declared = table.columns.iter().map(|c| ColumnSpec {
        name: c.name,
        ty: c.ty,
        nullable: c.nullable,
        default: None,
        primary_key: c.primary_key,
        generated: c.generated(),
    });
    let system = table.system_columns().map(|c| ColumnSpec {
        name: c.name,
        ty: c.ty,
        nullable: c.nullable,
        default: c.default,
        primary_key: false,
        generated: false,
    });
    declared.chain(system).collect()
}

/// An index as the model wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexSpec {
    pub name: String,
    pub columns: Vec<&'static str>,
    pub unique: bool,
    /// An inverted (GIN) index, for the tags array.
    pub inverted: bool,
}

/// The declared indexes plus the GIN index on `__tags__`.
pub(crate) fn index_specs(table: &TableDef) -> Vec<IndexSpec> {
    let declared = table.indexes.iter().map(|index| IndexSpec {
        name: index_name(table.name, index.columns, if index.unique { "key" } else { "idx" }),
        columns: index.columns.to_vec(),
        unique: index.unique,
        inverted: false,
    });
    let tags = IndexSpec {
        name: index_name(table.name, &["tags"], "gin"),
        columns: vec![TAGS],
        unique: false,
        inverted: true,
    };
    let auth = table.auth.then(|| IndexSpec {
        name: index_name(table.name, &["auth"], "gin"),
        columns: vec![AUTH],
        unique: false,
        inverted: true,
    });
    declared.chain(std::iter::once(tags)).chain(auth).collect()
}

/// `{table}_{columns}_{suffix}`, shortened with a stable hash when it would exceed 63 bytes.
fn index_name(table: &str, columns: &[&str], suffix: &str) -> String {
    identifier(&format!("{table}_{}_{suffix}", columns.join("_")))
}

/// `name`, shortened with a stable hash when it would exceed 63 bytes.
pub(super) fn identifier(name: &str) -> String {
    let name = name.to_owned();
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return name;
    }
    let hash = format!("_{:016x}", fnv1a(name.as_bytes()));
    let mut cut = MAX_IDENTIFIER_BYTES - hash.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{hash}", &name[..cut])
}

/// FNV-1a: a small hash that is stable across Rust releases, unlike `DefaultHasher`.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

/// A column found in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExistingColumn {
    pub name: String,
    /// `None` for a type StoreHaus does not map.
    pub ty: Option<ColumnType>,
    /// The database's own name of the type, for messages.
    pub type_name: String,
    pub nullable: bool,
    /// The database assigns its values: an identity column on PostgreSQL, an `AUTOINCREMENT`
    /// key on SQLite.
    pub generated: bool,
}

/// An index found in the database (expression indexes are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExistingIndex {
    pub columns: Vec<String>,
    pub unique: bool,
}

/// What the backend found of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableSchema {
    pub columns: Vec<ExistingColumn>,
    pub indexes: Vec<ExistingIndex>,
    /// The names of the table's range guards (check constraints on PostgreSQL, triggers on SQLite).
    pub checks: Vec<String>,
    pub has_rows: bool,
}

/// A change together with what the backend needs to write its SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Planned {
    DropTable,
    CreateTable(Vec<ColumnSpec>),
    AddColumn(ColumnSpec),
    AlterType { column: ColumnSpec, from: String },
    DropColumn(String),
    SetNotNull(String),
    DropNotNull(String),
    CreateIndex(IndexSpec),
    AddRangeCheck(RangeCheck),
    DropRangeCheck(String),
}

impl Planned {
    /// The public description of the change; `type_name` spells a column type in the backend's dialect.
    pub(crate) fn change(&self, type_name: impl Fn(ColumnType) -> String) -> Change {
        match self {
            Planned::DropTable => Change::DropTable,
            Planned::CreateTable(_) => Change::CreateTable,
            Planned::AddColumn(c) => Change::AddColumn { column: c.name.to_owned() },
            Planned::AlterType { column, from } => {
                Change::AlterColumnType { column: column.name.to_owned(), from: from.clone(), to: type_name(column.ty) }
            }
            Planned::DropColumn(c) => Change::DropColumn { column: c.clone() },
            Planned::SetNotNull(c) => Change::SetNotNull { column: c.clone() },
            Planned::DropNotNull(c) => Change::DropNotNull { column: c.clone() },
            Planned::CreateIndex(i) => Change::CreateIndex {
                name: i.name.clone(),
                columns: i.columns.iter().map(|c| (*c).to_owned()).collect(),
                unique: i.unique,
            },
            Planned::AddRangeCheck(c) => Change::AddRangeCheck { name: c.name.clone(), column: c.column.to_owned() },
            Planned::DropRangeCheck(name) => Change::DropRangeCheck { name: name.clone() },
        }
    }
}

/// The changes that make `existing` (or no table, when `None`) match `table`.
///
/// Refuses, naming the column, any change that could lose data or fail on existing rows unless
/// `options` allows it; `type_name` spells types in the backend's dialect for those messages.
pub(crate) fn diff(
    table: &TableDef,
    existing: Option<&TableSchema>,
    options: &MigrateOptions,
    type_name: impl Fn(ColumnType) -> String,
) -> Result<Vec<Planned>, StoreError> {
    let wanted = column_specs(table);
    let indexes = index_specs(table);
    let checks = range_checks(table);
    let Some(existing) = existing.filter(|_| !options.recreate) else {
        let mut plan = Vec::with_capacity(indexes.len() + checks.len() + 2);
        if options.recreate {
            plan.push(Planned::DropTable);
        }
        plan.push(Planned::CreateTable(wanted));
        plan.extend(checks.into_iter().map(Planned::AddRangeCheck));
        plan.extend(indexes.into_iter().map(Planned::CreateIndex));
        return Ok(plan);
    };

    let unsafe_change = |column: &str, reason: String| StoreError::UnsafeMigration {
        table: table.name.to_owned(),
        column: column.to_owned(),
        reason,
    };
    let mut plan = Vec::new();
    // Guards of a type the field no longer has go first, before a type change could trip them.
    for name in possible_check_names(table) {
        if existing.checks.contains(&name) && !checks.iter().any(|c| c.name == name) {
            plan.push(Planned::DropRangeCheck(name));
        }
    }
    for spec in &wanted {
        let Some(found) = existing.columns.iter().find(|c| c.name == spec.name) else {
            if !spec.nullable && spec.default.is_none() && existing.has_rows {
                return Err(unsafe_change(
                    spec.name,
                    "a NOT NULL column without a default cannot be added to a table that has rows; \
                     make the field an Option<_> or fill the table after adding it as nullable"
                        .to_owned(),
                ));
            }
            plan.push(Planned::AddColumn(spec.clone()));
            continue;
        };
        if found.generated != spec.generated {
            let reason = if spec.generated {
                "the model's key is assigned by the database (auto_increment) but the column is not generated"
            } else {
                "the column is generated by the database but the model's key is not auto_increment"
            };
            return Err(unsafe_change(
                spec.name,
                format!("{reason}; recreate the table (MigrateOptions::recreate()) or convert the column by hand"),
            ));
        }
        if found.ty != Some(spec.ty) {
            if !options.allow_type_changes {
                return Err(unsafe_change(
                    spec.name,
                    format!(
                        "the column is {} but the model wants {}; pass MigrateOptions::allow_type_changes() to convert it",
                        found.type_name,
                        type_name(spec.ty)
                    ),
                ));
            }
            plan.push(Planned::AlterType { column: spec.clone(), from: found.type_name.clone() });
        }
        match (found.nullable, spec.nullable) {
            (true, false) if !options.allow_set_not_null => {
                return Err(unsafe_change(
                    spec.name,
                    "the column allows NULL but the model field is not an Option<_>; \
                     pass MigrateOptions::allow_set_not_null() to add the constraint"
                        .to_owned(),
                ));
            }
            (true, false) => plan.push(Planned::SetNotNull(spec.name.to_owned())),
            (false, true) => plan.push(Planned::DropNotNull(spec.name.to_owned())),
            _ => {}
        }
    }
    for found in &existing.columns {
        if wanted.iter().any(|w| w.name == found.name) {
            continue;
        }
        if !options.allow_column_drops {
            return Err(unsafe_change(
                &found.name,
                "the model no longer declares this column; pass MigrateOptions::allow_column_drops() to drop it and its data"
                    .to_owned(),
            ));
        }
        plan.push(Planned::DropColumn(found.name.clone()));
    }
    plan.extend(checks.into_iter().filter(|c| !existing.checks.contains(&c.name)).map(Planned::AddRangeCheck));
    for index in indexes {
        let present = existing.indexes.iter().any(|e| {
            e.unique == index.unique
                && e.columns.len() == index.columns.len()
                && e.columns.iter().zip(&index.columns).all(|(a, b)| a == b)
        });
        if !present {
            plan.push(Planned::CreateIndex(index));
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests;

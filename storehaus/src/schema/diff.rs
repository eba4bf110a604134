//! Comparing a model's [`TableDef`] with the table the backend found.

use super::range::{RangeCheck, possible_check_names, range_checks};
use super::{Change, MigrateOptions};
use crate::error::StoreError;
use crate::model::system::{AUTH, SystemDefault, TAGS};
use crate::model::{ForeignKeyDef, OnDelete, TableDef};
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
    /// Built without blocking writes, after the migration's transaction (PostgreSQL's
    /// `CREATE INDEX CONCURRENTLY`): the index goes on a table that already exists.
    pub concurrently: bool,
}

/// The declared indexes plus the GIN index on `__tags__`.
pub(crate) fn index_specs(table: &TableDef) -> Vec<IndexSpec> {
    let declared = table.indexes.iter().map(|index| IndexSpec {
        name: index_name(table.name, index.columns, if index.unique { "key" } else { "idx" }),
        columns: index.columns.to_vec(),
        unique: index.unique,
        inverted: false,
        concurrently: false,
    });
    let tags = IndexSpec {
        name: index_name(table.name, &["tags"], "gin"),
        columns: vec![TAGS],
        unique: false,
        inverted: true,
        concurrently: false,
    };
    let auth = table.auth.then(|| IndexSpec {
        name: index_name(table.name, &["auth"], "gin"),
        columns: vec![AUTH],
        unique: false,
        inverted: true,
        concurrently: false,
    });
    // Deleting or updating a parent row looks up the rows that refer to it: without an index on
    // the column, each of those is a scan of this table. An index (or key) that starts with the
    // column serves the lookup as well.
    let references = table
        .foreign_keys
        .iter()
        .filter(|fk| {
            let first = |columns: &[&str]| columns.first() == Some(&fk.column);
            !table.indexes.iter().any(|index| first(index.columns)) && table.primary_key().name != fk.column
        })
        .map(|fk| IndexSpec {
            name: index_name(table.name, &[fk.column], "idx"),
            columns: vec![fk.column],
            unique: false,
            inverted: false,
            concurrently: false,
        });
    declared.chain(references).chain(std::iter::once(tags)).chain(auth).collect()
}

/// A foreign key as the model wants it: `FOREIGN KEY (column) REFERENCES parent (key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForeignKeySpec {
    /// `{table}_{column}_fkey`, shortened like index names.
    pub name: String,
    pub column: &'static str,
    /// The parent's table.
    pub parent: &'static str,
    /// The parent's primary-key column.
    pub parent_key: &'static str,
    pub on_delete: OnDelete,
    /// Added to a table that has rows: PostgreSQL adds it `NOT VALID` and validates it once the
    /// migration's transaction has committed.
    pub not_valid: bool,
}

impl ForeignKeySpec {
    fn new(table: &TableDef, fk: &ForeignKeyDef, not_valid: bool) -> Self {
        let parent = fk.parent();
        ForeignKeySpec {
            name: foreign_key_name(table.name, fk.column),
            column: fk.column,
            parent: parent.name,
            parent_key: parent.primary_key().name,
            on_delete: fk.on_delete,
            not_valid,
        }
    }
}

/// The name of the foreign key on `column`: `{table}_{column}_fkey`, as PostgreSQL names one
/// left unnamed.
pub(crate) fn foreign_key_name(table: &str, column: &str) -> String {
    identifier(&format!("{table}_{column}_fkey"))
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
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
    /// `false` for an index a failed `CREATE INDEX CONCURRENTLY` left behind (PostgreSQL): no
    /// query uses it, yet writes still maintain it (and a unique one still refuses duplicates).
    pub valid: bool,
}

/// A single-column foreign key found in the database (keys over several columns, which
/// StoreHaus never makes, are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExistingForeignKey {
    /// The constraint name (on SQLite, which keeps none, the name StoreHaus would give it).
    pub name: String,
    pub column: String,
    /// The referenced table (schema-qualified when it is in another schema).
    pub parent: String,
    /// The referenced column; `None` when the key refers to the parent's primary key implicitly.
    pub parent_key: Option<String>,
    /// `None` for an action StoreHaus does not declare (`NO ACTION`, `SET DEFAULT`).
    pub on_delete: Option<OnDelete>,
    /// Whether the database has checked every row (PostgreSQL's `NOT VALID` keys are not).
    pub validated: bool,
}

impl ExistingForeignKey {
    /// Whether this is the key `wanted` describes.
    fn matches(&self, wanted: &ForeignKeySpec) -> bool {
        self.parent == wanted.parent
            && self.parent_key.as_deref().is_none_or(|key| key == wanted.parent_key)
            && self.on_delete == Some(wanted.on_delete)
    }
}

/// What the backend found of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableSchema {
    pub columns: Vec<ExistingColumn>,
    pub indexes: Vec<ExistingIndex>,
    /// The names of the table's range guards (check constraints on PostgreSQL, triggers on SQLite).
    pub checks: Vec<String>,
    pub foreign_keys: Vec<ExistingForeignKey>,
    pub has_rows: bool,
}

impl TableSchema {
    /// Whether the table has a foreign key from `fk`'s column to `fk`'s parent, whatever its action.
    pub(crate) fn refers_to_parent(&self, fk: &ForeignKeyDef) -> bool {
        let parent = fk.parent().name;
        self.foreign_keys.iter().any(|found| found.column == fk.column && found.parent == parent)
    }
}

/// A change together with what the backend needs to write its SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Planned {
    DropTable,
    /// The foreign keys are listed for backends that declare them in `CREATE TABLE` (SQLite); an
    /// [`Planned::AddForeignKey`] for each follows all the same.
    CreateTable {
        columns: Vec<ColumnSpec>,
        foreign_keys: Vec<ForeignKeySpec>,
    },
    AddColumn(ColumnSpec),
    AlterType {
        column: ColumnSpec,
        from: String,
    },
    DropColumn(String),
    SetNotNull(String),
    DropNotNull(String),
    CreateIndex(IndexSpec),
    /// An invalid index, dropped so that a [`Planned::CreateIndex`] builds it again.
    DropIndex {
        name: String,
        concurrently: bool,
    },
    AddRangeCheck(RangeCheck),
    DropRangeCheck(String),
    AddForeignKey(ForeignKeySpec),
    /// Check the rows against a key added `NOT VALID`; runs after the migration's transaction.
    ValidateForeignKey(ForeignKeySpec),
    DropForeignKey {
        name: String,
        column: String,
    },
}

impl Planned {
    /// Whether this change runs on its own after the migration's transaction, where the backend
    /// can: a concurrent index build (or drop), or the validation of a key added `NOT VALID`.
    pub(crate) fn outside_transaction(&self) -> bool {
        match self {
            Planned::CreateIndex(index) => index.concurrently,
            Planned::DropIndex { concurrently, .. } => *concurrently,
            Planned::ValidateForeignKey(_) => true,
            _ => false,
        }
    }

    /// The public description of the change; `type_name` spells a column type in the backend's dialect.
    pub(crate) fn change(&self, type_name: impl Fn(ColumnType) -> String) -> Change {
        match self {
            Planned::DropTable => Change::DropTable,
            Planned::CreateTable { .. } => Change::CreateTable,
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
            Planned::DropIndex { name, .. } => Change::DropIndex { name: name.clone() },
            Planned::DropRangeCheck(name) => Change::DropRangeCheck { name: name.clone() },
            Planned::AddForeignKey(fk) => Change::AddForeignKey {
                name: fk.name.clone(),
                column: fk.column.to_owned(),
                references: fk.parent.to_owned(),
                on_delete: fk.on_delete,
            },
            Planned::ValidateForeignKey(fk) => Change::ValidateForeignKey { name: fk.name.clone() },
            Planned::DropForeignKey { name, .. } => Change::DropForeignKey { name: name.clone() },
        }
    }
}

/// The changes that make `existing` (or no table, when `None`) match `table`.
///
/// Refuses, naming the column, any change that could lose data or fail on existing rows unless
/// `options` allows it; `type_name` spells types in the backend's dialect for those messages.
/// `missing_parents` names the parent tables of foreign keys that do not exist: a key to one of
/// them is refused.
pub(crate) fn diff(
    table: &TableDef,
    existing: Option<&TableSchema>,
    options: &MigrateOptions,
    missing_parents: &[&str],
    type_name: impl Fn(ColumnType) -> String,
) -> Result<Vec<Planned>, StoreError> {
    let unsafe_change = |column: &str, reason: String| StoreError::UnsafeMigration {
        table: table.name.to_owned(),
        column: column.to_owned(),
        reason,
    };
    for fk in table.foreign_keys {
        let parent = fk.parent();
        if parent.composite_key() {
            return Err(unsafe_change(
                fk.column,
                format!(
                    "the parent table `{}` (model `{}`) has a composite primary key, which a single-column \
                     foreign key cannot refer to",
                    parent.name, parent.model
                ),
            ));
        }
        // A model referring to itself gets its table in this same migration.
        if parent.name != table.name && missing_parents.contains(&parent.name) {
            return Err(unsafe_change(
                fk.column,
                format!(
                    "the foreign key refers to the table `{}`, which does not exist yet; migrate the parent \
                     model `{}` first",
                    parent.name, parent.model
                ),
            ));
        }
    }
    let wanted = column_specs(table);
    let indexes = index_specs(table);
    let checks = range_checks(table);
    let Some(existing) = existing.filter(|_| !options.recreate) else {
        let keys: Vec<ForeignKeySpec> =
            table.foreign_keys.iter().map(|fk| ForeignKeySpec::new(table, fk, false)).collect();
        let mut plan = Vec::with_capacity(indexes.len() + checks.len() + 2 * keys.len() + 2);
        if options.recreate {
            plan.push(Planned::DropTable);
        }
        plan.push(Planned::CreateTable { columns: wanted, foreign_keys: keys.clone() });
        plan.extend(checks.into_iter().map(Planned::AddRangeCheck));
        plan.extend(indexes.into_iter().map(Planned::CreateIndex));
        plan.extend(keys.into_iter().map(Planned::AddForeignKey));
        return Ok(plan);
    };

    let mut plan = Vec::new();
    // What to do with each declared key; keys on other columns are left alone, since StoreHaus
    // did not make them.
    let mut add_keys = Vec::new();
    let mut validate_keys = Vec::new();
    for fk in table.foreign_keys {
        let spec = ForeignKeySpec::new(table, fk, existing.has_rows);
        let on_column: Vec<&ExistingForeignKey> =
            existing.foreign_keys.iter().filter(|f| f.column == fk.column).collect();
        match on_column.iter().find(|found| found.matches(&spec)) {
            Some(found) if !found.validated => validate_keys.push(ForeignKeySpec { name: found.name.clone(), ..spec }),
            Some(_) => {}
            None => {
                // Another parent or action: the old key goes first, so the column is never held
                // to both.
                for found in on_column {
                    plan.push(Planned::DropForeignKey { name: found.name.clone(), column: found.column.clone() });
                }
                add_keys.push(spec);
            }
        }
    }
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
        let same = |e: &&ExistingIndex| {
            e.unique == index.unique
                && e.columns.len() == index.columns.len()
                && e.columns.iter().zip(&index.columns).all(|(a, b)| a == b)
        };
        if existing.indexes.iter().filter(same).any(|e| e.valid) {
            continue;
        }
        // A build that failed halfway left an invalid index behind: drop it, build it again.
        for invalid in existing.indexes.iter().filter(same) {
            plan.push(Planned::DropIndex { name: invalid.name.clone(), concurrently: true });
        }
        plan.push(Planned::CreateIndex(IndexSpec { concurrently: true, ..index }));
    }
    // A key added `NOT VALID` is validated after the transaction, as is one left unvalidated by
    // an earlier migration: validation goes last.
    validate_keys.extend(add_keys.iter().filter(|k| k.not_valid).cloned());
    plan.extend(add_keys.into_iter().map(Planned::AddForeignKey));
    plan.extend(validate_keys.into_iter().map(Planned::ValidateForeignKey));
    Ok(plan)
}

#[cfg(test)]
mod tests;

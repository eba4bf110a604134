//! [`RelationDef`]: what `#[model]` records of one relation, read by loaders, filters and docs.

use crate::model::TableDef;

/// How two models are related, with the columns that join them.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RelationKind {
    /// This model holds the other's key in `foreign_key` (`#[belongs_to]` on that field).
    BelongsTo {
        /// The column of this model holding the other model's key.
        foreign_key: &'static str,
    },
    /// Many rows of the other model hold this model's key in `foreign_key`.
    HasMany {
        /// The column of the other model holding this model's key.
        foreign_key: &'static str,
    },
    /// At most one row of the other model holds this model's key in `foreign_key`.
    HasOne {
        /// The column of the other model holding this model's key.
        foreign_key: &'static str,
    },
    /// Rows of a join model pair this model's key (`foreign_key`) with the other's (`target_key`).
    ManyToMany {
        /// The join model's table.
        through: fn() -> &'static TableDef,
        /// The join model's column holding this model's key.
        foreign_key: &'static str,
        /// The join model's column holding the other model's key.
        target_key: &'static str,
    },
}

/// One relation of a model, as `#[model]` declares it.
#[derive(Debug, Clone, Copy)]
pub struct RelationDef {
    /// The relation's name: the function `#[model]` generates for it (`posts` for `User::posts()`).
    pub name: &'static str,
    /// The kind and its join columns.
    pub kind: RelationKind,
    /// The model that declares the relation.
    pub from: fn() -> &'static TableDef,
    /// The related model.
    pub to: fn() -> &'static TableDef,
}

/// Where the rows of a related table meet the rows they are loaded for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Join {
    /// The column of the declaring table whose values are looked up (its key, or a foreign key).
    pub from_column: &'static str,
    /// The related table's column that holds those values, or, through a join table, that
    /// table and its two columns.
    pub to: JoinTo,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum JoinTo {
    /// A column of the related table.
    Column(&'static str),
    /// A join table: its column holding the declaring table's values, and its column holding the
    /// related table's key.
    Through { table: &'static TableDef, key: &'static str, target: &'static str },
}

impl RelationDef {
    /// The declaring table.
    pub fn from_table(&self) -> &'static TableDef {
        (self.from)()
    }

    /// The related table.
    pub fn to_table(&self) -> &'static TableDef {
        (self.to)()
    }

    /// The columns the relation joins on.
    pub(crate) fn join(&self) -> Join {
        let from_key = self.from_table().primary_key().name;
        match self.kind {
            RelationKind::BelongsTo { foreign_key } => {
                Join { from_column: foreign_key, to: JoinTo::Column(self.to_table().primary_key().name) }
            }
            RelationKind::HasMany { foreign_key } | RelationKind::HasOne { foreign_key } => {
                Join { from_column: from_key, to: JoinTo::Column(foreign_key) }
            }
            RelationKind::ManyToMany { through, foreign_key, target_key } => Join {
                from_column: from_key,
                to: JoinTo::Through { table: through(), key: foreign_key, target: target_key },
            },
        }
    }
}

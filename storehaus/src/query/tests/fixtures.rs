//! Hand-written model metadata for tests (`#[model]` cannot be used inside this crate).

use crate::model::{Column, ColumnDef, TableDef};
use crate::types::{ColumnType, ScalarType};

pub(crate) const fn column(name: &'static str, scalar: ScalarType, nullable: bool) -> ColumnDef {
    ColumnDef {
        name,
        ty: ColumnType::Scalar(scalar),
        nullable,
        int_range: None,
        primary_key: false,
        create: true,
        update: true,
        signal: true,
    }
}

/// A table of `columns` whose first column is the key, with no option set: tests override
/// what they need (`TableDef { soft_delete: true, ..table(..) }`).
pub(crate) const fn table(name: &'static str, model: &'static str, columns: &'static [ColumnDef]) -> TableDef {
    TableDef {
        name,
        model,
        columns,
        primary_key: 0,
        indexes: &[],
        soft_delete: false,
        versioned: false,
        auth: false,
        tenant: None,
        row_security: false,
        foreign_keys: &[],
    }
}

const fn array(name: &'static str, scalar: ScalarType) -> ColumnDef {
    ColumnDef { ty: ColumnType::Array(scalar), ..column(name, scalar, false) }
}

/// A soft-delete, versioned table with a column of every type.
pub(crate) const USERS: &TableDef = &TableDef {
    name: "users",
    model: "User",
    columns: &[
        ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::Uuid, false) },
        column("name", ScalarType::Text, false),
        column("email", ScalarType::Text, false),
        ColumnDef { update: false, ..column("referrer", ScalarType::Text, true) },
        ColumnDef { create: false, update: false, ..column("code", ScalarType::Text, true) },
        column("age", ScalarType::Integer, true),
        column("small", ScalarType::SmallInt, false),
        column("big", ScalarType::BigInt, false),
        column("ratio", ScalarType::Real, false),
        column("score", ScalarType::Double, false),
        column("balance", ScalarType::Decimal, false),
        column("active", ScalarType::Bool, false),
        column("meta", ScalarType::Json, false),
        column("avatar", ScalarType::Bytes, true),
        column("born", ScalarType::Date, true),
        column("wake", ScalarType::Time, true),
        column("seen", ScalarType::Timestamp, true),
        column("joined", ScalarType::TimestampTz, false),
        array("labels", ScalarType::Text),
        array("lucky", ScalarType::Integer),
    ],
    primary_key: 0,
    indexes: &[],
    soft_delete: true,
    versioned: true,
    auth: false,
    tenant: None,
    row_security: false,
    foreign_keys: &[],
};

/// A table without soft delete or versions; its key is not the first column.
pub(crate) const NOTES: &TableDef = &TableDef {
    name: "notes",
    model: "Note",
    columns: &[
        column("title", ScalarType::Text, false),
        ColumnDef { primary_key: true, ..column("key", ScalarType::BigInt, false) },
    ],
    primary_key: 1,
    indexes: &[],
    soft_delete: false,
    versioned: false,
    auth: false,
    tenant: None,
    row_security: false,
    foreign_keys: &[],
};

/// A small soft-delete, versioned table whose statements stay readable in assertions.
pub(crate) const POSTS: &TableDef = &TableDef {
    name: "posts",
    model: "Post",
    columns: &[
        ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::BigInt, false) },
        column("title", ScalarType::Text, false),
        column("views", ScalarType::Integer, false),
        column("meta", ScalarType::Json, false),
        array("labels", ScalarType::Text),
        column("rating", ScalarType::Double, true),
    ],
    primary_key: 0,
    indexes: &[],
    soft_delete: true,
    versioned: true,
    auth: false,
    tenant: None,
    row_security: false,
    foreign_keys: &[],
};

/// An `auth` table with a UUID tenant column, without soft delete.
pub(crate) const DOCS: &TableDef = &TableDef {
    name: "docs",
    model: "Doc",
    columns: &[
        ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::BigInt, false) },
        column("org_id", ScalarType::Uuid, false),
        column("title", ScalarType::Text, false),
    ],
    primary_key: 0,
    indexes: &[],
    soft_delete: false,
    versioned: false,
    auth: true,
    tenant: Some(1),
    row_security: false,
    foreign_keys: &[],
};

/// The model type of [`USERS`], for typed columns.
#[derive(Debug)]
pub(crate) struct User;

pub(crate) const NAME: Column<User, String> = Column::new("name", 1);
pub(crate) const REFERRER: Column<User, Option<String>> = Column::new("referrer", 3);
pub(crate) const AGE: Column<User, Option<i32>> = Column::new("age", 5);
pub(crate) const SCORE: Column<User, f64> = Column::new("score", 9);
pub(crate) const META: Column<User, serde_json::Value> = Column::new("meta", 12);
pub(crate) const LABELS: Column<User, Vec<String>> = Column::new("labels", 18);
pub(crate) const LUCKY: Column<User, Vec<i32>> = Column::new("lucky", 19);

/// A read of [`POSTS`] with a filter, two sort keys, paging and a row lock: every clause of a
/// `SELECT`, for the dialects' statement tests.
pub(crate) fn paged_posts() -> crate::query::QueryBuilder {
    use crate::query::{QueryBuilder, QueryFilter, SortOrder};
    QueryBuilder::new()
        .filter(QueryFilter::gt("views", 10))
        .order_by("rating", SortOrder::Desc)
        .order_by("title", SortOrder::Asc)
        .limit(20)
        .offset(40)
        .for_update_skip_locked()
}

/// A read of [`POSTS`] whose values are a list, tags, a pattern and paging: the parameters of
/// every kind, for the dialects' binding tests.
pub(crate) fn bound_posts() -> crate::query::QueryBuilder {
    use crate::query::{QueryBuilder, QueryFilter};
    QueryBuilder::new()
        .filter(QueryFilter::in_values("views", [1, 2, 3]))
        .filter_by_any_tag(["a"])
        .filter(QueryFilter::like("title", "x%"))
        .limit(5)
        .offset(10)
}

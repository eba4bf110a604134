//! PostgreSQL DDL for planned schema changes, written with sea-query.

use super::types::{default_expr, type_name};
use crate::schema::{ColumnSpec, IndexSpec, Planned};
use sea_query::{Alias, ColumnDef, Expr, Index, IndexType, PostgresQueryBuilder, SeaRc, Table, TableAlterStatement};

/// The SQL statement of one planned change to `table`.
pub(crate) fn statement(table: &str, planned: &Planned) -> String {
    let name = Alias::new(table);
    match planned {
        Planned::DropTable => Table::drop().table(name).if_exists().cascade().to_string(PostgresQueryBuilder),
        Planned::CreateTable(columns) => {
            let mut create = Table::create();
            create.table(name);
            for column in columns {
                create.col(column_def(column));
            }
            create.to_string(PostgresQueryBuilder)
        }
        Planned::AddColumn(column) => alter(table).add_column(column_def(column)).to_string(PostgresQueryBuilder),
        Planned::AlterType { column, .. } => {
            let ty = type_name(column.ty);
            let using = Expr::col(Alias::new(column.name)).cast_as(Alias::new(ty.clone()));
            alter(table)
                .modify_column(ColumnDef::new(Alias::new(column.name)).custom(Alias::new(ty)).using(using))
                .to_string(PostgresQueryBuilder)
        }
        Planned::DropColumn(column) => alter(table).drop_column(Alias::new(column)).to_string(PostgresQueryBuilder),
        Planned::SetNotNull(column) => {
            alter(table).modify_column(ColumnDef::new(Alias::new(column)).not_null()).to_string(PostgresQueryBuilder)
        }
        Planned::DropNotNull(column) => {
            alter(table).modify_column(ColumnDef::new(Alias::new(column)).null()).to_string(PostgresQueryBuilder)
        }
        Planned::CreateIndex(index) => create_index(table, index),
    }
}

fn alter(table: &str) -> TableAlterStatement {
    let mut alter = Table::alter();
    alter.table(Alias::new(table));
    alter
}

fn column_def(spec: &ColumnSpec) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(spec.name));
    def.custom(Alias::new(type_name(spec.ty)));
    if spec.primary_key {
        def.primary_key();
    }
    if !spec.nullable {
        def.not_null();
    }
    if let Some(default) = spec.default {
        def.default(Expr::cust(default_expr(default)));
    }
    def
}

fn create_index(table: &str, index: &IndexSpec) -> String {
    let mut create = Index::create();
    create.name(&index.name).table(Alias::new(table));
    for column in &index.columns {
        create.col(Alias::new(*column));
    }
    if index.unique {
        create.unique();
    }
    if index.inverted {
        create.index_type(IndexType::Custom(SeaRc::new(Alias::new("GIN"))));
    }
    create.to_string(PostgresQueryBuilder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::system::SystemDefault;
    use crate::types::{ColumnType, ScalarType};

    fn spec(name: &'static str, ty: ColumnType, nullable: bool) -> ColumnSpec {
        ColumnSpec { name, ty, nullable, default: None, primary_key: false }
    }

    #[test]
    fn identifiers_are_quoted() {
        let columns = vec![
            ColumnSpec { primary_key: true, ..spec("id", ColumnType::Scalar(ScalarType::Uuid), false) },
            spec("order", ColumnType::Scalar(ScalarType::Text), true),
            ColumnSpec {
                default: Some(SystemDefault::EmptyArray),
                ..spec("__tags__", ColumnType::Array(ScalarType::Text), false)
            },
        ];
        let sql = statement("odd\"name", &Planned::CreateTable(columns));
        assert_eq!(
            sql,
            r#"CREATE TABLE "odd""name" ( "id" UUID PRIMARY KEY NOT NULL, "order" TEXT, "__tags__" TEXT[] NOT NULL DEFAULT '{}' )"#
        );
    }

    #[test]
    fn gin_index_on_tags() {
        let index = IndexSpec { name: "t_tags_gin".into(), columns: vec!["__tags__"], unique: false, inverted: true };
        assert_eq!(
            statement("t", &Planned::CreateIndex(index)),
            r#"CREATE INDEX "t_tags_gin" ON "t" USING GIN ("__tags__")"#
        );
    }

    #[test]
    fn type_change_casts() {
        let planned = Planned::AlterType {
            column: spec("n", ColumnType::Scalar(ScalarType::BigInt), false),
            from: "INTEGER".into(),
        };
        assert_eq!(
            statement("t", &planned),
            r#"ALTER TABLE "t" ALTER COLUMN "n" TYPE BIGINT USING CAST("n" AS BIGINT)"#
        );
    }
}

//! The changes that undo a plan, for the `down` section of a migration file.

use crate::schema::Planned;

/// The changes that undo `planned`, in the order they run (the reverse of the plan's); `Err`
/// says which change cannot be undone (its data or old definition is gone).
pub(super) fn undo(table: &str, planned: &[Planned]) -> Result<Vec<Planned>, String> {
    // A table the plan creates is dropped with everything the plan put on it.
    if planned.iter().any(|change| matches!(change, Planned::CreateTable { .. })) {
        return match planned.iter().any(|change| matches!(change, Planned::DropTable)) {
            true => Err(format!("the plan drops and recreates `{table}`, whose old rows are gone")),
            false => Ok(vec![Planned::DropTable]),
        };
    }
    let mut undo = Vec::with_capacity(planned.len());
    for change in planned.iter().rev() {
        let inverse = match change {
            Planned::AddColumn(column) => Planned::DropColumn(column.name.to_owned()),
            Planned::SetNotNull(column) => Planned::DropNotNull(column.clone()),
            Planned::DropNotNull(column) => Planned::SetNotNull(column.clone()),
            // In the down section's transaction, where a concurrent drop cannot run.
            Planned::CreateIndex(index) => Planned::DropIndex { name: index.name.clone(), concurrently: false },
            Planned::AddRangeCheck(check) => Planned::DropRangeCheck(check.name.clone()),
            Planned::AddForeignKey(key) => {
                Planned::DropForeignKey { name: key.name.clone(), column: key.column.to_owned() }
            }
            // Nothing to undo: an invalid index is rebuilt by the plan, a key validated in place.
            Planned::DropIndex { .. } | Planned::ValidateForeignKey(_) => continue,
            Planned::AlterType { column, from } => {
                return Err(format!("the column `{}` changes type from {from}; convert it back by hand", column.name));
            }
            Planned::DropColumn(column) => return Err(format!("the column `{column}` is dropped with its data")),
            Planned::DropRangeCheck(name) => return Err(format!("the range guard `{name}` is dropped")),
            Planned::DropForeignKey { name, .. } => return Err(format!("the foreign key `{name}` is replaced")),
            // A plan with these was answered above.
            Planned::DropTable | Planned::CreateTable { .. } => continue,
        };
        undo.push(inverse);
    }
    Ok(undo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ColumnSpec, IndexSpec};
    use crate::types::{ColumnType, ScalarType};

    fn column(name: &'static str) -> ColumnSpec {
        ColumnSpec {
            name,
            ty: ColumnType::Scalar(ScalarType::Text),
            nullable: true,
            default: None,
            primary_key: false,
            generated: false,
        }
    }

    fn index(name: &str) -> IndexSpec {
        IndexSpec { name: name.into(), columns: vec!["nick"], unique: false, inverted: false, concurrently: true }
    }

    #[test]
    fn a_created_table_is_dropped_with_all_on_it() {
        let planned = [
            Planned::CreateTable { columns: vec![column("a")], foreign_keys: vec![] },
            Planned::CreateIndex(index("t_a_idx")),
        ];
        assert_eq!(undo("t", &planned), Ok(vec![Planned::DropTable]));
        let recreated = [Planned::DropTable, planned[0].clone()];
        assert!(undo("t", &recreated).unwrap_err().contains("recreates"));
    }

    #[test]
    fn additions_are_undone_in_reverse_order_and_indexes_dropped_in_the_transaction() {
        let planned = [
            Planned::AddColumn(column("nick")),
            Planned::DropIndex { name: "t_nick_idx".into(), concurrently: true },
            Planned::CreateIndex(index("t_nick_idx")),
            Planned::SetNotNull("a".into()),
        ];
        assert_eq!(
            undo("t", &planned),
            Ok(vec![
                Planned::DropNotNull("a".into()),
                Planned::DropIndex { name: "t_nick_idx".into(), concurrently: false },
                Planned::DropColumn("nick".into()),
            ])
        );
    }

    #[test]
    fn changes_that_lose_what_was_there_have_no_undo() {
        let dropped = undo("t", &[Planned::DropColumn("old".into())]).unwrap_err();
        assert!(dropped.contains("`old`") && dropped.contains("data"), "{dropped}");
        let retyped = undo("t", &[Planned::AlterType { column: column("n"), from: "integer".into() }]).unwrap_err();
        assert!(retyped.contains("from integer"), "{retyped}");
    }
}

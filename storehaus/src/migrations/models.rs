//! The set of models a migration file is generated for.

use crate::model::{Model, TableDef};

/// A set of models: one model, or a tuple of up to 16 (`(User, Post, Comment)`), or `()` for
/// none. Their tables are planned parents first, whatever order the set names them in.
pub trait Models {
    /// The tables of the models, in the order the set names them.
    fn tables() -> Vec<&'static TableDef>;
}

impl Models for () {
    fn tables() -> Vec<&'static TableDef> {
        Vec::new()
    }
}

impl<T: Model> Models for T {
    fn tables() -> Vec<&'static TableDef> {
        vec![T::TABLE]
    }
}

macro_rules! tuple_models {
    ($($name:ident)+) => {
        impl<$($name: Model),+> Models for ($($name,)+) {
            fn tables() -> Vec<&'static TableDef> {
                vec![$($name::TABLE),+]
            }
        }
    };
}

tuple_models!(A);
tuple_models!(A B);
tuple_models!(A B C);
tuple_models!(A B C D);
tuple_models!(A B C D E);
tuple_models!(A B C D E F);
tuple_models!(A B C D E F G);
tuple_models!(A B C D E F G H);
tuple_models!(A B C D E F G H I);
tuple_models!(A B C D E F G H I J);
tuple_models!(A B C D E F G H I J K);
tuple_models!(A B C D E F G H I J K L);
tuple_models!(A B C D E F G H I J K L M);
tuple_models!(A B C D E F G H I J K L M N);
tuple_models!(A B C D E F G H I J K L M N O);
tuple_models!(A B C D E F G H I J K L M N O P);

/// `tables` without repeats, each after the tables its foreign keys refer to (among `tables`;
/// a reference back to a table already placed, or to itself, does not hold a table back).
pub(super) fn ordered(tables: &[&'static TableDef]) -> Vec<&'static TableDef> {
    let mut placed: Vec<&'static TableDef> = Vec::with_capacity(tables.len());
    let mut visiting: Vec<&str> = Vec::new();
    for table in tables {
        place(table, tables, &mut placed, &mut visiting);
    }
    placed
}

fn place(
    table: &'static TableDef,
    tables: &[&'static TableDef],
    placed: &mut Vec<&'static TableDef>,
    visiting: &mut Vec<&'static str>,
) {
    if placed.iter().any(|t| t.name == table.name) || visiting.contains(&table.name) {
        return;
    }
    visiting.push(table.name);
    for fk in table.foreign_keys {
        let parent = fk.parent();
        if let Some(parent) = tables.iter().find(|t| t.name == parent.name) {
            place(parent, tables, placed, visiting);
        }
    }
    visiting.pop();
    placed.push(table);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ForeignKeyDef, OnDelete};
    use crate::query::tests::fixtures::{column, table};
    use crate::types::ScalarType;

    const ID: &[crate::model::ColumnDef] = &[column("id", ScalarType::BigInt, false)];
    static USERS: TableDef = table("users", "User", ID);
    static POSTS: TableDef = TableDef {
        foreign_keys: &[ForeignKeyDef { column: "author_id", references: users, on_delete: OnDelete::Cascade }],
        ..table("posts", "Post", ID)
    };
    static COMMENTS: TableDef = TableDef {
        foreign_keys: &[
            ForeignKeyDef { column: "post_id", references: posts, on_delete: OnDelete::Cascade },
            ForeignKeyDef { column: "reply_to", references: comments, on_delete: OnDelete::SetNull },
        ],
        ..table("comments", "Comment", ID)
    };

    fn users() -> &'static TableDef {
        &USERS
    }
    fn posts() -> &'static TableDef {
        &POSTS
    }
    fn comments() -> &'static TableDef {
        &COMMENTS
    }

    fn names(tables: &[&'static TableDef]) -> Vec<&'static str> {
        ordered(tables).iter().map(|t| t.name).collect()
    }

    #[test]
    fn parents_come_first_whatever_the_order_given() {
        assert_eq!(names(&[&COMMENTS, &POSTS, &USERS]), ["users", "posts", "comments"]);
        assert_eq!(names(&[&USERS, &COMMENTS, &POSTS]), ["users", "posts", "comments"]);
    }

    #[test]
    fn a_parent_outside_the_set_and_repeats_hold_nothing_back() {
        assert_eq!(names(&[&COMMENTS, &COMMENTS]), ["comments"]);
        assert_eq!(names(&[&POSTS]), ["posts"]);
    }

    #[test]
    fn sets_list_their_tables() {
        assert!(<() as Models>::tables().is_empty());
    }
}

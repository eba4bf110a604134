use super::*;
use crate::model::IndexDef;
use crate::query::tests::fixtures::USERS;
use serde_json::json;

/// `USERS` with a unique `email`, a unique `(name, age)` and a plain index on `score`.
const ACCOUNTS: &TableDef = &TableDef {
    indexes: &[
        IndexDef { columns: &["email"], unique: true },
        IndexDef { columns: &["name", "age"], unique: true },
        IndexDef { columns: &["score"], unique: false },
    ],
    ..*USERS
};

fn names(columns: &[&ColumnDef]) -> Vec<&'static str> {
    columns.iter().map(|c| c.name).collect()
}

#[test]
fn the_target_is_the_key_or_exactly_a_unique_constraint() {
    assert_eq!(names(&Upsert::on_key().resolve(ACCOUNTS).unwrap().target), ["id"]);
    assert_eq!(names(&Upsert::on(["email"]).resolve(ACCOUNTS).unwrap().target), ["email"]);
    assert_eq!(names(&Upsert::on(["age", "name"]).resolve(ACCOUNTS).unwrap().target), ["age", "name"]);
    assert_eq!(names(&Upsert::on(["id"]).resolve(ACCOUNTS).unwrap().target), ["id"]);

    for fields in [vec!["score"], vec!["name"], vec!["name", "age", "email"], vec![]] {
        let err = Upsert::on(fields.clone()).resolve(ACCOUNTS).unwrap_err();
        assert!(
            matches!(&err, StoreError::Validation { message, .. } if message.contains("(email)")),
            "{fields:?}: {err:?}"
        );
    }
    let err = Upsert::on(["name", "name"]).resolve(ACCOUNTS).unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
    let err = Upsert::on(["emial"]).resolve(ACCOUNTS).unwrap_err();
    assert!(matches!(err, StoreError::UnknownField { .. }), "{err:?}");
    let err = Upsert::on(["__version__"]).resolve(ACCOUNTS).unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
}

#[test]
fn the_update_half_is_update_minus_insert_only_plus_on_update() {
    let how = Upsert::on(["email"]).insert_only(["name"]).increment("big", json!(2)).resolve(ACCOUNTS).unwrap();
    let columns: Vec<_> = ACCOUNTS.written_columns(Write::Update).collect();
    let values = columns.iter().map(|c| Value::Text(c.name.to_owned())).collect();
    let written: Vec<_> = how
        .assignments(ACCOUNTS, values)
        .into_iter()
        .map(|a| match a {
            Assignment::Set { column, .. } => format!("{}=", column.name),
            Assignment::Add { column, .. } => format!("{}+", column.name),
        })
        .collect();
    let mut expected: Vec<_> =
        columns.iter().filter(|c| !["name", "big"].contains(&c.name)).map(|c| format!("{}=", c.name)).collect();
    expected.push("big+".to_owned());
    assert_eq!(written, expected);

    let err = Upsert::on_key().insert_only(["referrer"]).resolve(ACCOUNTS).unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "referrer is create-only: {err:?}");
    let err = Upsert::on_key().increment("email", json!(1)).resolve(ACCOUNTS).unwrap_err();
    assert!(matches!(err, StoreError::Validation { .. }), "email is text: {err:?}");
}

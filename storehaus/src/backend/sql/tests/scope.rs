//! The access scope in the statements kept for a model: every statement that reaches existing
//! rows carries the scope's filter as slots after the key, bound in the order they are written.

use super::*;
use crate::query::tests::fixtures::DOCS;
use crate::query::{Scope, ScopeShape};
use std::sync::Arc;
use uuid::Uuid;

const ACME: Uuid = Uuid::from_u128(0xac3e);

fn scoped<D: Dialect>(shape: ScopeShape) -> Statements {
    Statements::new::<D>(DOCS, false, shape)
}

fn placeholders(sql: &str) -> usize {
    sql.matches('?').count()
}

#[test]
fn every_statement_reaching_rows_carries_the_scope_on_postgres() {
    let both = ScopeShape { auth: true, tenant: true };
    let s = scoped::<Postgres>(both);
    let filter = r#" AND ("__auth__" && $2::TEXT[] AND "org_id" = $3)"#;
    assert_eq!(
        s.get.sql.as_str(),
        format!(
            r#"SELECT "id", "org_id", "title", "__created_at__", "__updated_at__", "__tags__", "__auth__" FROM "docs" WHERE "id" = $1{filter}"#
        )
    );
    for statement in [&s.get_with_deleted, &s.delete, &s.force_delete, &s.probe] {
        assert!(statement.sql.as_str().contains(filter), "{}", statement.sql.as_str());
    }
    // Written values, tags, clock: the key is $4 and the scope follows it.
    for statement in s.update.iter() {
        let sql = statement.sql.as_str();
        assert!(sql.contains(r#""__auth__" && $"#) && sql.contains(r#" AND "org_id" = $"#), "{sql}");
    }
    let access = s.access.as_ref().expect("auth tables have grant and revoke");
    assert!(access[0].sql.as_str().starts_with(r#"UPDATE "docs" SET "__auth__" = "__auth__" || ARRAY"#));
    assert!(access[1].sql.as_str().contains(r#" AND ("__auth__" && $3::TEXT[] AND "org_id" = $4)"#));
    assert!(s.list_all.sql.as_str().contains(r#" WHERE ("__auth__" && $1::TEXT[] AND "org_id" = $2) ORDER BY"#));
    assert!(s.count.sql.as_str().ends_with(r#" WHERE ("__auth__" && $1::TEXT[] AND "org_id" = $2)"#));
    // A new row's `__auth__` follows the tags.
    assert!(
        s.insert
            .sql
            .as_str()
            .contains(r#"("id", "org_id", "title", "__tags__", "__auth__") VALUES ($1, $2, $3, $4, $5)"#)
    );
}

#[test]
fn the_unscoped_shape_of_a_scoped_model_has_no_filter() {
    let s = scoped::<Postgres>(ScopeShape::NONE);
    assert!(s.get.sql.as_str().ends_with(r#"WHERE "id" = $1"#), "{}", s.get.sql.as_str());
    assert!(!s.list_all.sql.as_str().contains("WHERE"));
    assert!(!s.count.sql.as_str().contains("WHERE"));
}

#[test]
fn sqlite_statements_take_the_scope_after_the_key_in_order() {
    let auth = scoped::<Sqlite>(ScopeShape { auth: true, tenant: false });
    let get = auth.get.sql.as_str();
    assert!(get.contains(r#"WHERE "docs"."id" = ? AND EXISTS (SELECT 1 FROM json_each("docs"."__auth__")"#), "{get}");
    assert_eq!(placeholders(get), 2);
    let both = scoped::<Sqlite>(ScopeShape { auth: true, tenant: true });
    assert_eq!(placeholders(both.get.sql.as_str()), 3);
    assert_eq!(placeholders(both.list_all.sql.as_str()), 2);
    // Tenant only: `"org_id" = ?` after the key.
    let tenant = scoped::<Sqlite>(ScopeShape { auth: false, tenant: true });
    assert!(tenant.delete.sql.as_str().contains(r#"WHERE "docs"."id" = ? AND "docs"."org_id" = ?"#));
}

#[test]
fn a_call_binds_the_scope_values_the_statement_holds_slots_for() {
    let scope = Scope {
        principals: Some(Arc::from(vec!["u1".to_owned(), "team".to_owned()])),
        tenant: Some(Value::Uuid(ACME)),
        unrestricted: false,
    };
    let condition = scope.condition(DOCS).expect("a scope with both filters");
    let mut bound = Bound::default();
    bind_condition::<Postgres>(DOCS, &mut bound, &condition).unwrap();
    assert_eq!(bound.0, [Value::Array(vec![Value::Text("u1".into()), Value::Text("team".into())]), Value::Uuid(ACME)]);
    let template = ScopeShape { auth: true, tenant: true }.template(DOCS).unwrap();
    let mut slots = Sql::<Postgres>::template(DOCS);
    slots.slots(&template);
    assert_eq!(slots.finish_template().0.as_str(), r#"("__auth__" && $1::TEXT[] AND "org_id" = $2)"#);
}

#[test]
fn restricting_a_query_puts_the_scope_before_its_own_condition() {
    let scope = Scope { principals: Some(Arc::from(vec!["u1".to_owned()])), tenant: None, unrestricted: false };
    let q = crate::query::QueryBuilder::new()
        .filter(crate::query::QueryFilter::or(vec![
            crate::query::QueryFilter::eq("title", serde_json::json!("x")),
            crate::query::QueryFilter::eq("title", serde_json::json!("y")),
        ]))
        .resolve(DOCS)
        .unwrap();
    let restricted = scope.restrict(&q);
    let (sql, _) = crate::backend::table::write_statement::<Postgres>(DOCS, chrono::Utc::now(), |s| {
        crate::backend::sql::select(s, &restricted)
    })
    .unwrap();
    assert!(
        sql.as_str().contains(r#"WHERE "__auth__" && $1::TEXT[] AND ("title" = $2 OR "title" = $3) ORDER BY"#),
        "{}",
        sql.as_str()
    );
}

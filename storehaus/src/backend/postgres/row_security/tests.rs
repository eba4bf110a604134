//! The policy's predicate, the migration's decisions and the scope settings' text; in `database`
//! (Cargo feature `testing`), the same run on PostgreSQL.

#[cfg(feature = "testing")]
mod database;

use super::*;
use crate::backend::postgres::introspect::PolicyState;
use crate::model::ColumnDef;
use crate::query::tests::fixtures::{self, column};
use crate::types::ScalarType;
use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

/// `auth`, a UUID tenant, `row_security`.
pub(super) const DOCS: &TableDef = &TableDef { row_security: true, ..*fixtures::DOCS };

/// [`DOCS`] with its tenant moved to a new text column.
pub(super) const DOCS_TEXT_TENANT: &TableDef = &TableDef {
    columns: &[
        ColumnDef { primary_key: true, update: false, ..column("id", ScalarType::BigInt, false) },
        column("title", ScalarType::Text, false),
        column("org", ScalarType::Text, true),
    ],
    tenant: Some(2),
    ..*DOCS
};

/// [`DOCS`] without row-level security.
pub(super) const DOCS_PLAIN: &TableDef = &TableDef { row_security: false, ..*DOCS };

const AUTH_TEST: &str = r#"(CASE WHEN NULLIF(current_setting('storehaus.principals', true), '') IS NULL THEN true ELSE "__auth__" && CAST(NULLIF(current_setting('storehaus.principals', true), '') AS TEXT[]) END)"#;

#[test]
fn the_predicate_tests_principals_and_tenant_with_the_column_type() {
    let tenant = r#"(CASE WHEN NULLIF(current_setting('storehaus.tenant', true), '') IS NULL THEN true ELSE "org_id" = CAST(NULLIF(current_setting('storehaus.tenant', true), '') AS UUID) END)"#;
    assert_eq!(predicate(DOCS).unwrap(), format!("{AUTH_TEST} AND {tenant}"));
    let text = predicate(&TableDef { auth: false, ..*DOCS_TEXT_TENANT }).unwrap();
    assert!(text.starts_with("(CASE WHEN") && text.contains(r#""org" = CAST("#) && text.ends_with("AS TEXT) END)"));
    assert_eq!(predicate(&TableDef { tenant: None, ..*DOCS }).unwrap(), AUTH_TEST);
    assert_eq!(predicate(&TableDef { tenant: None, auth: false, ..*DOCS }), None);
}

#[test]
fn identifiers_in_the_predicate_are_quoted() {
    const COLUMNS: &[ColumnDef] = &[
        ColumnDef { primary_key: true, ..column("id", ScalarType::BigInt, false) },
        column("or\"g", ScalarType::BigInt, false),
    ];
    let columns = COLUMNS;
    let odd = TableDef { columns, tenant: Some(1), auth: false, ..*DOCS };
    assert!(predicate(&odd).unwrap().contains(r#""or""g" = CAST("#));
}

fn ours(table: &TableDef) -> RowSecurityState {
    let source = predicate(table).unwrap();
    let (using, check) = (Some("deparsed".to_owned()), Some("deparsed".to_owned()));
    let comment = Some(fingerprint(&source, using.as_deref(), check.as_deref()));
    RowSecurityState {
        enabled: true,
        forced: true,
        policy: Some(PolicyState { plain: true, using, check, comment }),
        other_policies: 0,
    }
}

#[test]
fn a_new_table_gets_rls_enabled_forced_and_the_policy() {
    let added = additions(DOCS, &RowSecurityState::default());
    assert_eq!(added.len(), 3, "{added:?}");
    assert_eq!(added[0], r#"ALTER TABLE "docs" ENABLE ROW LEVEL SECURITY"#);
    assert_eq!(added[1], r#"ALTER TABLE "docs" FORCE ROW LEVEL SECURITY"#);
    let source = predicate(DOCS).unwrap();
    assert_eq!(
        added[2],
        format!(
            r#"CREATE POLICY "storehaus_scope" ON "docs" AS PERMISSIVE FOR ALL TO PUBLIC USING ({source}) WITH CHECK ({source})"#
        )
    );
    assert!(removals(DOCS, &RowSecurityState::default()).is_empty());
}

#[test]
fn a_table_in_line_needs_nothing() {
    assert!(removals(DOCS, &ours(DOCS)).is_empty());
    assert!(additions(DOCS, &ours(DOCS)).is_empty());
}

#[test]
fn a_stale_or_edited_policy_is_dropped_then_made_again() {
    let drop = vec![r#"DROP POLICY "storehaus_scope" ON "docs""#.to_owned()];
    // The model's tenant column changed.
    assert_eq!(removals(DOCS_TEXT_TENANT, &ours(DOCS)), drop);
    // Edited by hand: the catalog's expression no longer matches the fingerprint.
    let mut edited = ours(DOCS);
    edited.policy.as_mut().unwrap().using = Some("true".to_owned());
    assert_eq!(removals(DOCS, &edited), drop);
    let mut restrictive = ours(DOCS);
    restrictive.policy.as_mut().unwrap().plain = false;
    assert_eq!(removals(DOCS, &restrictive), drop);
    let mut unmarked = ours(DOCS);
    unmarked.policy.as_mut().unwrap().comment = None;
    assert_eq!(removals(DOCS, &unmarked), drop);
    // Once dropped, it is created again; RLS stays on meanwhile.
    let dropped = RowSecurityState { policy: None, ..ours(DOCS) };
    assert_eq!(additions(DOCS_TEXT_TENANT, &dropped).len(), 1);
}

#[test]
fn a_table_no_longer_row_security_loses_the_policy_and_rls() {
    assert_eq!(
        removals(DOCS_PLAIN, &ours(DOCS)),
        [
            r#"DROP POLICY "storehaus_scope" ON "docs""#,
            r#"ALTER TABLE "docs" NO FORCE ROW LEVEL SECURITY"#,
            r#"ALTER TABLE "docs" DISABLE ROW LEVEL SECURITY"#,
        ]
    );
    assert!(additions(DOCS_PLAIN, &RowSecurityState::default()).is_empty());
    // Policies of someone else's keep RLS on.
    let shared = RowSecurityState { other_policies: 1, ..ours(DOCS) };
    assert_eq!(removals(DOCS_PLAIN, &shared), [r#"DROP POLICY "storehaus_scope" ON "docs""#]);
    // RLS turned on by hand, without the policy, is not StoreHaus's to turn off.
    let by_hand = RowSecurityState { policy: None, ..ours(DOCS) };
    assert!(removals(DOCS_PLAIN, &by_hand).is_empty());
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn principals_become_a_quoted_text_array_literal() {
    assert_eq!(text_array_literal(&[]).unwrap(), "{}");
    assert_eq!(text_array_literal(&strings(&["user_1"])).unwrap(), r#"{"user_1"}"#);
    assert_eq!(
        text_array_literal(&strings(&["a,b", "q\"t", "b\\s", "{x}", "NULL", " ", "ü🦀"])).unwrap(),
        r#"{"a,b","q\"t","b\\s","{x}","NULL"," ","ü🦀"}"#
    );
    let nul = text_array_literal(&strings(&["a\0b"])).unwrap_err();
    assert!(matches!(nul, StoreError::Validation { .. }), "{nul:?}");
}

#[test]
fn tenant_values_become_text_postgres_casts_back() {
    let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(678_901);
    let date = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let cases = [
        (Value::Uuid(id), "01234567-89ab-cdef-0123-456789abcdef"),
        (Value::Text("org,\"1\"".to_owned()), "org,\"1\""),
        (Value::BigInt(-9_000_000_000), "-9000000000"),
        (Value::Integer(7), "7"),
        (Value::SmallInt(-3), "-3"),
        (Value::Bool(true), "true"),
        (Value::TimestampTz(at), "2026-01-02T03:04:05.678901Z"),
        (Value::Date(date), "2026-12-07"),
        (Value::Bytes(vec![0, 0xab]), "\\x00ab"),
    ];
    for (value, text) in cases {
        assert_eq!(tenant_text(&value).unwrap(), text, "{value:?}");
    }
    for refused in [Value::Null, Value::Text(String::new()), Value::Text("a\0".to_owned()), Value::Array(vec![])] {
        assert!(matches!(tenant_text(&refused), Err(StoreError::Validation { .. })), "{refused:?}");
    }
}

#[test]
fn the_scope_statement_is_fixed_text_with_two_parameters() {
    let (sql, args) = scope_settings(Some(&strings(&["a"])), Some(&Value::Integer(1))).unwrap();
    assert_eq!(
        sql.as_str(),
        "SELECT set_config('storehaus.principals', $1, true), set_config('storehaus.tenant', $2, true)"
    );
    assert_eq!(args.len(), 2);
    assert!(scope_settings(None, Some(&Value::Null)).is_err());
    assert!(scope_settings(Some(&strings(&["\0"])), None).is_err());
}

//! Hostile names and values: names never resolve unless they are columns, values stay values.

use super::*;

/// Field names and values built from the characters that break naive SQL assembly.
pub(crate) fn hostile_strings() -> Vec<String> {
    let pieces = [
        "'", "\"", ";", "--", "/*", "*/", "\\", "$1", "?", "%", "_", " OR 1=1", "\u{0}", "é", "名前", "🦀", "\n", "``",
        "[x]",
    ];
    let mut out: Vec<String> = pieces.iter().map(|p| (*p).to_owned()).collect();
    for (i, a) in pieces.iter().enumerate() {
        for b in pieces.iter().skip(i % 3).step_by(3) {
            out.push(format!("name{a}{b}"));
            out.push(format!("{a}name{b}"));
        }
    }
    out.push("name\"; DROP TABLE users; --".to_owned());
    out.push("' OR '1'='1".to_owned());
    out.push("name ".to_owned());
    out.push("NAME".to_owned());
    out
}

#[test]
fn hostile_names_are_unknown_fields_everywhere() {
    for name in hostile_strings() {
        let unknown = |err: StoreError| {
            assert!(matches!(&err, StoreError::UnknownField { field, .. } if *field == name), "{name:?}: {err:?}");
        };
        unknown(error(QueryFilter::eq(name.as_str(), json!("x"))));
        unknown(error(QueryFilter::in_values(name.as_str(), [1])));
        unknown(error(QueryFilter::like(name.as_str(), "x")));
        unknown(error(QueryFilter::is_null(name.as_str())));
        unknown(error(QueryFilter::json_has_key(name.as_str(), "k")));
        unknown(error(QueryFilter::array_overlaps(name.as_str(), ["x"])));
        unknown(QueryBuilder::new().order_by(name.as_str(), SortOrder::Desc).resolve(USERS).unwrap_err());
        unknown(UpdateSet::new().set(name.as_str(), json!(1)).resolve(USERS).unwrap_err());
    }
}

#[test]
fn hostile_values_stay_bound_values() {
    for value in hostile_strings() {
        let q = QueryBuilder::new()
            .filter(QueryFilter::eq("name", json!(value)))
            .filter(QueryFilter::like("email", value.as_str()))
            .filter_by_any_tag([value.as_str()])
            .filter(QueryFilter::json_path_text_eq("meta", [value.as_str()], value.as_str()));
        match q.resolve(USERS) {
            Ok(q) => {
                let Some(Condition::And(parts)) = q.condition else { panic!("{value:?}") };
                assert_eq!(
                    parts[0],
                    Condition::Compare {
                        column: col(USERS, "name"),
                        op: CompareOp::Eq,
                        value: Value::Text(value.clone())
                    }
                );
            }
            Err(err) => {
                assert!(value.contains('\0'), "{value:?}: {err}");
                assert!(matches!(err, StoreError::Validation { .. }), "{err}");
            }
        }
        // Numeric columns refuse text however it is spelled.
        assert!(matches!(error(QueryFilter::eq("age", json!(value))), StoreError::Validation { .. }));
    }
}

/// `depth` arrays nested in one another, built without recursion.
fn nested(depth: usize) -> serde_json::Value {
    (1..depth).fold(json!([]), |inner, _| serde_json::Value::Array(vec![inner]))
}

#[test]
fn json_deeper_than_the_limit_is_refused_wherever_it_is_a_value() {
    let limit = crate::types::MAX_JSON_DEPTH;
    for depth in [limit + 1, 2_000] {
        let deep = nested(depth);
        assert_invalid(&error(QueryFilter::json_contains("meta", deep.clone())), "meta", "deep");
        assert_invalid(&error(QueryFilter::json_path_eq("meta", ["a"], deep.clone())), "meta", "deep");
        assert_invalid(&error(QueryFilter::eq("meta", deep.clone())), "meta", "deep");
        assert_invalid(&UpdateSet::new().set("meta", deep).resolve(USERS).unwrap_err(), "meta", "deep");
    }
    let deepest_allowed = nested(limit);
    assert!(
        QueryBuilder::new().filter(QueryFilter::json_contains("meta", deepest_allowed.clone())).resolve(USERS).is_ok()
    );
    assert!(UpdateSet::new().set("meta", deepest_allowed).resolve(USERS).is_ok());
}

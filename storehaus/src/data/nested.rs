//! Folding dotted keys into a JSON tree: `config.app.name` → `{"config":{"app":{"name":…}}}`.

use serde_json::{Map, Value};

/// Folds `entries` (relative dotted paths, the empty path being the root itself) into one JSON
/// value, `{}` when there are none.
///
/// Entries are folded in byte order of their paths, so where a path is both a value and the
/// parent of others (`a` and `a.b`), the deeper entries win: `a` becomes an object holding `b`.
pub(crate) fn fold<'k>(entries: impl IntoIterator<Item = (&'k str, Value)>) -> Value {
    let mut sorted: Vec<(&str, Value)> = entries.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut root = Value::Object(Map::new());
    for (path, value) in sorted {
        if path.is_empty() {
            root = value;
            continue;
        }
        insert(&mut root, path, value);
    }
    root
}

/// Puts `value` at dotted `path` under `node`, making objects of whatever is in the way.
fn insert(mut node: &mut Value, path: &str, value: Value) {
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { unreachable!("made an object above") };
        if segments.peek().is_none() {
            map.insert(segment.to_owned(), value);
            return;
        }
        node = map.entry(segment.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The path of `key` relative to dotted `prefix`: `Some("")` for the prefix itself,
/// `Some("rest")` for `prefix.rest`, `None` for keys outside the subtree.
pub(crate) fn relative<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    let rest = key.strip_prefix(prefix)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn folds_dotted_keys() {
        let tree = fold([("config.app.name", json!("shop")), ("config.app.debug", json!(true)), ("theme", json!(1))]);
        assert_eq!(tree, json!({"config": {"app": {"name": "shop", "debug": true}}, "theme": 1}));
        assert_eq!(fold([]), json!({}));
    }

    #[test]
    fn deeper_keys_win_over_a_leaf_on_their_path() {
        assert_eq!(fold([("a.b", json!(2)), ("a", json!(1))]), json!({"a": {"b": 2}}));
        assert_eq!(fold([("", json!(5))]), json!(5));
        assert_eq!(fold([("", json!(5)), ("x", json!(1))]), json!({"x": 1}));
    }

    #[test]
    fn relative_paths_stay_inside_the_subtree() {
        assert_eq!(relative("config.app.name", "config"), Some("app.name"));
        assert_eq!(relative("config", "config"), Some(""));
        assert_eq!(relative("configuration", "config"), None);
        assert_eq!(relative("other", "config"), None);
    }
}

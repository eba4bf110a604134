//! `Json<T>`: any serde type stored as a JSONB document; sqlx's `Json<T>` is stored the same way.

use super::{ColumnType, ScalarType, SqlType, Value, ValueError};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::ops::{Deref, DerefMut};

/// Stores `T` as a JSON document (`JSONB`) and reads it back through serde.
///
/// Serializes transparently, so a model field `settings: Json<Settings>` appears in the model's
/// own JSON as the settings object itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Self {
        Json(value)
    }
}

impl<T> SqlType for Json<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    const COLUMN_TYPE: ColumnType = ColumnType::Scalar(ScalarType::Json);

    fn to_value(&self) -> Result<Value, ValueError> {
        encode(&self.0)
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        decode(value).map(Json)
    }
}

/// sqlx's wrapper, stored exactly as [`Json<T>`]: models written for sqlx, or for the original
/// StoreHaus, keep their `sqlx::types::Json<T>` fields.
impl<T> SqlType for sqlx::types::Json<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    const COLUMN_TYPE: ColumnType = ColumnType::Scalar(ScalarType::Json);

    fn to_value(&self) -> Result<Value, ValueError> {
        encode(&self.0)
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        decode(value).map(sqlx::types::Json)
    }
}

/// `value` as a JSON document, refused when it could not be stored or read back ([`check_json`]).
fn encode<T: Serialize>(value: &T) -> Result<Value, ValueError> {
    let json = serde_json::to_value(value).map_err(|e| ValueError::new(e.to_string()))?;
    check_json(&json)?;
    Ok(Value::Json(json))
}

/// A JSON document read back through serde.
fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    match value {
        Value::Json(v) => serde_json::from_value(v).map_err(|e| ValueError::new(e.to_string())),
        other => Err(ValueError::unexpected("Json", &other)),
    }
}

/// The deepest nesting of arrays and objects a JSON field may hold: `[[1]]` is 2 deep. serde_json,
/// which reads JSON columns back, refuses anything deeper, so a deeper value could be written but
/// never read again.
pub const MAX_JSON_DEPTH: usize = 127;

/// Refuses JSON that could be written but not stored or read back: nesting deeper than
/// [`MAX_JSON_DEPTH`], and NUL in a string or key, which PostgreSQL's JSONB cannot store (so
/// SQLite refuses it too, and both backends accept the same documents). Walks the value once, with
/// a list of its own instead of recursion, so a value of any depth is checked without using the
/// stack; stops at the first fault.
pub(crate) fn check_json(json: &serde_json::Value) -> Result<(), ValueError> {
    use serde_json::Value as J;
    let nul = || ValueError::new("JSON contains a NUL byte");
    let too_deep = || {
        ValueError::new(format!(
            "JSON nests arrays and objects more than {MAX_JSON_DEPTH} deep, deeper than can be read back"
        ))
    };
    let mut pending = vec![(json, 1_usize)];
    while let Some((value, depth)) = pending.pop() {
        match value {
            J::String(s) if s.contains('\0') => return Err(nul()),
            J::Null | J::Bool(_) | J::Number(_) | J::String(_) => {}
            _ if depth > MAX_JSON_DEPTH => return Err(too_deep()),
            J::Array(items) => pending.extend(items.iter().map(|child| (child, depth + 1))),
            J::Object(map) => {
                if map.keys().any(|key| key.contains('\0')) {
                    return Err(nul());
                }
                pending.extend(map.values().map(|child| (child, depth + 1)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

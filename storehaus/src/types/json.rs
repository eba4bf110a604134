//! `Json<T>`: any serde type stored as a JSONB document.

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
        serde_json::to_value(&self.0).map(Value::Json).map_err(|e| ValueError::new(e.to_string()))
    }

    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Json(v) => serde_json::from_value(v).map(Json).map_err(|e| ValueError::new(e.to_string())),
            other => Err(ValueError::unexpected("Json", &other)),
        }
    }
}

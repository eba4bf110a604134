//! Primary keys of one column or several: what `get_by_id`, `update`, `delete` and the batch
//! calls take.

use super::Model;
use crate::error::StoreError;
use crate::types::{SqlType, Value, ValueError};
use std::fmt::Debug;

/// The value of a model's primary key: one [`SqlType`] for a single `#[primary_key]`, a tuple
/// `(A, B, ..)` (up to four) for a composite key, in the order the key fields are declared.
///
/// Implemented for every `SqlType` and for tuples of them; `#[model]` picks the type.
pub trait Key: Clone + Debug + Send + Sync + 'static {
    /// How many columns the key spans.
    const COLUMNS: usize;

    /// The key's values in key-column order; on error, the position of the value that failed.
    fn to_values(&self) -> Result<Vec<Value>, (usize, ValueError)>;
}

impl<T: SqlType + Clone + Debug + Send + Sync + 'static> Key for T {
    const COLUMNS: usize = 1;

    #[inline]
    fn to_values(&self) -> Result<Vec<Value>, (usize, ValueError)> {
        Ok(vec![self.to_value().map_err(|e| (0, e))?])
    }
}

macro_rules! tuple_key {
    ($len:literal: $($name:ident $index:tt),+) => {
        impl<$($name: SqlType + Clone + Debug + Send + Sync + 'static),+> Key for ($($name,)+) {
            const COLUMNS: usize = $len;

            fn to_values(&self) -> Result<Vec<Value>, (usize, ValueError)> {
                Ok(vec![$(self.$index.to_value().map_err(|e| ($index, e))?),+])
            }
        }
    };
}

tuple_key!(2: A 0, B 1);
tuple_key!(3: A 0, B 1, C 2);
tuple_key!(4: A 0, B 1, C 2, D 3);

/// The values of `key` in key-column order; a value that does not convert is a `Validation`
/// error naming its column.
pub(crate) fn key_values<T: Model>(key: &T::Key) -> Result<Vec<Value>, StoreError> {
    key.to_values().map_err(|(index, e)| {
        let name = T::TABLE.key_columns().nth(index).map_or(T::TABLE.primary_key().name, |c| c.name);
        StoreError::validation(name, e.to_string())
    })
}

/// `key` as the database compares it: two keys are one row's exactly when their texts are equal.
pub(crate) fn key_identity<T: Model>(key: &T::Key) -> Result<String, StoreError> {
    let values: Vec<Value> = key_values::<T>(key)?
        .into_iter()
        // Equal decimals differ in scale (1.0 vs 1.00) but are one key to the database.
        .map(|value| match value {
            Value::Decimal(d) => Value::Decimal(d.normalize()),
            other => other,
        })
        .collect();
    Ok(format!("{values:?}"))
}

//! Primary keys of one column or several: what `get_by_id`, `update`, `delete` and the batch
//! calls take.

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

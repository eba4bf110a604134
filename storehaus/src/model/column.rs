//! Typed column handles: `User::columns().email` is a `Column<User, String>`.

use std::fmt;
use std::marker::PhantomData;

/// A column of model `M` holding values of type `T`.
///
/// `#[model]` generates one per field under `Model::columns()`, so a misspelled column is a
/// compile error rather than a runtime one.
pub struct Column<M, T> {
    name: &'static str,
    index: usize,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Column<M, T> {
    /// A handle on the column `name`, the `index`-th declared field. Called by generated code.
    #[doc(hidden)]
    pub const fn new(name: &'static str, index: usize) -> Self {
        Column { name, index, _types: PhantomData }
    }

    /// The column name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The position of the field among the model's declared fields.
    pub const fn index(&self) -> usize {
        self.index
    }
}

impl<M, T> Clone for Column<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T> Copy for Column<M, T> {}

impl<M, T> fmt::Debug for Column<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Column").field("name", &self.name).field("index", &self.index).finish()
    }
}

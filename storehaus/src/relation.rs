//! Relations between models: declared with `#[belongs_to]`, `#[has_many]`, `#[has_one]` and
//! `#[many_to_many]`, loaded with a query without one statement per parent, and filtered on with
//! [`QueryFilter::has`](crate::QueryFilter::has).
//!
//! `#[model]` gives every relation a function on its model, `User::posts()`, returning a
//! [`Relation`]: what [`GenericStore::find_with`](crate::GenericStore::find_with) loads, what
//! [`Loaded::related`] reads back, and what `QueryFilter::has` filters on. The guide
//! `docs/relations.md` covers declarations, migrations, loading and filters.

mod def;
mod handle;
mod load;
mod loaded;

pub(crate) use def::{Join, JoinTo};
pub use def::{RelationDef, RelationKind};
#[doc(hidden)]
pub use handle::{ForeignKey, KeyFn, LoadKeys, RelationKey};
pub use handle::{Include, Includes, Relation};
#[doc(hidden)]
pub use load::LoadCx;
pub(crate) use load::{check_distinct, load};
pub use loaded::Loaded;

//! [`Relation`]: the typed handle `#[model]` generates per relation, and [`Includes`], what
//! [`GenericStore::find_with`](crate::GenericStore::find_with) loads.

use super::def::RelationDef;
use super::load::{self, LoadCx};
use super::loaded::Loaded;
use crate::error::StoreError;
use crate::model::Model;
use crate::query::QueryBuilder;
use crate::query::resolved::ResolvedQuery;
use crate::signals::BoxFuture;
use crate::types::SqlType;
use std::fmt;
use std::hash::Hash;

/// A relation from model `P` to model `C`, as `#[model]` declares it: `User::posts()` is a
/// `Relation<User, Post>`.
///
/// Passed to [`GenericStore::find_with`](crate::GenericStore::find_with) it loads the related
/// records of every record found, in one statement for all of them; [`query`](Self::query)
/// filters, orders and limits them (the limit is per parent record), [`with`](Self::with) loads
/// the related records' own relations, and [`with_count`](Self::with_count) counts them instead.
/// Passed to [`Loaded::related`] it reads them back.
///
/// ```
/// # use storehaus::prelude::*;
/// # #[model]
/// # #[table(name = "rel_doc_users")]
/// # #[has_many(Post, foreign_key = "author_id")]
/// # pub struct User { #[primary_key] pub id: i64, pub name: String }
/// # #[model]
/// # #[table(name = "rel_doc_posts")]
/// # pub struct Post { #[primary_key] pub id: i64, #[belongs_to(User)] pub author_id: i64, pub title: String }
/// use storehaus::query::{QueryBuilder, SortOrder};
///
/// // Each user's three newest posts, each post with its author.
/// let posts = User::posts()
///     .query(QueryBuilder::new().order_by("id", SortOrder::Desc).limit(3))
///     .with(Post::author());
/// # let _ = posts;
/// ```
pub struct Relation<P: Model, C: Model> {
    pub(super) def: &'static RelationDef,
    pub(super) keys: &'static dyn LoadKeys<P, C>,
    pub(super) query: QueryBuilder,
    pub(super) nested: Vec<Include<C>>,
    pub(super) count: bool,
    pub(super) joined: bool,
}

impl<P: Model, C: Model> Relation<P, C> {
    /// The handle of the relation `def`, whose rows meet `P`'s rows on the values `keys` reads.
    /// Called by generated code.
    #[doc(hidden)]
    pub const fn new(def: &'static RelationDef, keys: &'static dyn LoadKeys<P, C>) -> Self {
        Relation { def, keys, query: QueryBuilder::EMPTY, nested: Vec::new(), count: false, joined: false }
    }

    /// What `#[model]` declared.
    pub fn def(&self) -> &'static RelationDef {
        self.def
    }

    /// The relation's name (the function that returns it).
    pub fn name(&self) -> &'static str {
        self.def.name
    }

    /// Filters, orders and limits the related records: a limit or offset applies to each parent
    /// record's related records, not to all of them. Soft-deleted records are left out unless
    /// the query says [`with_deleted`](QueryBuilder::with_deleted). Cursors and row locks do not
    /// apply here and are refused when the load runs.
    pub fn query(mut self, query: QueryBuilder) -> Self {
        self.query = query;
        self
    }

    /// Loads the related records' own relations too: `User::posts().with(Post::comments())`.
    pub fn with(mut self, nested: impl Includes<C>) -> Self {
        nested.add_to(&mut self.nested);
        self
    }

    /// Counts the related records of each parent instead of loading them (one `GROUP BY`
    /// statement); read with [`Loaded::count`]. The query's filters apply; its order and limit do
    /// not.
    pub fn with_count(mut self) -> Self {
        self.count = true;
        self
    }

    /// Loads the related records in the records' own statement, with a `LEFT JOIN`, instead of
    /// a statement of their own: one round trip instead of two, for a belongs-to, a has-one, or
    /// a has-many whose rows are few per record (each record's columns come once per related
    /// row). At most one relation of a load is joined; a per-parent limit or offset and
    /// many-to-many relations are not (refused when the load runs). Nested relations still
    /// load in statements of their own.
    pub fn joined(mut self) -> Self {
        self.joined = true;
        self
    }
}

impl<P: Model, C: Model> fmt::Debug for Relation<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relation")
            .field("name", &self.def.name)
            .field("kind", &self.def.kind)
            .field("query", &self.query)
            .field("nested", &self.nested.len())
            .field("count", &self.count)
            .field("joined", &self.joined)
            .finish()
    }
}

/// One relation to load, whatever model it leads to.
pub struct Include<P: Model>(Box<dyn Loader<P>>);

impl<P: Model> Include<P> {
    pub(crate) fn loader(&self) -> &dyn Loader<P> {
        &*self.0
    }
}

impl<P: Model> fmt::Debug for Include<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Include").field(&self.0.name()).finish()
    }
}

impl<P: Model, C: Model> From<Relation<P, C>> for Include<P> {
    fn from(relation: Relation<P, C>) -> Self {
        Include(Box::new(relation))
    }
}

/// The relations a load takes: one [`Relation`], a tuple of up to six, a `Vec<Include<P>>`
/// (`relation.into()`), or `()` for none.
pub trait Includes<P: Model> {
    /// Appends the relations to `out`.
    fn add_to(self, out: &mut Vec<Include<P>>);
}

impl<P: Model, C: Model> Includes<P> for Relation<P, C> {
    fn add_to(self, out: &mut Vec<Include<P>>) {
        out.push(self.into());
    }
}

impl<P: Model> Includes<P> for Include<P> {
    fn add_to(self, out: &mut Vec<Include<P>>) {
        out.push(self);
    }
}

impl<P: Model> Includes<P> for Vec<Include<P>> {
    fn add_to(self, out: &mut Vec<Include<P>>) {
        out.extend(self);
    }
}

impl<P: Model> Includes<P> for () {
    fn add_to(self, _: &mut Vec<Include<P>>) {}
}

macro_rules! tuple_includes {
    ($($name:ident $index:tt),+) => {
        impl<P: Model, $($name: Includes<P>),+> Includes<P> for ($($name,)+) {
            fn add_to(self, out: &mut Vec<Include<P>>) {
                $(self.$index.add_to(out);)+
            }
        }
    };
}

tuple_includes!(A 0);
tuple_includes!(A 0, B 1);
tuple_includes!(A 0, B 1, C 2);
tuple_includes!(A 0, B 1, C 2, D 3);
tuple_includes!(A 0, B 1, C 2, D 3, E 4);
tuple_includes!(A 0, B 1, C 2, D 3, E 4, F 5);

/// Loads one relation onto records of `P`.
pub(crate) trait Loader<P: Model>: Send + Sync {
    fn name(&self) -> &'static str;
    /// Refuses, before anything runs, a relation named twice at one level of this one's nested
    /// relations (at any depth).
    fn check(&self) -> Result<(), StoreError>;
    fn load<'a>(&'a self, cx: &'a LoadCx<'a>, parents: &'a mut [Loaded<P>]) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Whether the relation loads in the records' own statement.
    fn joined(&self) -> bool;
    /// The records of `q` (already restricted to the scope) with this relation loaded, in one
    /// statement.
    fn find_joined<'a>(
        &'a self,
        cx: &'a LoadCx<'a>,
        q: &'a ResolvedQuery,
    ) -> BoxFuture<'a, Result<Vec<Loaded<P>>, StoreError>>;
}

impl<P: Model, C: Model> Loader<P> for Relation<P, C> {
    fn name(&self) -> &'static str {
        self.def.name
    }

    fn check(&self) -> Result<(), StoreError> {
        load::check_distinct(&self.nested)
    }

    fn load<'a>(&'a self, cx: &'a LoadCx<'a>, parents: &'a mut [Loaded<P>]) -> BoxFuture<'a, Result<(), StoreError>> {
        self.keys.load(self, cx, parents)
    }

    fn joined(&self) -> bool {
        self.joined
    }

    fn find_joined<'a>(
        &'a self,
        cx: &'a LoadCx<'a>,
        q: &'a ResolvedQuery,
    ) -> BoxFuture<'a, Result<Vec<Loaded<P>>, StoreError>> {
        Box::pin(load::joined(self, cx, q))
    }
}

/// A value two related rows share: a key of one model, held by the other. One column of a type
/// that hashes (a composite key cannot be related to).
#[doc(hidden)]
pub trait RelationKey: SqlType + Hash + Eq + Clone + Send + Sync + 'static {}

impl<K: SqlType + Hash + Eq + Clone + Send + Sync + 'static> RelationKey for K {}

/// The value a record of `P` looks its related rows up by, with its type; erased behind
/// `&dyn` so that [`Relation`] names only the two models.
#[doc(hidden)]
pub trait LoadKeys<P: Model, C: Model>: Send + Sync {
    fn load<'a>(
        &'a self,
        relation: &'a Relation<P, C>,
        cx: &'a LoadCx<'a>,
        parents: &'a mut [Loaded<P>],
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// How to read the looked-up value from a record of `P`: its key, or a foreign key it holds.
/// Generated code keeps one in a `static` per relation.
#[doc(hidden)]
#[derive(Debug)]
pub struct KeyFn<P, K>(pub fn(&P) -> Option<K>);

impl<P: Model, C: Model, K: RelationKey> LoadKeys<P, C> for KeyFn<P, K> {
    fn load<'a>(
        &'a self,
        relation: &'a Relation<P, C>,
        cx: &'a LoadCx<'a>,
        parents: &'a mut [Loaded<P>],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(load::relation::<P, C, K>(relation, self.0, cx, parents))
    }
}

/// The value of a foreign-key field (`K`, or `Option<K>`) as the key `K` it refers to; what
/// generated code uses to check a foreign key's type against the related model's key.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a foreign key of type `{Self}` cannot hold the related model's key, of type `{K}`",
    label = "this field's type must be the related model's key type, or an Option of it"
)]
pub trait ForeignKey<K> {
    fn key(&self) -> Option<K>;
}

impl<K: Clone> ForeignKey<K> for K {
    #[inline]
    fn key(&self) -> Option<K> {
        Some(self.clone())
    }
}

impl<K: Clone> ForeignKey<K> for Option<K> {
    #[inline]
    fn key(&self) -> Option<K> {
        self.clone()
    }
}

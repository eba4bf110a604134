//! Procedural macros of StoreHaus: `#[model]` and `#[table]`.
//!
//! Use them through `storehaus` (`use storehaus::prelude::*;`); the generated code names only
//! `::storehaus::…` paths.
//!
//! | Macro | What it does |
//! |---|---|
//! | [`macro@model`] | turns a struct into a model: metadata, `Model` impl, `new`, typed columns, relations |
//! | [`macro@table`] | the table options read by `#[model]` (name, soft delete, versioning, access) |
//!
//! | Cargo feature | Enables |
//! |---|---|
//! | *(none)* | the crate has no optional features |
//!
//! The macros check every attribute before generating code and report all mistakes at once,
//! each at the span it concerns.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Turns a struct into a StoreHaus model.
///
/// ```ignore
/// #[model]
/// #[table(name = "users", soft_delete, versioned)]
/// #[index(name, age)]
/// #[unique(email, name)]
/// pub struct User {
///     #[primary_key]
///     pub id: Uuid,
///     #[field(create, update)]
///     pub name: String,
///     #[field(create)]
///     #[unique]
///     pub email: String,
///     #[index]
///     pub age: Option<i32>,
/// }
/// ```
///
/// Every field is a column, named as the field (`r#type` becomes `type`).
///
/// | attribute | meaning |
/// |---|---|
/// | `#[table(name = "..")]` | the table; required, right after `#[model]` |
/// | `#[table(soft_delete)]` | deletes set `__deleted_at__` (alias: `auto_soft_delete`) |
/// | `#[table(versioned)]` | updates check and bump `__version__` |
/// | `#[table(auth)]` | rows carry `__auth__`, the principals that may see them; every call needs a principal scope (`store.auth(..)`) or `unrestricted()` |
/// | `#[table(row_security)]` | PostgreSQL also enforces the scopes with row-level-security policies; needs `auth` or a `#[tenant]` field |
/// | `#[index(a, b)]`, `#[unique(a, b)]` on the struct | an index over several columns |
/// | `#[primary_key]` | the key: written on create, never updated, not an `Option` |
/// | no `#[field]` | written on create and on update |
/// | `#[field(create)]` / `#[field(update)]` | written on create only / on update only |
/// | `#[field(readonly)]` | never written by StoreHaus |
/// | `#[field(no_signal)]` | left out of change-event payloads (combines with the flags above) |
/// | `#[index]`, `#[unique]` on a field | an index on that column |
/// | `#[tenant]` | the tenant column: every call needs a tenant scope (`store.tenant(value)`) or `unrestricted()` |
///
/// Relations between models, each giving the model a function that returns its
/// `storehaus::Relation` (`User::posts()`), to load with `find_with` or filter on with `has`:
///
/// | attribute | meaning |
/// |---|---|
/// | `#[belongs_to(User)]` on a field | the field holds a `User`'s key (its type is `User`'s key type, or an `Option` of it); migrations add the foreign key |
/// | `on_delete = "restrict"`, `"cascade"`, `"set_null"` | what deleting the `User` does to this row; `"restrict"` by default, `"set_null"` needs an `Option` field |
/// | `#[has_many(Post, foreign_key = "author_id")]` | the `Post`s whose `author_id` holds this model's key |
/// | `#[has_one(Profile, foreign_key = "user_id")]` | the one `Profile` whose `user_id` holds this model's key |
/// | `#[many_to_many(Tag, through = PostTag, foreign_key = "post_id", target_key = "tag_id")]` | the `Tag`s paired with this model by `PostTag` rows: `post_id` holds this model's key, `tag_id` the `Tag`'s |
/// | `name = "..."` in any of them | the relation's name and function, instead of the default one |
///
/// The default names: a `#[belongs_to]` field's name without `_id` (`author_id` → `author`; a
/// field not ending in `_id` needs `name`), the related model in snake_case for `#[has_one]`
/// (`profile`), and pluralised for `#[has_many]` and `#[many_to_many]` (`posts`, `categories`).
/// `Self` names the model itself, as in `#[has_many(Self, foreign_key = "parent_id", name =
/// "children")]`. The fields a relation names are checked at compile time: they must exist and
/// hold the right key.
///
/// ```ignore
/// #[model]
/// #[table(name = "posts")]
/// #[many_to_many(Tag, through = PostTag, foreign_key = "post_id", target_key = "tag_id")]
/// pub struct Post {
///     #[primary_key]
///     pub id: i64,
///     #[belongs_to(User, on_delete = "cascade")]
///     pub author_id: i64,
/// }
/// ```
///
/// A field that creates do not write must be an `Option`. Every field type implements
/// `storehaus::types::SqlType`.
///
/// A model has at most one `#[tenant]` field. Its type is one scalar value (an `Option` too), not
/// a `Vec` or JSON; it is written on create (no `readonly`, no `#[field(update)]` alone, not an
/// `auto_increment` key) and is in every event (no `no_signal`). It may be part of the key and
/// carry `#[index]` or `#[unique]`.
///
/// ```ignore
/// #[model]
/// #[table(name = "invoices", auth, row_security)]
/// pub struct Invoice {
///     #[primary_key]
///     pub id: Uuid,
///     #[tenant]
///     pub org_id: Uuid,
///     pub total: i64,
/// }
/// ```
///
/// The macro derives `Debug`, `Clone`, `Serialize` and `Deserialize` unless the struct already
/// derives them, implements `storehaus::Model`, and adds `User::new(..)` (one argument per
/// field, in order), `User::columns()`, whose `UserColumns` holds a typed
/// `storehaus::Column` per field, and one function per relation.
#[proc_macro_attribute]
pub fn model(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::model(args.into(), input.into()).into()
}

/// The table options of a `#[model]` struct; see [`macro@model`].
///
/// It is read by `#[model]` and only takes effect after it: placed first, or on its own, it is
/// a compile error.
#[proc_macro_attribute]
pub fn table(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::table(args.into(), input.into()).into()
}

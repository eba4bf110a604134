//! Loading relations with a query: [`GenericStore::find_with`] and [`GenericStore::load`].

use super::GenericStore;
use crate::error::{Result, StoreError};
use crate::model::{Model, Record};
use crate::query::QueryBuilder;
use crate::relation::{Include, Includes, LoadCx, Loaded, check_distinct, load};

impl<T: Model> GenericStore<T> {
    /// The records matching `query`, each with the related records of `includes` attached: one
    /// statement for the records, then one per relation and level for all of them together,
    /// never one per record.
    ///
    /// `includes` is one relation handle (`User::posts()`), a tuple of them, or `()`; nest with
    /// [`Relation::with`](crate::Relation::with). Related rows are read with this store's
    /// transaction and scope: soft-deleted ones are left out unless the relation's query says
    /// otherwise, and a related `auth` or `#[tenant]` model is held to the store's principals or
    /// tenant (a store without the part a related model needs gets `AuthRequired` /
    /// `TenantRequired`, unless it is [`unrestricted`](Self::unrestricted)).
    ///
    /// ```ignore
    /// let users = users.find_with(QueryBuilder::new(), User::posts().with(Post::comments())).await?;
    /// for user in &users {
    ///     for post in user.related(User::posts()) {
    ///         println!("{}: {} ({} comments)", user.name, post.title, post.related(Post::comments()).len());
    ///     }
    /// }
    /// ```
    pub async fn find_with(&self, query: QueryBuilder, includes: impl Includes<T>) -> Result<Vec<Loaded<T>>> {
        let mut list: Vec<Include<T>> = Vec::new();
        includes.add_to(&mut list);
        check_distinct(&list)?;
        let joined: Vec<usize> = (0..list.len()).filter(|&i| list[i].loader().joined()).collect();
        let Some(&first) = joined.first() else {
            let records = self.find(query).await?;
            return self.load(records, list).await;
        };
        if joined.len() > 1 {
            return Err(StoreError::Validation {
                field: None,
                message: "at most one relation of a load is joined: two would multiply each other's rows".into(),
            });
        }
        let join = list.remove(first);
        let q = query.resolve(T::TABLE)?;
        let cx = self.cx()?;
        let load_cx = LoadCx { pool: self.pool(), tx: cx.tx, scope: cx.scope };
        let q = cx.scope.restrict(&q);
        let mut loaded = join.loader().find_joined(&load_cx, &q).await?;
        if !list.is_empty() && !loaded.is_empty() {
            load(&load_cx, &mut loaded, &list).await?;
        }
        Ok(loaded)
    }

    /// Attaches the related records of `includes` to `records` already read (by `get_by_id`,
    /// `find`, a page), as [`find_with`](Self::find_with) does.
    pub async fn load(&self, records: Vec<Record<T>>, includes: impl Includes<T>) -> Result<Vec<Loaded<T>>> {
        let mut list: Vec<Include<T>> = Vec::new();
        includes.add_to(&mut list);
        check_distinct(&list)?;
        let mut loaded: Vec<Loaded<T>> = records.into_iter().map(Loaded::new).collect();
        if list.is_empty() || loaded.is_empty() {
            return Ok(loaded);
        }
        if list.iter().any(|i| i.loader().joined()) {
            return Err(StoreError::Validation {
                field: None,
                message:
                    "records read before are loaded onto with statements of their own; `.joined()` applies to find_with"
                        .into(),
            });
        }
        let cx = self.cx()?;
        let load_cx = LoadCx { pool: self.pool(), tx: cx.tx, scope: cx.scope };
        load(&load_cx, &mut loaded, &list).await?;
        Ok(loaded)
    }
}

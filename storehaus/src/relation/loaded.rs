//! [`Loaded<T>`]: a record with the related records loaded for it.

use super::handle::Relation;
use crate::model::{Model, Record};
use std::any::Any;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A record with the related records a load attached to it: what
/// [`GenericStore::find_with`](crate::GenericStore::find_with) returns.
///
/// Derefs to the [`Record`] (and so to the model): `user.name` reads the field. Related records
/// are read with the relation's handle, typed by it:
///
/// ```ignore
/// for post in user.related(User::posts()) {
///     println!("{} has {} comments", post.title, post.related(Post::comments()).len());
/// }
/// ```
///
/// A record related to several parents (the author of many posts, a tag on many posts) is
/// loaded once and shared, hence the `Arc`.
///
/// Serializes as the record's flat object with one more member per relation loaded: an array
/// of the related records (themselves serialized this way), or the number counted. So an API
/// handler can return a loaded tree as JSON as it is.
pub struct Loaded<T> {
    record: Record<T>,
    related: Vec<Related>,
}

struct Related {
    name: &'static str,
    value: RelatedValue,
}

enum RelatedValue {
    /// A `Vec<Arc<Loaded<C>>>` of the relation's model `C`.
    Rows(Box<dyn RelatedRows>),
    Count(u64),
}

/// The related records of one relation, whatever their model: read back typed through `Any`,
/// or written out as JSON.
trait RelatedRows: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;
}

impl<C: Model> RelatedRows for Vec<Arc<Loaded<C>>> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        self.iter().map(|row| serde_json::to_value(&**row)).collect::<Result<Vec<_>, _>>().map(serde_json::Value::Array)
    }
}

impl<T> Loaded<T> {
    /// `record`, with nothing loaded yet.
    pub fn new(record: Record<T>) -> Self {
        Loaded { record, related: Vec::new() }
    }

    /// The record.
    pub fn record(&self) -> &Record<T> {
        &self.record
    }

    /// The record, dropping what was loaded with it.
    pub fn into_record(self) -> Record<T> {
        self.record
    }

    /// Whether the relation named `name` was loaded (or counted) for this record.
    pub fn is_loaded(&self, name: &str) -> bool {
        self.related.iter().any(|r| r.name == name)
    }

    pub(crate) fn attach_rows<C: Model>(&mut self, name: &'static str, rows: Vec<Arc<Loaded<C>>>) {
        self.set(name, RelatedValue::Rows(Box::new(rows)));
    }

    pub(crate) fn attach_count(&mut self, name: &'static str, count: u64) {
        self.set(name, RelatedValue::Count(count));
    }

    fn set(&mut self, name: &'static str, value: RelatedValue) {
        match self.related.iter_mut().find(|r| r.name == name) {
            Some(slot) => slot.value = value,
            None => self.related.push(Related { name, value }),
        }
    }
}

impl<T: Model> Loaded<T> {
    /// The records of `relation` loaded for this record, in the order of the relation's query
    /// (by key when it gives none). Empty when none are related, or when the load did not
    /// include the relation (see [`is_loaded`](Self::is_loaded)).
    pub fn related<C: Model>(&self, relation: Relation<T, C>) -> &[Arc<Loaded<C>>] {
        self.related
            .iter()
            .find(|r| r.name == relation.def.name)
            .and_then(|r| match &r.value {
                RelatedValue::Rows(rows) => rows.as_any().downcast_ref::<Vec<Arc<Loaded<C>>>>(),
                RelatedValue::Count(_) => None,
            })
            .map_or(&[], Vec::as_slice)
    }

    /// The first record of `relation`: the parent of a belongs-to, the one record of a has-one.
    pub fn one<C: Model>(&self, relation: Relation<T, C>) -> Option<&Loaded<C>> {
        self.related(relation).first().map(|r| &**r)
    }

    /// How many records `relation` has for this record: counted by a load with
    /// [`Relation::with_count`], or the number loaded. `None` when the load did neither.
    pub fn count<C: Model>(&self, relation: Relation<T, C>) -> Option<u64> {
        self.related.iter().find(|r| r.name == relation.def.name).and_then(|r| match &r.value {
            RelatedValue::Count(n) => Some(*n),
            RelatedValue::Rows(rows) => {
                rows.as_any().downcast_ref::<Vec<Arc<Loaded<C>>>>().map(|rows| rows.len() as u64)
            }
        })
    }
}

impl<T> Deref for Loaded<T> {
    type Target = Record<T>;

    fn deref(&self) -> &Record<T> {
        &self.record
    }
}

impl<T> From<Record<T>> for Loaded<T> {
    fn from(record: Record<T>) -> Self {
        Loaded::new(record)
    }
}

impl<T: fmt::Debug> fmt::Debug for Loaded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let related: Vec<(&str, Option<u64>)> = self
            .related
            .iter()
            .map(|r| {
                (
                    r.name,
                    match r.value {
                        RelatedValue::Count(n) => Some(n),
                        RelatedValue::Rows(_) => None,
                    },
                )
            })
            .collect();
        f.debug_struct("Loaded").field("record", &self.record).field("related", &related).finish()
    }
}

impl<T: serde::Serialize> serde::Serialize for Loaded<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut object = match serde_json::to_value(&self.record).map_err(S::Error::custom)? {
            serde_json::Value::Object(object) => object,
            other => return other.serialize(serializer),
        };
        for related in &self.related {
            let value = match &related.value {
                RelatedValue::Rows(rows) => rows.to_json().map_err(S::Error::custom)?,
                RelatedValue::Count(n) => serde_json::Value::from(*n),
            };
            object.insert(related.name.to_owned(), value);
        }
        object.serialize(serializer)
    }
}

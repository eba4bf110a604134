//! Resolving a [`QueryBuilder`] against a model: every name checked, every value typed.

use super::SortOrder;
use super::filter::{FilterKind, MAX_FILTER_DEPTH, Operand, QueryFilter};
use super::from_json::{check_json, check_nul, value_from_json};
use super::resolved::{
    ColumnRef, CompareOp, Condition, JsonCondition, Keyset, Order, RelatedCondition, ResolvedQuery, Visibility,
};
use super::{Position, QueryBuilder, Side};
use crate::error::StoreError;
use crate::model::TableDef;
use crate::types::{ColumnType, ScalarType, Value};

impl QueryBuilder {
    /// The query with every field name found in `table` and every value converted to its
    /// column's type; fails before anything runs.
    pub(crate) fn resolve(&self, table: &'static TableDef) -> Result<ResolvedQuery, StoreError> {
        if let Some(message) = &self.invalid {
            return Err(StoreError::Validation { field: None, message: message.clone() });
        }
        let visibility = match (self.visibility, table.soft_delete) {
            (visibility, true) => visibility,
            (Visibility::OnlyDeleted, false) => {
                return Err(StoreError::Validation {
                    field: None,
                    message: format!("`{}` has no soft delete, so no row is ever deleted-but-present", table.name),
                });
            }
            (_, false) => Visibility::Live,
        };
        // Before any walk over the filters: every pass below recurses once per level.
        if self.filters.iter().any(QueryFilter::is_too_deep) {
            return Err(too_deep());
        }
        let conditions = self.filters.iter().map(|f| resolve_filter(table, f)).collect::<Result<Vec<_>, _>>()?;
        let order = resolve_order(table, &self.order)?;
        let keyset =
            self.position.as_ref().map(|(position, side)| resolve_keyset(position, *side, &order)).transpose()?;
        Ok(ResolvedQuery {
            table,
            condition: top_level(conditions),
            visibility,
            order,
            limit: self.limit,
            offset: self.offset,
            keyset,
            from_end: self.from_end,
            lock: self.lock,
            all_rows: self.all_rows,
        })
    }
}

/// The conjunction of the top-level filters, or `None` when nothing restricts the rows (so an
/// `and(vec![])` cannot slip an unfiltered bulk write past the `all_rows` check).
fn top_level(conditions: Vec<Condition>) -> Option<Condition> {
    let mut flat = Vec::with_capacity(conditions.len());
    flatten_and(conditions, &mut flat);
    match flat.len() {
        0 => None,
        1 => flat.pop(),
        _ => Some(Condition::And(flat)),
    }
}

fn flatten_and(conditions: Vec<Condition>, out: &mut Vec<Condition>) {
    for condition in conditions {
        match condition {
            Condition::And(inner) => flatten_and(inner, out),
            other => out.push(other),
        }
    }
}

/// Finds `field` among `table`'s columns; the only way a name gets into a resolved query.
pub(super) fn column(table: &TableDef, field: &str) -> Result<ColumnRef, StoreError> {
    ColumnRef::find(table, field)
        .ok_or_else(|| StoreError::UnknownField { table: table.name.to_owned(), field: field.to_owned() })
}

pub(super) fn nullable(column: ColumnRef) -> bool {
    match column {
        ColumnRef::Declared(c) => c.nullable,
        ColumnRef::System(c) => c.nullable,
    }
}

fn invalid(column: ColumnRef, message: impl Into<String>) -> StoreError {
    StoreError::validation(column.name(), message)
}

fn too_deep() -> StoreError {
    StoreError::Validation {
        field: None,
        message: format!(
            "filters nest at most {MAX_FILTER_DEPTH} levels of and/or/not (MAX_FILTER_DEPTH); \
             use one `or` with many items, or `in_values`, instead of deeper nesting"
        ),
    }
}

fn resolve_filter(table: &TableDef, filter: &QueryFilter) -> Result<Condition, StoreError> {
    let nested =
        |filters: &[QueryFilter]| filters.iter().map(|f| resolve_filter(table, f)).collect::<Result<Vec<_>, _>>();
    Ok(match &filter.kind {
        FilterKind::Compare { field, op, value } => {
            let column = column(table, field)?;
            let value = ranged_operand(column, value, column.ty())?;
            if value.is_null() {
                let hint = if *op == CompareOp::Ne { "is_not_null" } else { "is_null" };
                return Err(invalid(column, format!("cannot compare with null; use `{hint}`")));
            }
            Condition::Compare { column, op: *op, value }
        }
        FilterKind::Like { field, pattern, case_insensitive, negated } => {
            let column = column(table, field)?;
            if column.ty() != ColumnType::Scalar(ScalarType::Text) {
                return Err(invalid(column, format!("LIKE needs a text field, not {}", column.ty())));
            }
            check_nul(pattern).map_err(|e| invalid(column, e))?;
            Condition::Like { column, pattern: pattern.clone(), case_insensitive: *case_insensitive, negated: *negated }
        }
        FilterKind::In { field, values, negated } => {
            let column = column(table, field)?;
            if column.ty().is_array() {
                let message = "in_values compares single values; use array_contains/array_overlaps on array fields";
                return Err(invalid(column, message));
            }
            let values = elements(column, values, column.ty())?;
            Condition::In { column, values, negated: *negated }
        }
        FilterKind::IsNull { field, negated } => Condition::IsNull { column: column(table, field)?, negated: *negated },
        FilterKind::Tags { tags, all } => {
            for tag in tags {
                check_nul(tag).map_err(|e| StoreError::validation(crate::model::system::TAGS, e))?;
            }
            if *all { Condition::TagsAll(tags.clone()) } else { Condition::TagsAny(tags.clone()) }
        }
        FilterKind::Array { field, values, all } => {
            let column = column(table, field)?;
            let ColumnType::Array(scalar) = column.ty() else {
                return Err(invalid(column, format!("array operators need an array field, not {}", column.ty())));
            };
            let values = elements(column, values, ColumnType::Scalar(scalar))?;
            Condition::Array { column, values, all: *all }
        }
        FilterKind::JsonPathEq { field, path, value } => {
            let column = json_column(table, field)?;
            check_path(column, path)?;
            check_json(value).map_err(|e| invalid(column, e))?;
            json(column, JsonCondition::PathEq { path: path.clone(), value: value.clone() })
        }
        FilterKind::JsonPathTextEq { field, path, value } => {
            let column = json_column(table, field)?;
            check_path(column, path)?;
            check_nul(value).map_err(|e| invalid(column, e))?;
            json(column, JsonCondition::PathTextEq { path: path.clone(), value: value.clone() })
        }
        FilterKind::JsonContains { field, value } => {
            let column = json_column(table, field)?;
            check_json(value).map_err(|e| invalid(column, e))?;
            json(column, JsonCondition::Contains(value.clone()))
        }
        FilterKind::JsonHasKey { field, key } => {
            let column = json_column(table, field)?;
            check_nul(key).map_err(|e| invalid(column, e))?;
            json(column, JsonCondition::HasKey(key.clone()))
        }
        FilterKind::JsonPathCompare { field, path, op, value } => {
            let column = json_column(table, field)?;
            check_path(column, path)?;
            let serde_json::Value::Number(number) = value else {
                let found = super::from_json::kind(value);
                return Err(invalid(column, format!("JSON range filters compare with a number, not {found}")));
            };
            json(column, JsonCondition::PathCompare { path: path.clone(), op: *op, value: number.clone() })
        }
        FilterKind::JsonPathExists { field, path, negated } => {
            let column = json_column(table, field)?;
            check_path(column, path)?;
            json(column, JsonCondition::PathExists { path: path.clone(), negated: *negated })
        }
        FilterKind::And(filters) => Condition::And(nested(filters)?),
        FilterKind::Or(filters) => Condition::Or(nested(filters)?),
        FilterKind::Not(filter) => Condition::Not(Box::new(resolve_filter(table, filter)?)),
        FilterKind::Related { relation, filter } => {
            let def = relation.0;
            if def.from_table().name != table.name {
                return Err(StoreError::Validation {
                    field: None,
                    message: format!(
                        "relation `{}` is declared on `{}`, not on `{}`",
                        def.name,
                        def.from_table().model,
                        table.model
                    ),
                });
            }
            let related = def.to_table();
            let condition = filter.as_deref().map(|f| resolve_filter(related, f)).transpose()?;
            Condition::Related(Box::new(RelatedCondition { join: def.join(), table: related, condition, scope: None }))
        }
        FilterKind::TooDeep => return Err(too_deep()),
    })
}

fn json(column: ColumnRef, condition: JsonCondition) -> Condition {
    Condition::Json { column, condition }
}

fn json_column(table: &TableDef, field: &str) -> Result<ColumnRef, StoreError> {
    let column = column(table, field)?;
    if column.ty() != ColumnType::Scalar(ScalarType::Json) {
        return Err(invalid(column, format!("JSON operators need a JSON field, not {}", column.ty())));
    }
    Ok(column)
}

fn check_path(column: ColumnRef, path: &[String]) -> Result<(), StoreError> {
    path.iter().try_for_each(|step| check_nul(step)).map_err(|e| invalid(column, e))
}

/// The items of an `in_values` or array-operator list, each of type `ty` and not null.
fn elements(column: ColumnRef, values: &[Operand], ty: ColumnType) -> Result<Vec<Value>, StoreError> {
    values
        .iter()
        .map(|v| match ranged_operand(column, v, ty)? {
            Value::Null => Err(invalid(column, "a list of values cannot hold null; use `is_null` for NULL")),
            value => Ok(value),
        })
        .collect()
}

/// Converts a filter or update value to type `ty` of `column`, refusing NUL bytes.
pub(super) fn operand(column: ColumnRef, operand: &Operand, ty: ColumnType) -> Result<Value, StoreError> {
    match operand {
        Operand::Json(json) => value_from_json(json, ty).map_err(|e| invalid(column, e)),
        Operand::Typed { value, ty: given } => {
            if *given != ty {
                return Err(invalid(column, format!("expected a value of type {ty}, found one of type {given}")));
            }
            let value = value.clone().map_err(|e| invalid(column, e))?;
            check_value_nul(&value).map_err(|e| invalid(column, e))?;
            Ok(value)
        }
    }
}

/// [`operand`], refusing a value outside the range of a narrow integer field (`i8`, `u16`, …),
/// which its wider column would take: compared, such a value matches nothing the field can hold;
/// stored, it would make the row unreadable.
pub(super) fn ranged_operand(column: ColumnRef, given: &Operand, ty: ColumnType) -> Result<Value, StoreError> {
    let value = operand(column, given, ty)?;
    if let ColumnRef::Declared(def) = column
        && let Some(range) = def.int_range
    {
        range.check(&value).map_err(|e| invalid(column, e))?;
    }
    Ok(value)
}

fn check_value_nul(value: &Value) -> Result<(), String> {
    match value {
        Value::Text(s) => check_nul(s),
        Value::Json(j) => check_json(j),
        Value::Array(items) => items.iter().try_for_each(check_value_nul),
        _ => Ok(()),
    }
}

/// The sort keys, with each primary-key column appended (ascending) unless present, so the order
/// is total.
fn resolve_order(table: &TableDef, keys: &[super::SortKey]) -> Result<Vec<Order>, StoreError> {
    let mut order = keys
        .iter()
        .map(|key| Ok(Order { column: column(table, &key.field)?, descending: key.order == SortOrder::Desc }))
        .collect::<Result<Vec<_>, StoreError>>()?;
    for key in table.key_columns() {
        let key = ColumnRef::Declared(key);
        if !order.iter().any(|o| o.column == key) {
            order.push(Order { column: key, descending: false });
        }
    }
    Ok(order)
}

fn resolve_keyset(position: &Position, side: Side, order: &[Order]) -> Result<Keyset, StoreError> {
    // A NULL sort value has no place in the `>`/`<` predicate; rows would be skipped silently.
    if let Some(o) = order.iter().find(|o| nullable(o.column)) {
        return Err(invalid(o.column, "keyset pagination (`after`/`before`) needs sort fields that are never NULL"));
    }
    let after = match position {
        Position::Cursor(cursor) => {
            if !cursor.matches(order) {
                return Err(StoreError::Validation {
                    field: None,
                    message: "cursor does not match this query's order".to_owned(),
                });
            }
            let after = cursor.values_for(order)?;
            if let Some((o, _)) = order.iter().zip(&after).find(|(_, v)| v.is_null()) {
                return Err(invalid(o.column, "malformed cursor: null sort value"));
            }
            after
        }
        Position::Values(values) => sort_values(values, order)?,
    };
    Ok(Keyset { after, before: side == Side::Before })
}

/// Plain sort values for the first `values.len()` sort keys, each converted to its column's type.
fn sort_values(values: &[serde_json::Value], order: &[Order]) -> Result<Vec<Value>, StoreError> {
    if values.is_empty() || values.len() > order.len() {
        return Err(StoreError::Validation {
            field: None,
            message: format!(
                "after_values/before_values take 1 to {} values, one per sort key in order; got {}",
                order.len(),
                values.len()
            ),
        });
    }
    values
        .iter()
        .zip(order)
        .map(|(json, o)| match value_from_json(json, o.column.ty()) {
            Ok(Value::Null) => Err(invalid(o.column, "a sort value cannot be null")),
            Ok(value) => Ok(value),
            Err(e) => Err(invalid(o.column, e)),
        })
        .collect()
}

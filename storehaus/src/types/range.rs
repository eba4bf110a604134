//! The dates and times every backend stores and reads back: years 1 to 9999.
//!
//! Outside these years a date has no four-digit ISO 8601 form. SQLite keeps times as that text, so
//! a `DateTime<Utc>` in year 10000 was written as `+10000-…`, which sorts before year 1 and does not
//! read back; PostgreSQL reads no other form in batch writes. One range for both backends means a
//! value either is refused before anything is written, or reads back equal, on either.

use super::Value;
use chrono::Datelike;
use std::ops::RangeInclusive;

/// The years a date or time value (`DateTime<Utc>`, `NaiveDateTime`, `NaiveDate`) may have in a
/// write or a filter; a value outside is [`StoreError::Validation`](crate::StoreError::Validation).
pub const STORABLE_YEARS: RangeInclusive<i32> = 1..=9999;

/// Refuses a date or time outside [`STORABLE_YEARS`], alone or as an array element.
pub(crate) fn check_storable(value: &Value) -> Result<(), String> {
    match value {
        Value::Array(items) => items.iter().try_for_each(check_scalar),
        scalar => check_scalar(scalar),
    }
}

fn check_scalar(value: &Value) -> Result<(), String> {
    let year = match value {
        Value::TimestampTz(at) => at.year(),
        Value::Timestamp(at) => at.year(),
        Value::Date(day) => day.year(),
        _ => return Ok(()),
    };
    if STORABLE_YEARS.contains(&year) {
        return Ok(());
    }
    Err(format!(
        "year {year} is outside {}..={}, the years a date or time can be stored in",
        STORABLE_YEARS.start(),
        STORABLE_YEARS.end()
    ))
}

#[cfg(test)]
mod tests;

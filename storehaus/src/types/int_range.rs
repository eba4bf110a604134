//! The range of a narrow integer field, which its wider column would not keep by itself.
//!
//! `i8`, `u8`, `u16` and `u32` are stored in the next wider signed column (`SMALLINT`, `INTEGER`,
//! `BIGINT`), so the column alone would accept values the field cannot hold and every later read
//! would fail. The field's range travels with its metadata: filter and update values are checked
//! against it before anything runs, and migrations add a guard to the table so that arithmetic in
//! SQL (`UpdateSet::increment`) cannot store a value outside it either.

use super::Value;

/// The values an integer field holds, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IntRange {
    /// The smallest value.
    pub min: i64,
    /// The largest value.
    pub max: i64,
}

impl IntRange {
    /// The range `min..=max`.
    pub const fn new(min: i64, max: i64) -> Self {
        IntRange { min, max }
    }

    /// Whether `value` lies in the range.
    pub const fn contains(&self, value: i64) -> bool {
        self.min <= value && value <= self.max
    }

    /// The Rust type of a standard narrow range (`"i8"`, `"u8"`, `"u16"`, `"u32"`), if it is one.
    pub fn type_name(&self) -> Option<&'static str> {
        match (self.min, self.max) {
            (-128, 127) => Some("i8"),
            (0, 255) => Some("u8"),
            (0, 65_535) => Some("u16"),
            (0, 4_294_967_295) => Some("u32"),
            _ => None,
        }
    }

    /// Refuses an integer value (alone or as an array element) outside the range.
    pub(crate) fn check(&self, value: &Value) -> Result<(), String> {
        let int = match value {
            Value::Array(items) => return items.iter().try_for_each(|item| self.check(item)),
            Value::SmallInt(i) => i64::from(*i),
            Value::Integer(i) => i64::from(*i),
            Value::BigInt(i) => *i,
            _ => return Ok(()),
        };
        if self.contains(int) {
            return Ok(());
        }
        Err(format!("{int} is out of range for {self}"))
    }
}

impl std::fmt::Display for IntRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.type_name() {
            Some(ty) => write!(f, "{ty} ({}..={})", self.min, self.max),
            None => write!(f, "the field ({}..={})", self.min, self.max),
        }
    }
}

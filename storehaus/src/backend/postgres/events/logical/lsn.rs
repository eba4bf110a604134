//! [`Lsn`]: a position in PostgreSQL's write-ahead log, as the text `pg_lsn` prints (`16/B374D848`).

use crate::signals::Position;
use std::fmt;

/// A write-ahead log position. Sent to and read from the server as text, so no SQL type
/// mapping is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(super) struct Lsn(pub(super) u64);

impl Lsn {
    /// Reads the `pg_lsn` text form: two hexadecimal halves separated by `/`.
    pub(super) fn parse(text: &str) -> Option<Lsn> {
        let (high, low) = text.split_once('/')?;
        let high = u32::from_str_radix(high, 16).ok()?;
        let low = u32::from_str_radix(low, 16).ok()?;
        Some(Lsn((u64::from(high) << 32) | u64::from(low)))
    }

    /// The log position a reader keeps: this LSN, second part unused. LSNs stay far below
    /// `i64::MAX` (that much WAL would take millennia to write).
    pub(super) fn position(self) -> Position {
        Position(i64::try_from(self.0).unwrap_or(i64::MAX), 0)
    }

    /// The LSN of a position made by [`Lsn::position`]; a negative one (never made) is the start.
    pub(super) fn of(position: Position) -> Lsn {
        Lsn(u64::try_from(position.0).unwrap_or(0))
    }

    /// The id of a raw change event: the change's LSN negated, so that it never equals the
    /// (positive) id of an event-log row.
    pub(super) fn raw_event_id(self) -> i64 {
        -i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        for text in ["0/0", "0/16B3748", "16/B374D848", "FFFFFFFF/FFFFFFFF"] {
            assert_eq!(Lsn::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Lsn::parse("1/0"), Some(Lsn(1 << 32)));
        assert_eq!(Lsn::parse("0/10").unwrap().raw_event_id(), -16);
    }

    #[test]
    fn malformed_text_is_refused() {
        for text in ["", "0", "0/", "/1", "g/1", "1/2/3", "100000000/0", " 0/1"] {
            assert_eq!(Lsn::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn positions_keep_the_lsn() {
        let lsn = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(Lsn::of(lsn.position()), lsn);
        assert_eq!(Lsn::of(Position(-5, 0)), Lsn(0));
        assert!(Lsn(1).position() < Lsn(2).position());
    }
}

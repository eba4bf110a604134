//! How cached rows and query results are laid out in the backend.
//!
//! A row entry carries the epochs it was filled under, so a read can tell a current entry
//! from one a whole-table invalidation made obsolete. A query entry carries the 32-byte
//! digest of its query (never the query's text, which can be as large as its bound values), so
//! a value found under the key of another query reads as a miss. Anything that does not parse
//! (an older layout, a foreign value) is a miss too.

use super::read_through::FillToken;
use crate::digest::QueryDigest;

const MAGIC: u8 = 0xB7;
const LAYOUT: u8 = 1;
const ABSENT: u8 = 0;
const VALUE: u8 = 1;
const QUERY: u8 = 2;
const ROW_HEADER: usize = 3 + 16;
const QUERY_HEADER: usize = 3 + 32;

/// A decoded row entry: the epochs it was filled under and the encoded row, `None` for a
/// remembered absence.
pub(super) struct RowEntry<'a> {
    pub(super) token: FillToken,
    pub(super) payload: Option<&'a [u8]>,
}

pub(super) fn encode_row(token: FillToken, payload: Option<&[u8]>) -> Vec<u8> {
    let body = payload.unwrap_or_default();
    let mut out = Vec::with_capacity(ROW_HEADER + body.len());
    out.extend_from_slice(&[MAGIC, LAYOUT, if payload.is_some() { VALUE } else { ABSENT }]);
    out.extend_from_slice(&token.row.to_be_bytes());
    out.extend_from_slice(&token.table.to_be_bytes());
    out.extend_from_slice(body);
    out
}

pub(super) fn decode_row(bytes: &[u8]) -> Option<RowEntry<'_>> {
    let (header, body) = bytes.split_at_checked(ROW_HEADER)?;
    if header[..2] != [MAGIC, LAYOUT] {
        return None;
    }
    let row = i64::from_be_bytes(header[3..11].try_into().ok()?);
    let table = i64::from_be_bytes(header[11..19].try_into().ok()?);
    let payload = match header[2] {
        VALUE => Some(body),
        ABSENT if body.is_empty() => None,
        _ => return None,
    };
    Some(RowEntry { token: FillToken { row, table }, payload })
}

pub(super) fn encode_query(query: &QueryDigest, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(QUERY_HEADER + payload.len());
    out.extend_from_slice(&[MAGIC, LAYOUT, QUERY]);
    out.extend_from_slice(query.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of a query entry, if it is the entry of exactly `query`.
pub(super) fn decode_query<'a>(bytes: &'a [u8], query: &QueryDigest) -> Option<&'a [u8]> {
    let (header, payload) = bytes.split_at_checked(QUERY_HEADER)?;
    (header[..3] == [MAGIC, LAYOUT, QUERY] && header[3..] == query.as_bytes()[..]).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let token = FillToken { row: 1 << 40, table: -3 };
        let bytes = encode_row(token, Some(b"{\"a\":1}"));
        let entry = decode_row(&bytes).unwrap();
        assert_eq!((entry.token, entry.payload), (token, Some(&b"{\"a\":1}"[..])));
        let absent = encode_row(token, None);
        assert_eq!(decode_row(&absent).unwrap().payload, None);
        assert!(decode_row(b"{\"a\":1}").is_none());
        assert!(decode_row(&bytes[..10]).is_none());
    }

    #[test]
    fn queries_check_their_digest() {
        let (one, two) = (QueryDigest::from("SELECT 1"), QueryDigest::from("SELECT 2"));
        let bytes = encode_query(&one, b"[1]");
        assert_eq!(bytes.len(), QUERY_HEADER + 3);
        assert_eq!(decode_query(&bytes, &one), Some(&b"[1]"[..]));
        assert_eq!(decode_query(&bytes, &two), None);
        assert_eq!(decode_query(&bytes[..9], &one), None);
        assert_eq!(decode_query(b"garbage", &one), None);
    }
}

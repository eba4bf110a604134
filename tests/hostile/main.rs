//! Input written to break StoreHaus: random and hostile field names, values, tags and JSON
//! paths; oversized and malformed values; the fuzz corpus of the query builder. Every case ends
//! in a typed error or a correct result, never a panic, and never changes the SQL text.

mod fuzz_corpus;
mod limits;
mod properties;

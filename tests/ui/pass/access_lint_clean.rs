//! The checks generated for `#[tenant]` raise no warnings under strict lints, even where the
//! column types they name are imported.
#![deny(warnings)]
#![deny(
    missing_docs,
    missing_debug_implementations,
    missing_copy_implementations,
    rust_2018_idioms,
    unused,
    unused_qualifications,
    trivial_casts,
    unused_results
)]

mod private {
    use storehaus::prelude::*;
    #[allow(unused_imports)]
    use storehaus::types::{ColumnType, ScalarType, SqlType};

    /// A scoped model the crate never builds, reads or writes.
    #[model]
    #[table(name = "quiet_invoices", auth, row_security)]
    struct QuietInvoice {
        #[primary_key]
        id: Uuid,
        #[tenant]
        org_id: Option<Uuid>,
    }
}

/// A public scoped model, documented.
pub mod public {
    use storehaus::prelude::*;

    /// A documented model.
    #[model]
    #[table(name = "documented_notes", auth)]
    pub struct DocumentedNote {
        /// The key.
        #[primary_key]
        pub id: i64,
        /// The tenant.
        #[tenant]
        pub org: String,
    }
}

fn main() {}

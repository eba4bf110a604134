//! Generated items raise no warnings, even under strict lints, in a crate that never uses them.
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

    /// A model the crate never builds, reads or writes.
    #[model]
    #[table(name = "quiet")]
    struct Quiet {
        #[primary_key]
        id: Uuid,
        #[field(update)]
        note: Option<String>,
    }
}

/// A public model, documented.
pub mod public {
    use storehaus::prelude::*;

    /// A documented model.
    #[model]
    #[table(name = "documented")]
    pub struct Documented {
        /// The key.
        #[primary_key]
        pub id: Uuid,
        /// A name.
        pub name: String,
    }
}

fn main() {}

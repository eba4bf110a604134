//! Unit tests of reading, checking and expanding models; what the compiler reports for the
//! generated code is covered by the trybuild suite in the repository's `tests/ui`.

mod access;
mod checks;
mod output;
mod relations;

use crate::expand;
use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

fn errors_with_args(args: TokenStream, item: TokenStream) -> Vec<String> {
    let item: DeriveInput = syn::parse2(item).expect("test input parses");
    match expand::analyse(&args, &item).1 {
        Ok(()) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

fn errors(item: TokenStream) -> Vec<String> {
    errors_with_args(TokenStream::new(), item)
}

/// Asserts exactly one error, containing `needle`.
fn assert_error(item: TokenStream, needle: &str) {
    let errors = errors(item);
    assert_eq!(errors.len(), 1, "expected one error containing {needle:?}, got {errors:#?}");
    assert!(errors[0].contains(needle), "{:?} does not contain {needle:?}", errors[0]);
}

/// A model with a valid key, under the given struct attributes.
fn with_attrs(attrs: TokenStream) -> TokenStream {
    quote!(#attrs struct S { #[primary_key] id: i64, a: i64, r#type: i64 })
}

/// A valid model with one more field carrying `attrs`.
fn with_field(attrs: TokenStream) -> TokenStream {
    quote!(#[table(name = "t")] struct S { #[primary_key] id: i64, #attrs value: Option<i64> })
}

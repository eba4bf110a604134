//! The standard derives `#[model]` adds to the struct.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Attribute, Meta, Path, Token};

/// `#[derive(..)]` for whichever of `Debug`, `Clone`, `Serialize` and `Deserialize` the user
/// does not derive already, and, when a serde derive is among them, the path of the serde crate
/// re-exported by storehaus (users need not depend on serde themselves).
pub fn derives(attrs: &[Attribute]) -> TokenStream {
    let existing = derived_names(attrs);
    let has = |name: &str| existing.iter().any(|n| n == name);

    let mut derives = Vec::new();
    if !has("Debug") {
        derives.push(quote!(::core::fmt::Debug));
    }
    if !has("Clone") {
        derives.push(quote!(::core::clone::Clone));
    }
    let mut adds_serde = false;
    if !has("Serialize") {
        derives.push(quote!(::storehaus::__private::serde::Serialize));
        adds_serde = true;
    }
    if !has("Deserialize") {
        derives.push(quote!(::storehaus::__private::serde::Deserialize));
        adds_serde = true;
    }
    if derives.is_empty() {
        return TokenStream::new();
    }
    let serde_crate = if adds_serde && !names_serde_crate(attrs) {
        quote!(#[serde(crate = "::storehaus::__private::serde")])
    } else {
        TokenStream::new()
    };
    quote! {
        #[derive(#(#derives),*)]
        #serde_crate
    }
}

/// The last path segment of everything named in `#[derive(..)]` attributes.
fn derived_names(attrs: &[Attribute]) -> Vec<String> {
    let parser = Punctuated::<Path, Token![,]>::parse_terminated;
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("derive"))
        // A malformed derive is the compiler's to report.
        .filter_map(|attr| attr.parse_args_with(parser).ok())
        .flat_map(|paths| paths.into_iter())
        .filter_map(|path| path.segments.last().map(|s| s.ident.to_string()))
        .collect()
}

/// Whether the user already says `#[serde(crate = "..")]`; serde rejects a second one.
fn names_serde_crate(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let Meta::List(list) = &attr.meta else {
            return false;
        };
        list.path.is_ident("serde")
            && list.tokens.clone().into_iter().any(|t| matches!(t, TokenTree::Ident(i) if i == "crate"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn attrs(item: syn::DeriveInput) -> Vec<Attribute> {
        item.attrs
    }

    #[test]
    fn adds_all_four_and_the_serde_path() {
        let out = derives(&attrs(parse_quote!(
            struct S;
        )))
        .to_string();
        assert!(out.contains(":: core :: fmt :: Debug"));
        assert!(out.contains(":: core :: clone :: Clone"));
        assert!(out.contains("serde :: Serialize"));
        assert!(out.contains("serde :: Deserialize"));
        assert!(out.contains("crate = \"::storehaus::__private::serde\""));
    }

    #[test]
    fn skips_what_the_user_derives() {
        let item: syn::DeriveInput = parse_quote! {
            #[derive(Debug, serde::Serialize)]
            #[derive(PartialEq, my::Clone)]
            struct S;
        };
        let out = derives(&item.attrs).to_string();
        assert!(!out.contains("Debug"));
        assert!(!out.contains("Clone"));
        assert!(!out.contains("Serialize"));
        assert!(out.contains("serde :: Deserialize"));
        assert!(out.contains("crate ="));
    }

    #[test]
    fn nothing_when_everything_is_derived() {
        let item: syn::DeriveInput = parse_quote! {
            #[derive(Debug, Clone, Serialize, Deserialize)]
            struct S;
        };
        assert!(derives(&item.attrs).is_empty());
    }

    #[test]
    fn keeps_the_users_serde_crate() {
        let item: syn::DeriveInput = parse_quote! {
            #[serde(crate = "my_serde", rename_all = "camelCase")]
            struct S;
        };
        let out = derives(&item.attrs).to_string();
        assert!(out.contains("Serialize"));
        assert!(!out.contains("crate ="));
    }
}

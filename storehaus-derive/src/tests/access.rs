//! `#[table(auth, row_security)]` and `#[tenant]`: what is refused, and the `TableDef` emitted.

use super::{assert_error, errors, with_attrs, with_field};
use crate::expand;
use proc_macro2::{Span, TokenStream};
use quote::quote;

#[test]
fn table_access_flags() {
    assert!(errors(with_attrs(quote!(#[table(name = "t", auth)]))).is_empty());
    assert!(errors(with_attrs(quote!(#[table(name = "t", auth, row_security)]))).is_empty());
    assert_error(with_attrs(quote!(#[table(name = "t", auth, auth)])), "duplicate `auth`");
    assert_error(
        with_attrs(quote!(#[table(name = "t", auth, row_security, row_security)])),
        "duplicate `row_security`",
    );
    assert_error(with_attrs(quote!(#[table(name = "t", auth = true)])), "`auth` in `#[table]` takes no value");
    assert_error(with_attrs(quote!(#[table(name = "t", row_security(on))])), "takes no arguments");
    assert_error(with_attrs(quote!(#[table(name = "t", auht)])), "`auth` or `row_security`");
    assert_error(
        with_attrs(quote!(#[table(name = "t", row_security)])),
        "`row_security` needs `auth` or a `#[tenant]` field",
    );
    let tenant_only = quote!(
        #[table(name = "t", row_security)]
        struct S {
            #[primary_key]
            id: i64,
            #[tenant]
            org: i64,
        }
    );
    assert!(errors(tenant_only).is_empty());
}

#[test]
fn tenant_may_carry_key_index_and_write_flags() {
    for attrs in [
        quote!(#[tenant]),
        quote!(#[tenant] #[index]),
        quote!(#[unique] #[tenant]),
        quote!(#[tenant] #[field(create)]),
        quote!(#[tenant] #[field(create, update)]),
    ] {
        assert!(errors(with_field(attrs.clone())).is_empty(), "{attrs}");
    }
    let key_part = quote! {
        #[table(name = "t", auth)]
        struct S { #[primary_key] #[tenant] org: String, #[primary_key] id: i64 }
    };
    assert!(errors(key_part).is_empty());
    for ty in [quote!(Option<Uuid>), quote!(String), quote!(i32), quote!(my::Value), quote!(Vecs)] {
        let item = quote!(#[table(name = "t")] struct S { #[primary_key] id: i64, #[tenant] org: #ty });
        assert!(errors(item).is_empty(), "{ty}");
    }
}

#[test]
fn tenant_errors() {
    assert_error(with_field(quote!(#[tenant] #[tenant])), "duplicate `#[tenant]` on this field");
    assert_error(with_field(quote!(#[tenant(org)])), "`#[tenant]` on a field takes no arguments");
    assert_error(with_field(quote!(#[tenant = "org"])), "`#[tenant]` on a field takes no value");
    assert_error(with_attrs(quote!(#[table(name = "t")] #[tenant])), "`#[tenant]` belongs on a field");
    assert_error(
        with_field(quote!(#[tenant] #[field(no_signal)])),
        "`no_signal` cannot apply to the `#[tenant]` field",
    );
    assert_error(with_field(quote!(#[tenant] #[field(create, no_signal)])), "`no_signal` cannot apply");
    assert_error(with_field(quote!(#[tenant] #[field(readonly)])), "`readonly` cannot apply to the `#[tenant]`");
    assert_error(with_field(quote!(#[tenant] #[field(update)])), "needs `create` as well");
    assert_error(
        quote!(
            #[table(name = "t", auto_increment)]
            struct S {
                #[primary_key]
                #[tenant]
                id: i64,
            }
        ),
        "cannot be the `#[tenant]` field",
    );
    let two = quote! {
        #[table(name = "t")]
        struct S { #[primary_key] id: i64, #[tenant] a: i64, #[tenant] b: i64, #[tenant] c: i64 }
    };
    assert_eq!(errors(two), ["a model has at most one `#[tenant]` field, and `a` is already it"; 2]);
}

#[test]
fn tenant_types_that_are_arrays_or_json() {
    for (ty, kind) in [
        (quote!(Vec<String>), "an array"),
        (quote!(Option<Vec<i64>>), "an array"),
        (quote!(std::vec::Vec<u8>), "an array"),
        (quote!(serde_json::Value), "a JSON document"),
        (quote!(Value), "a JSON document"),
        (quote!(Option<::serde_json::Value>), "a JSON document"),
        (quote!(Json<Settings>), "a JSON document"),
        (quote!(storehaus::types::Json<Settings>), "a JSON document"),
        (quote!(JsonValue), "a JSON document"),
    ] {
        let item = quote!(#[table(name = "t")] struct S { #[primary_key] id: i64, #[tenant] org: #ty });
        assert_error(item, kind);
    }
}

#[test]
fn a_field_named_auth_is_reserved() {
    let auth = syn::Ident::new("__auth__", Span::call_site());
    let item = quote!(#[table(name = "t", auth)] struct S { #[primary_key] id: i64, #auth: Vec<String> });
    assert_error(item, "`__auth__` is reserved");
}

/// The `TableDef` fields of the expansion, as source text.
fn table_def(item: TokenStream) -> String {
    let output = expand::model(TokenStream::new(), item).to_string();
    assert!(!output.contains("compile_error"), "{output}");
    let start = output.find("versioned :").expect("TableDef emitted");
    let end = start + output[start..].find("foreign_keys :").expect("TableDef has its foreign keys");
    output[start..end].to_owned()
}

#[test]
fn table_def_carries_the_access_options() {
    let scoped = table_def(quote! {
        #[table(name = "invoices", auth, row_security)]
        struct Invoice { #[primary_key] id: Uuid, total: i64, #[tenant] org_id: Uuid }
    });
    assert_eq!(
        scoped,
        "versioned : false , auth : true , tenant : :: core :: option :: Option :: Some (2usize) , row_security : true , "
    );
    let plain = table_def(quote! {
        #[table(name = "t", versioned)]
        struct S { #[primary_key] id: i64 }
    });
    assert_eq!(
        plain,
        "versioned : true , auth : false , tenant : :: core :: option :: Option :: None , row_security : false , "
    );
    let tenant_only = table_def(quote! {
        #[table(name = "notes")]
        struct Note { #[tenant] org: String, #[primary_key] id: i64 }
    });
    assert!(
        tenant_only
            .contains("auth : false , tenant : :: core :: option :: Option :: Some (0usize) , row_security : false")
    );
}

#[test]
fn stub_on_error_has_no_access_options() {
    let output = expand::model(
        TokenStream::new(),
        quote!(
            #[table(name = "t", auth, bogus)]
            struct S {
                #[primary_key]
                id: i64,
                #[tenant]
                org: i64,
            }
        ),
    )
    .to_string();
    assert!(output.contains("compile_error"));
    assert!(output.contains("auth : false , tenant : :: core :: option :: Option :: None , row_security : false"));
    assert!(!output.contains("# [tenant]"), "the attribute is stripped: {output}");
}

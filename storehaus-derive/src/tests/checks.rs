use super::{assert_error, errors, errors_with_args, with_attrs, with_field};
use proc_macro2::{Span, TokenStream};
use quote::quote;

#[test]
fn model_takes_no_arguments() {
    let errors = errors_with_args(quote!(strict), with_attrs(quote!(#[table(name = "t")])));
    assert_eq!(errors, ["`#[model]` takes no arguments; table options go in `#[table(..)]`"]);
}

#[test]
fn table_errors() {
    assert_error(with_attrs(TokenStream::new()), "missing `#[table(name = \"...\")]`");
    assert_error(with_attrs(quote!(#[table(soft_delete)])), "needs the table name");
    assert_error(with_attrs(quote!(#[table])), "needs the table name");
    assert_error(with_attrs(quote!(#[table(name = "t", sofft_delete)])), "unknown `#[table]` key `sofft_delete`");
    assert_error(with_attrs(quote!(#[table(name = "t", soft_delete, soft_delete)])), "duplicate `soft_delete`");
    assert_error(with_attrs(quote!(#[table(name = "t", soft_delete, auto_soft_delete)])), "alias of `soft_delete`");
    assert_error(with_attrs(quote!(#[table(name = "t", versioned, versioned)])), "duplicate `versioned`");
    assert_error(with_attrs(quote!(#[table(name = "t", name = "u")])), "duplicate `name`");
    assert_error(with_attrs(quote!(#[table(name = "t")] #[table(versioned)])), "duplicate `#[table]`");
    assert_error(with_attrs(quote!(#[table(name = "")])), "cannot be empty");
    assert_error(with_attrs(quote!(#[table(name = "a\0b")])), "NUL");
    let long = "t".repeat(64);
    assert_error(with_attrs(quote!(#[table(name = #long)])), "64 bytes");
    let longest = "t".repeat(63);
    assert!(errors(with_attrs(quote!(#[table(name = #longest)]))).is_empty());
}

#[test]
fn a_malformed_table_is_not_also_reported_without_a_name() {
    assert_error(with_attrs(quote!(#[table(name = 5)])), "expected a string literal");
    assert_error(with_attrs(quote!(#[table(name)])), "expected `#[table(name");
    assert_error(with_attrs(quote!(#[table = "t"])), "expected `#[table(name");
    assert_error(with_attrs(quote!(#[table(name = "t",, versioned)])), "as in `#[table(name");
}

#[test]
fn primary_key_errors() {
    assert_error(
        quote!(
            #[table(name = "t")]
            struct S {
                id: i64,
            }
        ),
        "needs one field marked `#[primary_key]`",
    );
    // Several key fields make a composite key, of at most four fields, never generated.
    assert!(
        errors(quote!(
            #[table(name = "t")]
            struct S {
                #[primary_key]
                id: i64,
                #[primary_key]
                other: i64,
            }
        ))
        .is_empty()
    );
    assert_error(
        quote!(
            #[table(name = "t", auto_increment)]
            struct S {
                #[primary_key]
                id: i64,
                #[primary_key]
                other: i64,
            }
        ),
        "`auto_increment` needs a single `#[primary_key]`",
    );
    assert_error(
        quote!(
            #[table(name = "t")]
            struct S {
                #[primary_key]
                a: i64,
                #[primary_key]
                b: i64,
                #[primary_key]
                c: i64,
                #[primary_key]
                d: i64,
                #[primary_key]
                e: i64,
            }
        ),
        "a composite primary key has at most 4 fields",
    );
    assert_error(
        quote!(
            #[table(name = "t", auto_increment)]
            struct S {
                #[primary_key]
                #[field(create)]
                id: i64,
            }
        ),
        "inserts never write it, so `create` cannot apply to it",
    );
    let key = |attrs: TokenStream| quote!(#[table(name = "t")] struct S { #attrs id: i64 });
    assert_error(key(quote!(#[primary_key(auto)])), "`#[primary_key]` on a field takes no arguments");
    assert_error(key(quote!(#[primary_key] #[primary_key])), "duplicate `#[primary_key]`");
    assert_error(key(quote!(#[primary_key] #[field(update)])), "never updated, so `update` cannot apply");
    assert_error(key(quote!(#[primary_key] #[field(readonly)])), "never updated, so `readonly` cannot apply");
    assert!(errors(key(quote!(#[primary_key] #[field(create)]))).is_empty());
    assert_error(key(quote!(#[primary_key] #[field(no_signal)])), "`no_signal` cannot apply to it");
}

#[test]
fn field_flag_errors() {
    assert_error(with_field(quote!(#[field(craete)])), "unknown `#[field]` key `craete`");
    assert_error(with_field(quote!(#[field(create, create)])), "duplicate `create`");
    assert_error(with_field(quote!(#[field()])), "needs at least one of");
    assert_error(with_field(quote!(#[field])), "needs at least one of");
    assert_error(with_field(quote!(#[field(readonly, create)])), "cannot be combined with `create`");
    assert_error(with_field(quote!(#[field(create)] #[field(update)])), "duplicate `#[field]`");
    assert_error(with_field(quote!(#[field(create = true)])), "takes no value");
    assert_error(with_field(quote!(#[field(update(x))])), "takes no arguments");
    assert!(errors(with_field(quote!(#[field(update, create)]))).is_empty());
    assert_error(with_field(quote!(#[field(no_signal, no_signal)])), "duplicate `no_signal`");
    assert_error(with_field(quote!(#[field(no_signal = false)])), "takes no value");
    assert!(errors(with_field(quote!(#[field(no_signal)]))).is_empty());
    assert!(errors(with_field(quote!(#[field(readonly, no_signal)]))).is_empty());
}

#[test]
fn field_index_errors() {
    assert_error(with_field(quote!(#[index(a)])), "`#[index]` on a field takes no arguments");
    assert_error(with_field(quote!(#[unique(a)])), "`#[unique]` on a field takes no arguments");
    assert_error(with_field(quote!(#[unique = "a"])), "`#[unique]` on a field takes no value");
    assert_error(with_field(quote!(#[index] #[index])), "duplicate `#[index]`");
    assert!(errors(with_field(quote!(#[index] #[unique]))).is_empty());
}

#[test]
fn struct_level_index_errors() {
    let table = quote!(#[table(name = "t")]);
    assert!(errors(with_attrs(quote!(#table #[index(a, type)] #[unique(r#type, id)]))).is_empty());
    assert_error(with_attrs(quote!(#table #[index(a, b)])), "`#[index]` names `b`, which is not a field");
    assert_error(with_attrs(quote!(#table #[unique()])), "needs the fields it covers");
    assert_error(with_attrs(quote!(#table #[index])), "needs the fields it covers");
    assert_error(with_attrs(quote!(#table #[index(a, a)])), "`a` appears twice");
    assert_error(with_attrs(quote!(#table #[index(type, r#type)])), "`type` appears twice");
    assert_error(with_attrs(quote!(#table #[index(a = "b")])), "expected field names");
    assert_error(with_attrs(quote!(#table #[unique = "a"])), "expected `#[unique(a, b)]`");
}

#[test]
fn field_name_errors() {
    let field = |name: &str| {
        let name = syn::Ident::new(name, Span::call_site());
        quote!(#[table(name = "t")] struct S { #[primary_key] id: i64, #name: i64 })
    };
    assert_error(field("__tags__"), "`__tags__` is reserved");
    assert_error(field(&"f".repeat(64)), "64 bytes");
    assert!(errors(field(&"f".repeat(63))).is_empty());
    assert!(errors(field("__x")).is_empty());
    assert!(errors(field("y__")).is_empty());
}

#[test]
fn shape_errors() {
    assert_error(
        quote!(
            #[table(name = "t")]
            enum E {
                A,
            }
        ),
        "not an enum",
    );
    assert_error(quote!(#[table(name = "t")] union U { a: i64 }), "not a union");
    assert_error(
        quote!(
            #[table(name = "t")]
            struct S(i64);
        ),
        "tuple struct",
    );
    assert_error(
        quote!(
            #[table(name = "t")]
            struct S;
        ),
        "named fields",
    );
    assert_error(
        quote!(
            #[table(name = "t")]
            struct S<T> {
                #[primary_key]
                id: T,
            }
        ),
        "generic",
    );
    assert_error(
        quote!(
            #[table(name = "t")]
            struct S<'a> {
                #[primary_key]
                id: &'a str,
            }
        ),
        "lifetimes",
    );
    assert_error(
        quote!(
            #[table(name = "t")]
            struct S
            where
                i64: Copy,
            {
                #[primary_key]
                id: i64,
            }
        ),
        "`where`",
    );
}

#[test]
fn misplaced_attributes() {
    assert_error(with_attrs(quote!(#[table(name = "t")] #[primary_key])), "belongs on a field");
    assert_error(with_attrs(quote!(#[table(name = "t")] #[field(create)])), "belongs on a field");
    assert_error(with_field(quote!(#[table(name = "u")])), "belongs on the struct");
}

#[test]
fn every_error_is_reported_at_once() {
    let errors = errors_with_args(
        quote!(x),
        quote! {
            #[table(name = "", bogus)]
            #[index(missing)]
            struct S {
                #[field(nope)]
                __tags__: i64,
            }
        },
    );
    assert_eq!(
        errors,
        [
            "`#[model]` takes no arguments; table options go in `#[table(..)]`",
            "unknown `#[table]` key `bogus`; expected `name`, `soft_delete`, `auto_soft_delete`, `versioned`, `auto_increment`, `auth` or `row_security`",
            "unknown `#[field]` key `nope`; expected `create`, `update`, `readonly` or `no_signal`",
            "the table name cannot be empty",
            "a model needs one field marked `#[primary_key]`",
            "`__tags__` is reserved: names that start and end with `__` belong to system columns",
            "`#[index]` names `missing`, which is not a field of this struct",
        ]
    );
}

use crate::ast::Writes;
use crate::expand;
use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

#[test]
fn reads_a_valid_model() {
    let item: DeriveInput = syn::parse_quote! {
        #[table(name = "users", auto_soft_delete, versioned)]
        #[index(name, r#type)]
        #[unique(email)]
        pub struct User {
            #[primary_key]
            pub id: Uuid,
            #[field(create, update)]
            pub name: String,
            #[field(create)]
            #[unique]
            pub email: String,
            #[field(update)]
            pub note: Option<String>,
            #[field(readonly)]
            pub score: Option<i64>,
            #[index]
            pub age: Option<i32>,
            pub r#type: String,
            #[field(no_signal)]
            pub password_hash: String,
            #[field(create, no_signal)]
            pub salt: String,
        }
    };
    let (model, result) = expand::analyse(&TokenStream::new(), &item);
    assert!(result.is_ok());
    let model = model.expect("model is read");
    let table = model.table.as_ref().expect("has a table");
    assert_eq!(table.args.name.as_ref().map(syn::LitStr::value).as_deref(), Some("users"));
    assert!(table.args.soft_delete.is_some() && table.args.versioned.is_some());

    let w = |create, update| Writes { create, update };
    let summary: Vec<(String, Writes)> = model.fields.iter().map(|f| (f.column(), f.writes())).collect();
    assert_eq!(
        summary,
        [
            ("id".to_owned(), w(true, false)),
            ("name".to_owned(), w(true, true)),
            ("email".to_owned(), w(true, false)),
            ("note".to_owned(), w(false, true)),
            ("score".to_owned(), w(false, false)),
            ("age".to_owned(), w(true, true)),
            ("type".to_owned(), w(true, true)),
            ("password_hash".to_owned(), w(true, true)),
            ("salt".to_owned(), w(true, false)),
        ]
    );
    let signalled: Vec<String> = model.fields.iter().filter(|f| f.signal()).map(|f| f.column()).collect();
    assert_eq!(signalled, ["id", "name", "email", "note", "score", "age", "type"], "no_signal fields are left out");
    assert_eq!(model.primary_key().map(|(i, _)| i), Some(0));
    assert_eq!(model.fields[2].indexes, [true]);
    assert_eq!(model.fields[5].indexes, [false]);
    assert_eq!(model.indexes.len(), 2);
    assert!(model.indexes[1].unique);
}

#[test]
fn output_strips_our_attributes_and_keeps_the_rest() {
    let output = expand::model(
        TokenStream::new(),
        quote! {
            /// Docs.
            #[table(name = "t")]
            #[index(a)]
            #[serde(rename_all = "camelCase")]
            pub struct S {
                #[primary_key]
                #[serde(rename = "key")]
                id: i64,
                #[field(create)]
                #[unique]
                a: i64,
            }
        },
    )
    .to_string();
    for ours in ["# [table", "# [index", "# [primary_key", "# [field", "# [unique"] {
        assert!(!output.contains(ours), "{ours} left in {output}");
    }
    for kept in ["# [doc = r\" Docs.\"]", "rename_all", "rename = \"key\""] {
        assert!(output.contains(kept), "{kept} missing from {output}");
    }
    assert!(output.contains("pub fn new (id : i64 , a : i64) -> Self"));
    assert!(output.contains("pub struct SColumns"));
    assert!(!output.contains("compile_error"));
}

#[test]
fn output_on_error_keeps_the_struct_and_its_functions() {
    let output = expand::model(
        TokenStream::new(),
        quote!(
            #[table(name = "t", oops)]
            struct S {
                #[primary_key]
                id: i64,
            }
        ),
    )
    .to_string();
    assert!(output.contains("compile_error"));
    assert!(output.contains("struct S"));
    assert!(output.contains("fn new"));
    assert!(output.contains("Model for S"));
    assert!(!output.contains("oops )"), "the bad attribute is stripped: {output}");
}

#[test]
fn model_on_a_function_keeps_it_without_our_attributes() {
    let output = expand::model(
        TokenStream::new(),
        quote!(
            #[table(name = "t")]
            #[inline]
            pub fn f() {}
        ),
    )
    .to_string();
    assert!(output.contains("compile_error"));
    assert!(output.contains("# [inline] pub fn f () { }"), "{output}");
    assert!(!output.contains("# [table"), "{output}");
}

#[test]
fn table_before_model_hands_its_options_to_model() {
    let output = expand::table(
        quote!(name = "t"),
        quote!(
            #[model]
            #[derive(PartialEq)]
            struct S {
                #[primary_key]
                id: i64,
            }
        ),
    )
    .to_string();
    assert!(output.contains("must follow `#[model]`"));
    let model = output.find("# [model]").expect("model kept");
    let table = output.find("# [table (name = \"t\")]").expect("table handed on");
    let derive = output.find("# [derive").expect("derive kept");
    assert!(model < table && table < derive, "{output}");

    let alone = expand::table(
        quote!(name = "t"),
        quote!(
            struct S {
                id: i64,
            }
        ),
    )
    .to_string();
    assert!(alone.contains("must follow `#[model]`"));
    assert!(!alone.contains("# [table"), "no `#[table]` to expand again: {alone}");
}

#[test]
fn qualified_table_is_ours_other_paths_are_not() {
    let output = expand::model(
        TokenStream::new(),
        quote! {
            #[storehaus::table(name = "t")]
            #[other::index]
            struct S { #[primary_key] id: i64 }
        },
    )
    .to_string();
    assert!(!output.contains("compile_error"), "{output}");
    assert!(!output.contains("storehaus :: table"), "{output}");
    assert!(output.contains("# [other :: index]"), "{output}");
}

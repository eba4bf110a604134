use super::{assert_error, errors};
use crate::ast::{Container, ident_named, plural, snake_case};
use crate::ctxt::Ctxt;
use crate::expand;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::DeriveInput;

/// A valid model under the given struct attributes, with one more field carrying `field_attrs`.
fn model(struct_attrs: TokenStream, field_attrs: TokenStream) -> TokenStream {
    quote! {
        #[table(name = "posts")]
        #struct_attrs
        struct Post {
            #[primary_key]
            id: i64,
            #field_attrs
            author_id: Option<i64>,
            title: String,
        }
    }
}

fn on_struct(attrs: TokenStream) -> TokenStream {
    model(attrs, TokenStream::new())
}

fn on_field(attrs: TokenStream) -> TokenStream {
    model(TokenStream::new(), attrs)
}

/// The names of the relations, in the order functions are generated.
fn names(item: TokenStream) -> Vec<String> {
    let item: DeriveInput = syn::parse2(item).expect("test input parses");
    let cx = Ctxt::new();
    let model = Container::from_ast(&cx, &item).expect("model is read");
    assert!(cx.check().is_ok());
    model.all_relations().map(|(r, field)| r.name(model.ident, field).unwrap_or_default()).collect()
}

#[test]
fn valid_relations() {
    let item = model(
        quote! {
            #[has_many(Comment, foreign_key = "post_id")]
            #[has_one(crate::Cover, foreign_key = "post_id", name = "cover_image")]
            #[many_to_many(Tag, through = PostTag, foreign_key = "post_id", target_key = "tag_id")]
            #[has_many(Self, foreign_key = "reply_to")]
        },
        quote!(#[belongs_to(User, on_delete = "set_null")]),
    );
    assert!(errors(item.clone()).is_empty(), "{:?}", errors(item));
    assert_eq!(names(item), ["comments", "cover_image", "tags", "posts", "author"]);
    for on_delete in ["restrict", "cascade", "set_null"] {
        assert!(errors(on_field(quote!(#[belongs_to(User, on_delete = #on_delete)]))).is_empty());
    }
    assert!(errors(on_field(quote!(#[belongs_to(a::User, name = "writer")]))).is_empty());
}

#[test]
fn default_names() {
    assert_eq!(snake_case("PostTag"), "post_tag");
    assert_eq!(snake_case("HTTPRequest"), "http_request");
    assert_eq!(snake_case("Utf8Text"), "utf8_text");
    assert_eq!(snake_case("user"), "user");
    let plurals = [
        ("post", "posts"),
        ("address", "addresses"),
        ("box", "boxes"),
        ("quiz", "quizes"),
        ("match", "matches"),
        ("wish", "wishes"),
        ("category", "categories"),
        ("key", "keys"),
        ("post_tag", "post_tags"),
    ];
    for (singular, expected) in plurals {
        assert_eq!(plural(singular), expected);
    }
    let item = on_struct(quote! {
        #[has_many(BlogEntry, foreign_key = "post_id")]
        #[has_one(Profile, foreign_key = "post_id")]
        #[many_to_many(Category, through = PostCategory, foreign_key = "post_id", target_key = "category_id")]
    });
    assert_eq!(names(item), ["blog_entries", "profile", "categories"]);
}

#[test]
fn identifiers_from_strings() {
    let span = Span::call_site();
    assert_eq!(ident_named("author_id", span).map(|i| i.to_string()).as_deref(), Some("author_id"));
    assert_eq!(ident_named("type", span).map(|i| i.to_string()).as_deref(), Some("r#type"));
    for bad in ["", "author id", "1st", "r#type", "self", "_", "a-b", "a::b"] {
        assert!(ident_named(bad, span).is_none(), "{bad:?}");
    }
}

#[test]
fn key_errors() {
    assert_error(on_struct(quote!(#[has_many(Comment)])), "`#[has_many]` needs `foreign_key = \"...\"`");
    assert_error(on_struct(quote!(#[has_one(Cover)])), "`#[has_one]` needs `foreign_key = \"...\"`");
    let errors = errors(on_struct(quote!(#[many_to_many(Tag)])));
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].contains("needs `foreign_key"));
    assert!(errors[1].contains("needs `through = JoinModel`"));
    assert!(errors[2].contains("needs `target_key"));
    assert_error(
        on_struct(quote!(#[has_many(Comment, foreign_key = "post_id", on_delete = "cascade")])),
        "unknown `#[has_many]` key `on_delete`; expected `foreign_key` or `name`",
    );
    assert_error(
        on_field(quote!(#[belongs_to(User, foreign_key = "author_id")])),
        "the field under `#[belongs_to]` is the foreign key",
    );
    assert_error(on_struct(quote!(#[has_many(Comment, Tag)])), "unknown `#[has_many]` key `Tag`");
    assert_error(
        on_struct(quote!(#[has_many(Comment, foreign_key = "post_id", foreign_key = "x")])),
        "duplicate `foreign_key`",
    );
    assert_error(on_struct(quote!(#[has_many(foreign_key = "post_id")])), "names the related model first");
    assert_error(on_struct(quote!(#[has_many])), "needs the related model");
    assert_error(on_struct(quote!(#[has_many = "Comment"])), "expected `#[has_many(Post");
    assert_error(on_struct(quote!(#[has_many(Comment, foreign_key = post_id)])), "expected a string literal");
    assert_error(on_struct(quote!(#[has_many(Comment, foreign_key = "post id")])), "is not a field name");
    assert_error(
        on_struct(quote!(#[many_to_many(Tag, through = "PostTag", foreign_key = "a", target_key = "b")])),
        "not a string",
    );
}

#[test]
fn on_delete_errors() {
    assert_error(
        on_field(quote!(#[belongs_to(User, on_delete = "nullify")])),
        "unknown `on_delete` value \"nullify\"; expected `\"restrict\"` (the default), `\"cascade\"` or `\"set_null\"`",
    );
    assert_error(on_field(quote!(#[belongs_to(User, on_delete = cascade)])), "expected a string literal");
    assert_error(
        on_field(quote!(#[belongs_to(User, on_delete = "cascade", on_delete = "restrict")])),
        "duplicate `on_delete`",
    );
}

#[test]
fn name_errors() {
    let without_id = quote! {
        #[table(name = "posts")]
        struct Post {
            #[primary_key]
            id: i64,
            #[belongs_to(User)]
            author: i64,
        }
    };
    assert_error(
        without_id,
        "`author` does not end in `_id`, so the relation has no default name; add `name = \"...\"`",
    );
    assert_error(on_field(quote!(#[belongs_to(User, name = "new")])), "the relation name `new` is taken");
    assert_error(on_struct(quote!(#[has_one(Column, foreign_key = "a", name = "columns")])), "`columns` is taken");
    assert_error(on_field(quote!(#[belongs_to(User, name = "the author")])), "is not an identifier");
    assert_error(
        on_struct(quote!(#[has_many(Comment, foreign_key = "a")] #[has_many(Comment, foreign_key = "b")])),
        "duplicate relation name `comments`",
    );
    assert_error(
        model(quote!(#[has_one(Author, foreign_key = "post_id")]), quote!(#[belongs_to(User)])),
        "duplicate relation name `author`",
    );
    // A malformed `name` is reported once, not also as a missing one.
    let item = quote! {
        #[table(name = "posts")]
        struct Post { #[primary_key] id: i64, #[belongs_to(User, name = 5)] author: i64 }
    };
    assert_error(item, "expected a string literal");
}

#[test]
fn misplaced_relations() {
    assert_error(on_struct(quote!(#[belongs_to(User)])), "`#[belongs_to(..)]` belongs on the field");
    assert_error(on_field(quote!(#[has_many(Comment, foreign_key = "a")])), "`#[has_many(..)]` belongs on the struct");
    assert_error(on_field(quote!(#[has_one(Cover, foreign_key = "a")])), "`#[has_one(..)]` belongs on the struct");
    assert_error(on_field(quote!(#[many_to_many(Tag)])), "`#[many_to_many(..)]` belongs on the struct");
    assert_error(on_field(quote!(#[belongs_to(User)] #[belongs_to(Admin)])), "duplicate `#[belongs_to]`");
}

fn expanded(item: TokenStream) -> String {
    expand::model(TokenStream::new(), item).to_string()
}

#[test]
fn output_has_foreign_keys_functions_and_checks() {
    let output = expanded(model(
        quote! {
            #[has_many(Comment, foreign_key = "post_id")]
            #[many_to_many(Tag, through = PostTag, foreign_key = "post_id", target_key = "tag_id")]
        },
        quote!(#[belongs_to(User, on_delete = "set_null")]),
    ));
    assert!(!output.contains("compile_error"), "{output}");
    for ours in ["# [has_many", "# [many_to_many", "# [belongs_to"] {
        assert!(!output.contains(ours), "{ours} left in {output}");
    }
    let expected = [
        "foreign_keys : & [:: storehaus :: __private :: ForeignKeyDef { column : \"author_id\" , references : || < User as :: storehaus :: __private :: Model > :: TABLE , on_delete : :: storehaus :: __private :: OnDelete :: SetNull , }]",
        "fn comments () -> :: storehaus :: __private :: Relation < Self , Comment >",
        "fn tags () -> :: storehaus :: __private :: Relation < Self , Tag >",
        "fn author () -> :: storehaus :: __private :: Relation < Self , User >",
        "RelationKind :: HasMany { foreign_key : \"post_id\" }",
        "RelationKind :: BelongsTo { foreign_key : \"author_id\" }",
        "through : || < PostTag as :: storehaus :: __private :: Model > :: TABLE",
        "The `User` this `Post` belongs to, through `author_id`.",
        "The `Comment`s of this `Post`: those whose `post_id` holds its key.",
        "ForeignKey :: < < User as :: storehaus :: __private :: Model > :: Key > :: key (& row . author_id)",
        "type __Related = Comment ;",
        "type __Join = PostTag ;",
        "value_of (__Related :: columns () . post_id)",
        "value_of (__Join :: columns () . tag_id)",
        "sets `author_id` to NULL",
    ];
    for snippet in expected {
        assert!(output.contains(snippet), "{snippet} missing from {output}");
    }
}

#[test]
fn output_without_relations_has_no_foreign_keys() {
    let output = expanded(on_struct(TokenStream::new()));
    assert!(output.contains("foreign_keys : & []"), "{output}");
    assert!(!output.contains("Relation <"), "{output}");
}

#[test]
fn self_stands_for_the_model_outside_its_impls() {
    let output = expanded(on_struct(quote!(#[has_many(Self, foreign_key = "reply_to", name = "replies")])));
    assert!(output.contains("fn replies () -> :: storehaus :: __private :: Relation < Self , Post >"), "{output}");
    assert!(output.contains("type __Related = Post ;"), "{output}");
}

#[test]
fn output_on_error_keeps_the_valid_relation_functions() {
    let output = expanded(quote! {
        #[table(name = "posts", oops)]
        #[has_many(Comment, foreign_key = "post_id")]
        #[has_many(Comment, foreign_key = "editor_id")]
        struct Post {
            #[primary_key]
            id: i64,
            #[belongs_to(User, name = "new")]
            author_id: i64,
        }
    });
    assert!(output.contains("compile_error"));
    assert!(output.contains("foreign_keys : & []"), "{output}");
    assert_eq!(output.matches("fn comments ()").count(), 1, "{output}");
    assert!(!output.contains("fn new () ->"), "{output}");
    assert!(output.contains("unreachable"), "{output}");
    assert!(!output.contains("value_of"), "no type checks on a model with errors: {output}");
}

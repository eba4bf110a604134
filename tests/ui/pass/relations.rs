//! Relations: `#[belongs_to]` with each `on_delete`, `#[has_many]`, `#[has_one]`,
//! `#[many_to_many]`, an `Option` foreign key, custom names, a relation to a model declared
//! later in the file, two models referring to each other, and a model referring to itself.
#![deny(warnings)]
#![deny(missing_debug_implementations, unused, unused_qualifications, trivial_casts, unused_results)]

use storehaus::model::OnDelete;
use storehaus::prelude::*;
use storehaus::relation::RelationKind;

// `Post` is declared below: relations may name models declared later.
#[model]
#[table(name = "users")]
#[has_many(Post, foreign_key = "author_id")]
#[has_many(Post, foreign_key = "editor_id", name = "edited_posts")]
#[has_one(Profile, foreign_key = "user_id")]
#[has_many(Category, foreign_key = "owner_id")]
pub struct User {
    #[primary_key]
    pub id: i64,
    pub name: String,
    // `User` and `Profile` refer to each other.
    #[belongs_to(Profile, on_delete = "set_null", name = "main_profile")]
    pub main_profile_ref: Option<Uuid>,
}

#[model]
#[table(name = "profiles")]
pub struct Profile {
    #[primary_key]
    pub id: Uuid,
    #[belongs_to(User, on_delete = "cascade")]
    #[unique]
    pub user_id: i64,
}

#[model]
#[table(name = "posts")]
#[many_to_many(Tag, through = PostTag, foreign_key = "post_id", target_key = "tag_id")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    #[belongs_to(User)]
    pub author_id: i64,
    #[belongs_to(User, on_delete = "restrict", name = "editor")]
    pub editor_id: Option<i64>,
    #[belongs_to(Category, on_delete = "set_null")]
    pub category_id: Option<i32>,
    pub title: String,
}

#[model]
#[table(name = "tags")]
#[many_to_many(Post, through = PostTag, foreign_key = "tag_id", target_key = "post_id", name = "tagged")]
pub struct Tag {
    #[primary_key]
    pub id: Uuid,
    pub label: String,
}

#[model]
#[table(name = "post_tags")]
#[unique(post_id, tag_id)]
pub struct PostTag {
    #[primary_key]
    pub id: i64,
    #[belongs_to(Post, on_delete = "cascade")]
    pub post_id: i64,
    #[belongs_to(Tag, on_delete = "cascade")]
    pub tag_id: Uuid,
}

// A tree: categories hold their parent's key.
#[model]
#[table(name = "categories")]
#[has_many(Self, foreign_key = "parent_id", name = "children")]
#[has_many(Post, foreign_key = "category_id")]
pub struct Category {
    #[primary_key]
    pub id: i32,
    #[belongs_to(Self, on_delete = "cascade")]
    pub parent_id: Option<i32>,
    #[belongs_to(User)]
    pub owner_id: i64,
}

mod private {
    use storehaus::prelude::*;

    /// Relations the crate never loads raise no warnings.
    #[model]
    #[table(name = "quiet_parents")]
    #[has_many(children::QuietChild, foreign_key = "parent_id", name = "children")]
    #[has_one(children::QuietChild, foreign_key = "parent_id")]
    struct QuietParent {
        #[primary_key]
        id: i64,
    }

    mod children {
        use storehaus::prelude::*;

        /// Its private foreign key is still checked, through the typed columns.
        #[model]
        #[table(name = "quiet_children")]
        pub(super) struct QuietChild {
            #[primary_key]
            id: i64,
            #[belongs_to(super::QuietParent, on_delete = "set_null")]
            parent_id: Option<i64>,
        }
    }
}

fn main() {
    assert_eq!(User::posts().name(), "posts");
    assert_eq!(User::edited_posts().name(), "edited_posts");
    assert_eq!(User::profile().name(), "profile");
    assert_eq!(User::categories().name(), "categories");
    assert_eq!(User::main_profile().name(), "main_profile");
    assert_eq!(Profile::user().name(), "user");
    assert_eq!(Post::author().name(), "author");
    assert_eq!(Post::editor().name(), "editor");
    assert_eq!(Post::category().name(), "category");
    assert_eq!(Post::tags().name(), "tags");
    assert_eq!(Tag::tagged().name(), "tagged");
    assert_eq!(PostTag::post().name(), "post");
    assert_eq!(PostTag::tag().name(), "tag");
    assert_eq!(Category::children().name(), "children");
    assert_eq!(Category::parent().name(), "parent");
    assert_eq!(Category::owner().name(), "owner");

    let fks = Post::TABLE.foreign_keys;
    let summary: Vec<_> = fks.iter().map(|k| (k.column, k.parent().name, k.on_delete)).collect();
    assert_eq!(
        summary,
        [
            ("author_id", "users", OnDelete::Restrict),
            ("editor_id", "users", OnDelete::Restrict),
            ("category_id", "categories", OnDelete::SetNull),
        ]
    );
    assert_eq!(
        User::TABLE.foreign_key("main_profile_ref").map(|k| (k.parent().name, k.on_delete)),
        Some(("profiles", OnDelete::SetNull))
    );
    assert_eq!(Profile::TABLE.foreign_keys[0].on_delete, OnDelete::Cascade);
    assert_eq!(Category::TABLE.foreign_keys[0].parent().name, "categories");
    assert!(Tag::TABLE.foreign_keys.is_empty());

    let def = User::posts().def();
    assert!(matches!(def.kind, RelationKind::HasMany { foreign_key: "author_id" }));
    assert_eq!((def.from_table().name, def.to_table().name), ("users", "posts"));
    assert!(matches!(User::profile().def().kind, RelationKind::HasOne { foreign_key: "user_id" }));
    assert!(matches!(Post::author().def().kind, RelationKind::BelongsTo { foreign_key: "author_id" }));
    assert_eq!(Post::author().def().to_table().name, "users");
    match Post::tags().def().kind {
        RelationKind::ManyToMany { through, foreign_key, target_key } => {
            assert_eq!((through().name, foreign_key, target_key), ("post_tags", "post_id", "tag_id"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(Tag::tagged().def().to_table().name, "posts");
    assert_eq!(Category::children().def().to_table().name, "categories");
}

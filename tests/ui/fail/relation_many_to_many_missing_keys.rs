use storehaus::prelude::*;

#[model]
#[table(name = "posts")]
#[many_to_many(Tag)]
#[many_to_many(Tag, through = "PostTag", foreign_key = "post_id", target_key = "tag_id", name = "labels")]
pub struct Post {
    #[primary_key]
    pub id: i64,
}

#[model]
#[table(name = "tags")]
pub struct Tag {
    #[primary_key]
    pub id: i64,
}

fn main() {}

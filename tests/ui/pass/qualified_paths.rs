//! The macros work without the prelude, named by their full paths, and the generated code needs
//! nothing imported.

#[storehaus::model]
#[storehaus::table(name = "counters", versioned)]
pub struct Counter {
    #[primary_key]
    pub name: String,
    pub value: i64,
}

fn main() {
    use storehaus::Model;

    assert!(Counter::TABLE.versioned);
    assert_eq!(Counter::new("hits".into(), 1).key(), "hits");
}

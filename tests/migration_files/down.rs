//! The `down` section of a generated file: run by hand, it brings the table back to the model
//! before the file, and it undoes only what the file does.

use super::*;
use storehaus::migrations;

/// The statements of a generated section: one per line, each ending with `;`.
fn statements(section: &str) -> Vec<&str> {
    section.lines().filter_map(|line| line.trim().strip_suffix(';')).collect()
}

/// The names of the indexes that `statements` create (`CREATE [UNIQUE] INDEX [CONCURRENTLY] "name"`)
/// or drop (`DROP INDEX [CONCURRENTLY] IF EXISTS "name"`), by the statement's first word.
fn index_names<'s>(statements: &[&'s str], verb: &str) -> Vec<&'s str> {
    statements
        .iter()
        .filter(|sql| sql.starts_with(verb) && sql.contains("INDEX"))
        .filter_map(|sql| sql.split('"').nth(1))
        .collect()
}

/// Applies a file for V1, then generates (without applying) the file that takes it to V2.
async fn v2_file_after_v1(pool: &storehaus::DbPool, dir: &std::path::Path) -> migrations::GeneratedFile {
    migrations::generate::<ArticleV1>(pool, dir, "create_articles").await.unwrap().unwrap();
    migrations::apply(pool, dir).await.unwrap();
    migrations::generate::<ArticleV2>(pool, dir, "index_titles").await.unwrap().unwrap()
}

on_both_backends! {
    /// V1 then V2 by two files; the second file's down statements, run by hand, leave the table
    /// as V1 wants it: no subtitle, no title index, nothing to plan.
    async fn down_section_restores_the_previous_model(db) {
        let storehaus = db.storehaus().await;
        let dir = ScratchDir::new();
        let pool = storehaus.pool();
        let second = v2_file_after_v1(pool, dir.path()).await;
        migrations::apply(pool, dir.path()).await.unwrap();
        // V1 would drop a column: planned (refused) or not, the table is not V1's.
        let before = storehaus.plan::<ArticleV1>().await;
        assert!(!matches!(&before, Ok(plan) if plan.is_empty()), "{before:?}");

        let text = std::fs::read_to_string(&second.path).unwrap();
        let down = section(&text, "down").unwrap_or_else(|| panic!("a down section:\n{text}"));
        for sql in statements(down) {
            raw::execute(&storehaus, sql).await;
        }
        assert!(storehaus.plan::<ArticleV1>().await.unwrap().is_empty(), "{text}");
        assert!(catalog::indexes_on::<B>(&storehaus, "mf_articles", "title").await.is_empty());
    }

    /// Every index the down section drops is one the file creates: the down of an added column
    /// and index does not mention other indexes of the table.
    async fn down_section_drops_only_indexes_the_file_creates(db) {
        let storehaus = db.storehaus().await;
        let dir = ScratchDir::new();
        let pool = storehaus.pool();
        let second = v2_file_after_v1(pool, dir.path()).await;

        let text = std::fs::read_to_string(&second.path).unwrap();
        let mut created = index_names(&statements(section(&text, "up").unwrap_or_default()), "CREATE");
        created.extend(index_names(&statements(section(&text, "after-commit").unwrap_or_default()), "CREATE"));
        let dropped = index_names(&statements(section(&text, "down").unwrap_or_default()), "DROP");
        assert_eq!(created, ["mf_articles_title_idx"], "{text}");
        assert_eq!(dropped, created, "the down section drops an index the file does not create:\n{text}");
    }
}

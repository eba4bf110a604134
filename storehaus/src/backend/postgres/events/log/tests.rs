use super::*;

#[test]
fn statements_name_the_log_and_its_channel() {
    assert_eq!(channel!(), super::super::CHANNEL);
    assert!(STATEMENTS.iter().all(|sql| sql.contains(&format!("\"{}", super::super::EVENT_LOG))));
    assert!(PUBLISH.starts_with("INSERT INTO \"storehaus_events\""));
}

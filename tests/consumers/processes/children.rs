//! The parent side: starting child consumers, killing them, and never leaving one behind.

use super::child::{CHILD, CONSUMER, DATABASE_URL, LABEL, PARTITIONS};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use storehaus::testing::TestDatabase;

/// The child processes of one test, all running one consumer. Every child still running is
/// killed and waited for when this is dropped, a panicking test included.
#[derive(Debug)]
pub struct Children {
    program: PathBuf,
    url: String,
    consumer: String,
    partitions: u32,
    running: Vec<(String, Child)>,
}

impl Children {
    pub fn new(db: &TestDatabase, consumer: &str, partitions: u32) -> Self {
        Children {
            program: std::env::current_exe().expect("the path of this test binary"),
            url: db.url().to_owned(),
            consumer: consumer.to_owned(),
            partitions,
            running: Vec::new(),
        }
    }

    /// Starts a child consumer that records its work under `label`.
    pub fn spawn(&mut self, label: &str) {
        let child = Command::new(&self.program)
            .args(["--exact", "processes::child_consumer", "--nocapture", "--test-threads", "1"])
            .env(CHILD, "1")
            .env(DATABASE_URL, &self.url)
            .env(CONSUMER, &self.consumer)
            .env(PARTITIONS, self.partitions.to_string())
            .env(LABEL, label)
            // The test harness's own lines; a child's panic still shows on stderr.
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start child {label}: {e}"));
        self.running.push((label.to_owned(), child));
    }

    /// Kills child `label` with SIGKILL, giving it no chance to save anything, and reaps it.
    pub fn kill(&mut self, label: &str) {
        let index = self.running.iter().position(|(l, _)| l == label).unwrap_or_else(|| panic!("no child {label}"));
        let (_, mut child) = self.running.remove(index);
        child.kill().unwrap_or_else(|e| panic!("cannot kill child {label}: {e}"));
        child.wait().unwrap_or_else(|e| panic!("child {label} was not reaped: {e}"));
    }

    /// Kills every child still running.
    pub fn stop_all(&mut self) {
        for (_, mut child) in self.running.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Panics when a child ended by itself: it would otherwise only show as a timeout.
    pub fn assert_running(&mut self) {
        for (label, child) in &mut self.running {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("child {label} ended by itself: {status}");
            }
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop_all();
    }
}

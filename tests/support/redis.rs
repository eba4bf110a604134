//! Redis for the cache suites: the shared server's URL, a key prefix per test, and a private
//! `redis-server` that a test may stop and start again on the same port.
//!
//! Tests never touch the shared server's process: only the private servers started here are
//! stopped, each by its own child handle.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use storehaus::cache::glob_escape;

/// The server used when `REDIS_URL` is not set (or empty).
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// How long a private server may take to answer its first `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The shared Redis the suites run against: `REDIS_URL`, else [`DEFAULT_REDIS_URL`].
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").ok().filter(|url| !url.trim().is_empty()).unwrap_or_else(|| DEFAULT_REDIS_URL.to_owned())
}

/// A key prefix that no other test, and no other run, uses: tests share one Redis.
pub fn unique_prefix(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("shsuite:{test}:{}:{nanos:x}:{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Reports a service the test cannot use: panics when `CI` or `STOREHAUS_REQUIRE_SERVICES` is
/// set, else prints a loud `*** SKIPPED` line. Returns `None`, for `let Some(..) = .. else { return }`.
pub fn unavailable<T>(test: &str, why: &str) -> Option<T> {
    if storehaus::testing::require_services() {
        panic!("{test}: {why}\n(CI or STOREHAUS_REQUIRE_SERVICES is set, so this test fails instead of skipping)");
    }
    eprintln!("\n*** SKIPPED {test}: {why}\n*** set REDIS_URL to a server this test can use\n");
    None
}

/// The settings of a manager on the shared Redis: [`redis_url`] with the suites' short timeouts.
fn shared_config() -> storehaus::cache::CacheConfig {
    storehaus::cache::CacheConfig {
        redis_url: redis_url(),
        timeout_ms: 2000,
        connection_timeout_ms: 2000,
        ..storehaus::cache::CacheConfig::default()
    }
}

/// A manager on the shared Redis with the suites' short timeouts, or `None` (after
/// [`unavailable`]) when it does not answer.
pub async fn shared_manager(test: &str) -> Option<storehaus::cache::CacheManager> {
    let config = shared_config();
    let manager = storehaus::cache::CacheManager::new(config.clone())
        .unwrap_or_else(|e| panic!("REDIS_URL {} is not usable: {e}", config.redacted_url()));
    if let Err(error) = manager.ping().await {
        return unavailable(test, &format!("Redis at {} is unreachable: {error}", config.redacted_url()));
    }
    Some(manager)
}

/// Every key of `cache` under `prefix`, sorted, found with `SCAN`.
pub async fn keys_under(cache: &storehaus::cache::CacheManager, prefix: &str) -> Vec<String> {
    let mut keys = scan_all(cache, &format!("{prefix}*")).await.expect("SCAN answers");
    keys.sort();
    keys.dedup();
    keys
}

/// Every key of `cache` matching `pattern`, by a full `SCAN`.
async fn scan_all(cache: &storehaus::cache::CacheManager, pattern: &str) -> storehaus::cache::CacheResult<Vec<String>> {
    let (mut cursor, mut keys) = (0, Vec::new());
    loop {
        let (next, found) = cache.scan(pattern, cursor, 1000).await?;
        keys.extend(found);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// Deletes every key of `cache` under `prefix`: a test's own keys on the shared server.
pub async fn delete_under(cache: &storehaus::cache::CacheManager, prefix: &str) {
    for key in keys_under(cache, prefix).await {
        let _ = cache.delete(&key).await;
    }
}

/// `prefix` as cache keys spell it: a `KeySpace` percent-encodes its prefix into one segment, so
/// the keys of a store under `shsuite:a` start with `shsuite%3Aa:`.
pub fn encoded_prefix(prefix: &str) -> String {
    storehaus::cache::KeySpace::new(prefix).encoded_prefix().to_owned()
}

/// Deletes every key of `cache` a test wrote under `prefix`, spelled as given (keys built by
/// hand) or as a `KeySpace` encodes it (keys of the cache layer); returns those found after
/// the deletes, which should be none.
pub async fn delete_test_keys(
    cache: &storehaus::cache::CacheManager,
    prefix: &str,
) -> storehaus::cache::CacheResult<Vec<String>> {
    let patterns = [format!("{}*", glob_escape(prefix)), format!("{}:*", glob_escape(&encoded_prefix(prefix)))];
    for pattern in &patterns {
        let found = scan_all(cache, pattern).await?;
        if !found.is_empty() {
            cache.backend().delete(&found).await?;
        }
    }
    let mut left = Vec::new();
    for pattern in &patterns {
        left.extend(scan_all(cache, pattern).await?);
    }
    left.sort();
    left.dedup();
    Ok(left)
}

/// Deletes every key under a test's prefix from the shared Redis when dropped (see
/// [`delete_test_keys`]), so a test leaves none behind whether it passes or fails. A test that
/// passed fails here when keys are left; a failing one only reports them.
#[derive(Debug)]
pub struct KeyCleanup {
    prefix: String,
}

impl KeyCleanup {
    /// Cleans up `prefix` on the shared Redis ([`redis_url`]) at the end of the test.
    pub fn new(prefix: impl Into<String>) -> KeyCleanup {
        KeyCleanup { prefix: prefix.into() }
    }
}

impl Drop for KeyCleanup {
    fn drop(&mut self) {
        let prefix = std::mem::take(&mut self.prefix);
        // Drop cannot await, and the test's runtime may be unwinding: the deletes run on a thread
        // and a runtime of their own, with a manager of their own.
        let outcome = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let manager = storehaus::cache::CacheManager::new(shared_config()).map_err(|e| e.to_string())?;
                match tokio::time::timeout(Duration::from_secs(10), delete_test_keys(&manager, &prefix)).await {
                    Ok(Ok(left)) if left.is_empty() => Ok(()),
                    Ok(Ok(left)) => Err(format!("keys left under {prefix}: {left:?}")),
                    Ok(Err(error)) => Err(format!("deleting the keys under {prefix}: {error}")),
                    Err(_) => Err(format!("deleting the keys under {prefix} timed out")),
                }
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the cleanup thread panicked".to_owned()));
        if let Err(why) = outcome {
            if std::thread::panicking() {
                eprintln!("could not clean up the shared Redis: {why}");
            } else {
                panic!("could not clean up the shared Redis: {why}");
            }
        }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on: bound once here, then released.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("a bound listener has an address").port()
}

/// A `redis-server` of one test alone, killed when dropped so it never outlives the test.
/// Without persistence ([`RedisServer::start`]) or with every write on disk before it is
/// acknowledged ([`RedisServer::start_durable`]).
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    durable: bool,
}

impl RedisServer {
    /// Starts `redis-server` on `port`, without persistence, and waits until it answers `PING`.
    /// `Err` when the binary is missing or the server does not come up.
    pub fn start(port: u16) -> Result<RedisServer, String> {
        Self::start_with(port, false)
    }

    /// Like [`RedisServer::start`], with `appendonly yes` and `appendfsync always`: every write is
    /// on disk before Redis acknowledges it, so a `SIGKILL` ([`RedisServer::stop`]) loses no
    /// acknowledged write and [`RedisServer::restart`] brings them back.
    pub fn start_durable(port: u16) -> Result<RedisServer, String> {
        Self::start_with(port, true)
    }

    fn start_with(port: u16, durable: bool) -> Result<RedisServer, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "storehaus-suite-redis-{}-{port}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut server = RedisServer { child: None, port, dir, durable };
        server.spawn()?;
        Ok(server)
    }

    /// Starts the server again on the same port after [`RedisServer::stop`]; it comes back empty,
    /// or with every acknowledged write when durable.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }

    fn spawn(&mut self) -> Result<(), String> {
        let persistence: &[&str] =
            if self.durable { &["--appendonly", "yes", "--appendfsync", "always"] } else { &["--appendonly", "no"] };
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(persistence)
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        let child = self.child.insert(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if ping(self.port) {
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!("redis-server exited at start on port {}: {status}", self.port));
            }
            if Instant::now() > deadline {
                return Err(format!("redis-server did not answer on port {} within {START_TIMEOUT:?}", self.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL, for `CacheConfig::redis_url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (`SIGKILL`) and waits until it is gone; its data is lost unless durable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a server on `port` answers `PING` (accepting connections is not enough: it must
/// also serve commands).
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

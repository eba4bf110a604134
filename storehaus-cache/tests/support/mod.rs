//! Helpers shared by the integration tests: managers on both backends, unique key prefixes,
//! and a private `redis-server` for fault tests.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use storehaus_cache::{CacheConfig, CacheManager, CacheResult, KeySpace, glob_escape};

/// The Redis the shared suite runs against.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").ok().filter(|url| !url.is_empty()).unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned())
}

/// Whether a missing service must fail the test instead of skipping it.
pub fn services_required() -> bool {
    ["CI", "STOREHAUS_REQUIRE_SERVICES"].iter().any(|name| {
        std::env::var(name).is_ok_and(|value| {
            let value = value.trim().to_ascii_lowercase();
            !value.is_empty() && value != "0" && value != "false"
        })
    })
}

/// Fails the test when services are required, else prints a loud skip line. Returns `None`
/// so callers can `let Some(..) = .. else { return }`.
pub fn skip<T>(test: &str, why: &str) -> Option<T> {
    if services_required() {
        panic!("{test}: {why} (required because CI or STOREHAUS_REQUIRE_SERVICES is set)");
    }
    eprintln!("*** SKIPPED {test}: {why}");
    None
}

/// A key prefix no other test (or run) uses; it starts with [`test_prefix`].
pub fn unique_prefix(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{}{nanos:x}:{}", test_prefix(test), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The start of every [`unique_prefix`] of `test` in this process: what its cleanup deletes.
pub fn test_prefix(test: &str) -> String {
    format!("shtest:{test}:{}:", std::process::id())
}

/// Deletes every key of `manager` that starts with `start`, spelled as given (keys built by
/// hand) or as a [`KeySpace`] encodes it into a segment (`shtest:a` as `shtest%3Aa`); returns
/// the keys found after the deletes, which should be none.
pub async fn delete_keys_starting(manager: &CacheManager, start: &str) -> CacheResult<Vec<String>> {
    let patterns = [glob_escape(start), glob_escape(KeySpace::new(start).encoded_prefix())].map(|p| p + "*");
    for pattern in &patterns {
        let found = scan(manager, pattern).await?;
        if !found.is_empty() {
            manager.backend().delete(&found).await?;
        }
    }
    let mut left = Vec::new();
    for pattern in &patterns {
        left.extend(scan(manager, pattern).await?);
    }
    left.sort();
    left.dedup();
    Ok(left)
}

/// Every key matching `pattern`, by a full `SCAN`.
async fn scan(manager: &CacheManager, pattern: &str) -> CacheResult<Vec<String>> {
    let (mut cursor, mut keys) = (0, Vec::new());
    loop {
        let (next, found) = manager.scan(pattern, cursor, 1000).await?;
        keys.extend(found);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// Deletes every key `test` wrote on the shared Redis in this process ([`test_prefix`]). Does
/// nothing when Redis does not answer: the test itself reports that. Panics when keys are left
/// and `check` is set.
pub async fn clean_up_redis(test: &str, check: bool) {
    let Ok(config) = CacheConfig::from_url(redis_url()) else { return };
    let config = CacheConfig { timeout_ms: 2000, connection_timeout_ms: 2000, ..config };
    let Ok(manager) = CacheManager::new(config) else { return };
    if manager.ping().await.is_err() {
        return;
    }
    let outcome = delete_keys_starting(&manager, &test_prefix(test)).await;
    match outcome {
        Ok(left) if left.is_empty() => {}
        _ if !check => eprintln!("could not delete every key of {test}: {outcome:?}"),
        _ => panic!("could not delete every key of {test}: {outcome:?}"),
    }
}

/// A manager and a key space of its own for one test.
#[derive(Debug)]
pub struct Ctx {
    pub manager: Arc<CacheManager>,
    pub space: KeySpace,
}

impl Ctx {
    /// On the shared Redis, or `None` (after a skip line) when it is unreachable.
    pub async fn redis(test: &str, tweak: impl FnOnce(&mut CacheConfig)) -> Option<Ctx> {
        let mut config = CacheConfig::from_url(redis_url()).expect("valid REDIS_URL");
        config.timeout_ms = 2000;
        config.connection_timeout_ms = 2000;
        tweak(&mut config);
        let manager = CacheManager::new(config.clone()).expect("valid config");
        if let Err(error) = manager.ping().await {
            return skip(test, &format!("Redis at {} is unreachable: {error}", config.redacted_url()));
        }
        Some(Ctx { manager: Arc::new(manager), space: KeySpace::new(unique_prefix(test)) })
    }

    /// On the in-memory backend.
    pub fn memory(test: &str, tweak: impl FnOnce(&mut CacheConfig)) -> Ctx {
        let mut config = CacheConfig::default();
        tweak(&mut config);
        let backend = Arc::new(storehaus_cache::MemoryBackend::new(config.memory_max_bytes));
        let manager = CacheManager::with_backend(backend, &config).expect("valid config");
        Ctx { manager: Arc::new(manager), space: KeySpace::new(unique_prefix(test)) }
    }
}

/// A TCP port nothing listens on (bound once by us, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().unwrap().port()
}

/// A `redis-server` of this test alone, killed when dropped so it never outlives the test.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` on `port` without persistence and waits until it accepts
    /// connections. `Err` when the binary is missing or the server does not come up.
    pub fn start(port: u16) -> Result<RedisServer, String> {
        let dir = std::env::temp_dir().join(format!("storehaus-cache-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        let mut server = RedisServer { child: Some(child), port, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            if let Some(child) = server.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("redis-server exited at start: {status}"));
            }
            if Instant::now() > deadline {
                return Err(format!("redis-server did not listen on port {port} within 15 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes the server (`SIGSTOP`): connections stay open but nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a paused server (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the server runs").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    /// Kills the server and waits until it is gone.
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

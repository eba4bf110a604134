//! The circuit breaker in front of Redis: it opens after repeated failures, refuses calls at
//! once while open, probes after its open period and closes when Redis answers again; reads
//! fall back to the loader (or fail, with the fail-fast strategy) meanwhile.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use storehaus_cache::{CacheConfig, CacheError, CacheManager, KeySpace};
use storehaus_resilience::{BreakerConfig, BreakerState, Strategy};
use support::{free_port, redis_url, skip, unique_prefix};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const TTL: Duration = Duration::from_secs(60);

type LoadError = Arc<String>;

/// A TCP proxy in front of Redis that forwards, or turns into a black hole: connections are
/// accepted and commands read, but nothing is answered and nothing is closed.
struct Proxy {
    addr: SocketAddr,
    forwarding: Arc<AtomicBool>,
    /// Bumped when the proxy turns silent: connections opened before stay silent for good, since
    /// Redis's answers to what they sent meanwhile are lost.
    silenced: Arc<AtomicU64>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let forwarding = Arc::new(AtomicBool::new(true));
        let silenced = Arc::new(AtomicU64::new(0));
        let (on, generation) = (forwarding.clone(), silenced.clone());
        // The connections' tasks live in the accept task's set, so aborting it ends them all.
        let accept = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let started = generation.load(Ordering::SeqCst);
                let upstream = if on.load(Ordering::SeqCst) { TcpStream::connect(upstream).await.ok() } else { None };
                connections.spawn(relay(client, upstream, generation.clone(), started));
            }
        });
        Proxy { addr, forwarding, silenced, accept }
    }

    fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn black_hole(&self) {
        self.forwarding.store(false, Ordering::SeqCst);
        self.silenced.fetch_add(1, Ordering::SeqCst);
    }

    fn forward(&self) {
        self.forwarding.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies both ways while the proxy has not been silenced since the connection opened; then,
/// or without an upstream, reads and drops what the client sends.
async fn relay(client: TcpStream, upstream: Option<TcpStream>, silenced: Arc<AtomicU64>, started: u64) {
    let (mut client_read, mut client_write) = client.into_split();
    let Some(upstream) = upstream else {
        let mut buf = [0u8; 4096];
        while matches!(client_read.read(&mut buf).await, Ok(n) if n > 0) {}
        return;
    };
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let live = move || silenced.load(Ordering::SeqCst) == started;
    let live_back = live.clone();
    let to_redis = async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n @ 1..) = client_read.read(&mut buf).await {
            if live() && upstream_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let to_client = async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n @ 1..) = upstream_read.read(&mut buf).await {
            if live_back() && client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(to_redis, to_client);
}

fn config(url: String, breaker: BreakerConfig) -> CacheConfig {
    CacheConfig {
        redis_url: url,
        timeout_ms: 200,
        connection_timeout_ms: 200,
        reconnect_max_delay_ms: 200,
        breaker,
        ..CacheConfig::default()
    }
}

fn is_short_circuit(error: &CacheError) -> bool {
    matches!(error, CacheError::Unavailable(message) if message.starts_with("circuit breaker open"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_on_a_silent_redis_short_circuits_and_closes_when_it_answers() {
    const TEST: &str = "breaker_silent_redis";
    let upstream: SocketAddr = match url::Url::parse(&redis_url()).ok().and_then(|url| {
        let addrs = url.socket_addrs(|| Some(6379)).ok()?;
        addrs.into_iter().next()
    }) {
        Some(addr) => addr,
        None => return skip(TEST, "REDIS_URL names no TCP address").unwrap_or(()),
    };
    let proxy = Proxy::start(upstream).await;
    let open_for = Duration::from_millis(500);
    let manager = CacheManager::new(config(proxy.url(), BreakerConfig::new(5, Duration::from_secs(10), open_for)))
        .expect("valid config");
    if let Err(error) = manager.ping().await {
        return skip(TEST, &format!("Redis behind the proxy is unreachable: {error}")).unwrap_or(());
    }
    let key = format!("{}:value", unique_prefix(TEST));
    manager.set(&key, "v1", Some(TTL)).await.unwrap();
    assert_eq!(manager.get::<String>(&key).await.unwrap().as_deref(), Some("v1"));
    assert_eq!((manager.stats().breaker, manager.stats().breaker_opened), (BreakerState::Closed, 0));

    // Silent: calls wait for the timeout until 5 have failed, then fail at once.
    proxy.black_hole();
    let silenced = Instant::now();
    let mut failures = 0u64;
    let until_fast = loop {
        let error = manager.get::<String>(&key).await.unwrap_err();
        if is_short_circuit(&error) {
            break silenced.elapsed();
        }
        assert!(error.is_transient(), "{error}");
        failures += 1;
        assert!(failures <= 5, "the breaker stayed closed after {failures} failures: {:?}", manager.stats());
    };
    let stats = manager.stats();
    eprintln!("silent Redis: calls fast after {until_fast:?} ({failures} failed calls first); {stats:?}");
    assert_eq!(failures, 5);
    assert_eq!((stats.breaker, stats.breaker_opened), (BreakerState::Open, 1));
    assert_eq!(stats.errors + stats.timeouts, 5, "{stats:?}");
    assert!(until_fast < Duration::from_millis(5 * 200 + 1500), "{until_fast:?}");

    // Open: refused at once, without reaching the backend, counted apart from errors.
    let attempts = stats.connect_attempts;
    let mut latencies = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let started = Instant::now();
        let error = manager.get::<String>(&key).await.unwrap_err();
        latencies.push(started.elapsed());
        assert!(is_short_circuit(&error), "{error}");
    }
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    let (median, p99, max) = (latencies[500], latencies[990], latencies[999]);
    eprintln!("short-circuited calls: mean {mean:?}, median {median:?}, p99 {p99:?}, max {max:?}");
    assert!(mean < Duration::from_millis(1) && p99 < Duration::from_millis(1), "mean {mean:?}, p99 {p99:?}");
    let stats = manager.stats();
    assert_eq!(stats.connect_attempts, attempts, "a refused call reached the backend");
    assert!(stats.short_circuited >= 1001, "{stats:?}");
    assert_eq!(stats.errors + stats.timeouts, 5, "short circuits are not errors: {stats:?}");
    // A read-through call answers from the loader meanwhile, at once.
    let row = KeySpace::new(unique_prefix(TEST)).table("t").row("1");
    let started = Instant::now();
    let value = manager.get_or_load(&row, TTL, || async { Ok::<_, LoadError>(Some(7)) }).await.unwrap();
    assert_eq!(value, Some(7));
    assert!(started.elapsed() < Duration::from_millis(50), "{:?}", started.elapsed());

    // After the open period one call probes; Redis is still silent, so the breaker opens again.
    tokio::time::sleep(open_for).await;
    assert_eq!(manager.breaker().state(), BreakerState::HalfOpen);
    let error = manager.get::<String>(&key).await.unwrap_err();
    assert!(!is_short_circuit(&error), "the probe went to Redis: {error}");
    assert_eq!((manager.stats().breaker, manager.stats().breaker_opened), (BreakerState::Open, 2));

    // Answering again: a later probe closes the breaker and calls are served.
    proxy.forward();
    let answering = Instant::now();
    let value = loop {
        match manager.get::<String>(&key).await {
            Ok(value) => break value,
            Err(error) => assert!(error.is_transient(), "{error}"),
        }
        assert!(answering.elapsed() < Duration::from_secs(10), "not closed 10 s after Redis answers again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let recovered_in = answering.elapsed();
    let stats = manager.stats();
    eprintln!("Redis answering again: served after {recovered_in:?}; {stats:?}");
    assert_eq!(value.as_deref(), Some("v1"));
    assert_eq!(stats.breaker, BreakerState::Closed);
    assert!(manager.breaker().stats().closed_by_probe >= 1);
    assert!(recovered_in < open_for * 2 + Duration::from_millis(1500), "{recovered_in:?}");
    assert!(manager.delete(&key).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_opens_the_breaker_and_reads_fall_back() {
    let breaker = BreakerConfig::new(3, Duration::from_secs(10), Duration::from_secs(30));
    let manager = CacheManager::new(config(format!("redis://127.0.0.1:{}", free_port()), breaker)).unwrap();
    let table = KeySpace::new(unique_prefix("closed_port")).table("t");
    for _ in 0..3 {
        let error = manager.get::<String>("k").await.unwrap_err();
        assert!(matches!(error, CacheError::Unavailable(_)) && !is_short_circuit(&error), "{error}");
    }
    let stats = manager.stats();
    assert_eq!((stats.breaker, stats.breaker_opened, stats.errors), (BreakerState::Open, 1, 3), "{stats:?}");

    // Reads answer from the loader, writes defer their invalidation, nothing reaches Redis.
    let value = manager.get_or_load(&table.row("1"), TTL, || async { Ok::<_, LoadError>(Some(1)) }).await.unwrap();
    assert_eq!(value, Some(1));
    let rows = manager.get_or_load_query(&table, "q", TTL, || async { Ok::<_, LoadError>(vec![1]) }).await.unwrap();
    assert_eq!(rows, vec![1]);
    manager.invalidate_rows(&table, &["1"]).await;
    let after = manager.stats();
    assert_eq!((after.errors, after.timeouts, after.connect_attempts), (3, 0, stats.connect_attempts), "{after:?}");
    assert_eq!(after.invalidations_deferred, 1);
    assert!(after.short_circuited >= 3, "{after:?}");
    assert!(manager.check_available().is_ok(), "the fallback strategy lets reads go on");

    let fail_fast = CacheManager::new(CacheConfig {
        strategy: Strategy::FailFast,
        ..config(format!("redis://127.0.0.1:{}", free_port()), breaker)
    })
    .unwrap();
    assert!(fail_fast.check_available().is_ok(), "closed");
    fail_fast.breaker().trip();
    let error = fail_fast.check_available().unwrap_err();
    assert!(is_short_circuit(&error), "{error}");
}

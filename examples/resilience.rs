//! Resilience between the layers: the cache's circuit breaker opening while Redis is stopped and
//! closing once it is back, reads served by the database meanwhile and never stale, a
//! transaction run again after a serialization failure, and a rate limit refusing a call.
//!
//! ```text
//! cargo run --example resilience
//! ```
//!
//! It reads its configuration with `AppConfig::load()`: `storehaus.toml` or `$STOREHAUS_CONFIG`,
//! then `DATABASE_URL`, `REDIS_URL` and the `STOREHAUS_*` variables (see docs/configuration.md);
//! the cache defaults to `redis://127.0.0.1:6379`. Your Redis is never stopped: the example puts a
//! small TCP forwarder on a free loopback port in front of it and "stops Redis" by closing the
//! forwarder's listener and every forwarded connection, so the cache gets refused connections
//! as from a stopped server, then "starts" it again on the same port. It exits non-zero when a
//! read differs from the database, when the breaker does not open or close, or when the retried
//! transaction or the rate limit do not behave as shown. See docs/resilience.md.
//!
//! The tables `resilience_products` and `resilience_accounts` are recreated on every run.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use storehaus::IsolationLevel;
use storehaus::TransactionOptions;
use storehaus::cache::{CacheConfig, CacheManager};
use storehaus::prelude::*;
use storehaus::resilience::{BreakerConfig, BreakerState, RateLimit, RateLimits};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

#[model]
#[table(name = "resilience_products")]
pub struct Product {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

#[model]
#[table(name = "resilience_accounts")]
pub struct Account {
    #[primary_key]
    pub id: Uuid,
    pub balance: i64,
}

const ROWS: usize = 20;

/// A TCP forwarder on a fixed loopback port in front of Redis, which can be stopped and started.
struct Forwarder {
    address: SocketAddr,
    upstream: SocketAddr,
    running: Option<JoinHandle<()>>,
}

impl Forwarder {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        Ok(Forwarder { address, upstream, running: Some(tokio::spawn(forward(listener, upstream))) })
    }

    /// Closes the listener and every forwarded connection: clients now get connection refused.
    async fn stop(&mut self) {
        if let Some(task) = self.running.take() {
            task.abort();
            // Once the task has ended, its listener and connections are dropped, hence closed.
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    async fn restart(&mut self) -> std::io::Result<()> {
        let listener = TcpListener::bind(self.address).await?;
        self.running = Some(tokio::spawn(forward(listener, self.upstream)));
        Ok(())
    }
}

/// Accepts connections and pipes each to `upstream`. The connections belong to the `JoinSet`,
/// so aborting this task closes them all.
async fn forward(listener: TcpListener, upstream: SocketAddr) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut client, _)) = accepted else { continue };
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Splits `redis://[user[:password]@]host[:port][/db]` into the host and port, and the URL with
/// `host:port` replaced by `{host_port}` (so credentials and database number carry over).
fn split_redis_url(url: &str) -> Option<(String, impl Fn(SocketAddr) -> String)> {
    let rest = url.strip_prefix("redis://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (user_info, host_port) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    let host_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:6379") };
    let (user_info, path) = (user_info.to_owned(), path.to_owned());
    Some((host_port, move |address: SocketAddr| format!("redis://{user_info}{address}{path}")))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::load()?;
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    storehaus.auto_migrate::<Product>(true).await?;
    storehaus.auto_migrate::<Account>(true).await?;

    let (redis_address, through) = split_redis_url(&config.cache.redis_url)
        .ok_or("this example forwards TCP: set REDIS_URL to a redis://host:port URL")?;
    let upstream = tokio::net::lookup_host(&redis_address).await?.next().ok_or("REDIS_URL names no address")?;
    let mut forwarder = Forwarder::start(upstream).await?;

    // Three failures within 10 s open the breaker; after 500 ms one call probes Redis again.
    let cache_config = CacheConfig {
        redis_url: through(forwarder.address),
        timeout_ms: 200,
        connection_timeout_ms: 500,
        reconnect_max_delay_ms: 500,
        breaker: BreakerConfig::new(3, Duration::from_secs(10), Duration::from_millis(500)),
        ..config.cache.clone()
    };
    let manager = Arc::new(CacheManager::new(cache_config)?);
    manager.ping().await.map_err(|e| format!("Redis at {} does not answer: {e}", config.cache.redacted_url()))?;
    storehaus.attach_cache(manager.clone());

    let prefix = format!("resilience:{}", Uuid::new_v4().simple());
    let plain = GenericStore::<Product>::new(storehaus.pool().clone(), None, None);
    let cached = GenericStore::<Product>::new(
        storehaus.pool().clone(),
        None,
        Some(CacheParams::new(manager.clone(), 300, prefix)),
    );
    let products: Vec<Product> =
        (0..ROWS).map(|i| Product { id: Uuid::new_v4(), name: format!("product {i}") }).collect();
    let ids: Vec<Uuid> = products.iter().map(|p| p.id).collect();
    plain.create_many(products, None).await?;

    let outcome = run(&storehaus, &manager, &mut forwarder, &plain, &cached, &ids).await;

    // This run's key prefix is never used again: remove the table's keys that never expire.
    if let Some(params) = cached.cache() {
        manager.forget_table(&params.table(Product::TABLE.name)).await?;
    }
    forwarder.stop().await;
    outcome
}

async fn run(
    storehaus: &StoreHaus,
    manager: &Arc<CacheManager>,
    forwarder: &mut Forwarder,
    plain: &GenericStore<Product>,
    cached: &GenericStore<Product>,
    ids: &[Uuid],
) -> Result<(), Box<dyn std::error::Error>> {
    // Every read through the cache must return what the database holds.
    let check = async |id: &Uuid| -> Result<Duration, Box<dyn std::error::Error>> {
        let started = Instant::now();
        let read = cached.get_by_id(id).await?;
        let elapsed = started.elapsed();
        let expected = plain.get_by_id(id).await?;
        let (read, expected) = (read.map(|r| r.name.clone()), expected.map(|r| r.name.clone()));
        if read.is_none() || read != expected {
            return Err(format!("read {id}: the cache returned {read:?}, the database {expected:?}").into());
        }
        Ok(elapsed)
    };

    // Warm the cache.
    for id in ids.iter().chain(ids) {
        check(id).await?;
    }
    let warm = manager.stats();
    println!("1. Redis up: breaker {}, {} hits, {} misses", manager.breaker().state(), warm.hits, warm.misses);
    if warm.hits < ids.len() as u64 {
        return Err("the warm cache served no hits".into());
    }

    // Stop Redis: reads fail over to the database until the breaker opens.
    forwarder.stop().await;
    println!("2. Redis stopped (forwarder closed)");
    let stopped = Instant::now();
    let mut reads = 0;
    while manager.breaker().state() != BreakerState::Open {
        if reads == 200 {
            return Err("the breaker did not open after 200 reads with Redis stopped".into());
        }
        check(&ids[reads % ids.len()]).await?;
        reads += 1;
    }
    println!("   breaker open after {reads} reads, {:?}; every read came from the database", stopped.elapsed());

    // A write while the breaker is open: its invalidation is deferred, and until it lands this
    // process reads the table from the database, so the write is seen at once.
    let id = ids[0];
    let mut renamed = plain.get_by_id(&id).await?.ok_or("the first product is missing")?.into_inner();
    renamed.name = "renamed while Redis was down".to_owned();
    cached.update(&id, renamed, None).await?;
    check(&id).await?;
    println!(
        "   a write during the outage is read back at once ({} invalidation deferred)",
        manager.stats().invalidations_deferred
    );

    let mut open_times = Vec::new();
    for i in 0..50 {
        open_times.push(check(&ids[i % ids.len()]).await?);
        if manager.breaker().state() != BreakerState::Open {
            break;
        }
    }
    open_times.sort_unstable();
    let health = storehaus.health_check().await?;
    println!(
        "   {} reads while open: median {:?}, slowest {:?} (no Redis call is made)",
        open_times.len(),
        open_times[open_times.len() / 2],
        open_times[open_times.len() - 1],
    );
    let breaker = health.cache_breaker.map_or("none".to_owned(), |state| state.to_string());
    println!("   health_check: healthy {}, cache breaker {breaker}", health.is_healthy());
    if health.is_healthy() {
        return Err("health_check reports a healthy system while Redis is stopped".into());
    }

    // Start Redis: after the open period one read probes it, and a success closes the breaker.
    forwarder.restart().await?;
    println!("3. Redis started again on the same port");
    let restarted = Instant::now();
    let mut states = vec![manager.breaker().state()];
    println!("   breaker {}", states[0]);
    let note = |state: BreakerState, states: &mut Vec<BreakerState>| {
        if states.last() != Some(&state) {
            println!("   breaker {state} after {:?}", restarted.elapsed());
            states.push(state);
        }
    };
    while states.last() != Some(&BreakerState::Closed) {
        if restarted.elapsed() > Duration::from_secs(10) {
            return Err(format!("the breaker is still {:?} 10 s after Redis came back", states.last()).into());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        // Once the open period is over the breaker reads as half-open, and this read probes Redis.
        note(manager.breaker().state(), &mut states);
        check(&ids[1]).await?;
        note(manager.breaker().state(), &mut states);
    }

    // The cache serves again. The invalidation deferred during the outage has landed: the
    // entries filled before the write are retired, so the first pass misses and refills.
    let before = manager.stats();
    for id in ids.iter().chain(ids) {
        check(id).await?;
    }
    let after = manager.stats();
    println!(
        "   cache used again: {} misses then {} hits over two passes; breaker opened {} time(s), {} calls short-circuited",
        after.misses - before.misses,
        after.hits - before.hits,
        after.breaker_opened,
        after.short_circuited
    );
    if after.hits == before.hits {
        return Err("Redis is back, yet no read was served from the cache".into());
    }
    if !storehaus.health_check().await?.is_healthy() {
        return Err("health_check reports an unhealthy system after Redis came back".into());
    }

    retried_transaction(storehaus).await?;
    rate_limited(plain, ids[0]).await?;
    println!("every read matched the database");
    Ok(())
}

/// Two serializable transactions update one account at once: one of them fails with a
/// serialization failure (40001), and `transaction_retrying_with` runs it again.
async fn retried_transaction(storehaus: &StoreHaus) -> Result<(), Box<dyn std::error::Error>> {
    let accounts = GenericStore::<Account>::new(storehaus.pool().clone(), None, None);
    let id = Uuid::new_v4();
    accounts.create(Account { id, balance: 0 }, None).await?;
    let retries_before = storehaus.pool().retry_stats().retries;

    // Both first attempts read the balance before either writes.
    let both_read = Arc::new(tokio::sync::Barrier::new(2));
    let runs = Arc::new(AtomicU32::new(0));
    let deposit = |amount: i64| {
        let (accounts, both_read, runs) = (accounts.clone(), both_read.clone(), runs.clone());
        async move {
            let first_attempt = AtomicU32::new(0);
            let serializable = TransactionOptions::new().isolation(IsolationLevel::Serializable);
            storehaus
                .transaction_retrying_with(serializable, |tx| {
                    let accounts = accounts.with_transaction(&tx);
                    let wait = first_attempt.fetch_add(1, Ordering::Relaxed) == 0;
                    let (both_read, runs) = (both_read.clone(), runs.clone());
                    async move {
                        runs.fetch_add(1, Ordering::Relaxed);
                        let mut account = accounts.get_by_id(&id).await?.expect("created above").into_inner();
                        if wait {
                            both_read.wait().await;
                        }
                        account.balance += amount;
                        accounts.update(&id, account, None).await?;
                        Ok::<_, StoreError>(())
                    }
                })
                .await
        }
    };
    let (a, b) = tokio::join!(deposit(10), deposit(5));
    a?;
    b?;
    let balance = accounts.get_by_id(&id).await?.ok_or("the account is missing")?.balance;
    let retries = storehaus.pool().retry_stats().retries - retries_before;
    println!(
        "4. two conflicting serializable deposits: {} runs for 2 commits ({retries} retry after 40001), balance {balance}",
        runs.load(Ordering::Relaxed)
    );
    if balance != 15 || retries == 0 {
        return Err(format!("expected balance 15 after a retry, got {balance} with {retries} retries").into());
    }
    Ok(())
}

/// A store limited to a burst of two reads: the third is refused before anything runs.
async fn rate_limited(plain: &GenericStore<Product>, id: Uuid) -> Result<(), Box<dyn std::error::Error>> {
    let limits = RateLimits::local().rule("store.get_by_id", RateLimit::per_second(1.0).burst(2))?;
    let limited = plain.with_rate_limits(limits);
    limited.get_by_id(&id).await?;
    limited.get_by_id(&id).await?;
    match limited.get_by_id(&id).await {
        Err(StoreError::RateLimited { rule, retry_after }) => {
            println!("5. third read in a burst of 2: refused by `{rule}`, retry after {retry_after:?}");
            Ok(())
        }
        other => Err(format!("expected the third read to be rate limited, got {other:?}").into()),
    }
}

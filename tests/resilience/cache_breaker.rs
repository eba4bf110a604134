//! The cache's circuit breaker with Redis blackholed behind the fault proxy: once it opens,
//! cached reads skip Redis and answer from PostgreSQL at database speed instead of waiting out
//! the cache timeout each, never stale; one probe closes it after the heal and reads are served
//! from Redis again. With `Strategy::FailFast` a cached read fails at once instead, and
//! `health_check` reports the open breaker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use storehaus::cache::{CacheConfig, CacheManager};
use storehaus::prelude::*;
use storehaus::resilience::{BreakerConfig, BreakerState, Strategy};
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::{Fault, FaultProxy};
use storehaus_suite::redis::{KeyCleanup, redis_url, shared_manager, unique_prefix};

/// Tests that measure latencies or rates run one at a time, so that one's load does not show
/// in another's figures on a small machine.
pub(crate) static TIMED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A row whose `revision` grows with each update, so a stale read shows as a lower one.
#[model]
#[table(name = "breaker_notes")]
#[derive(PartialEq)]
pub struct BreakerNote {
    #[primary_key]
    pub id: Uuid,
    pub body: String,
    pub revision: i64,
}

/// The cache's bound per command, as in `tests/faults/redis.rs`.
const CACHE_TIMEOUT: Duration = Duration::from_millis(200);
/// Longest pause between connection attempts, as in `tests/faults/redis.rs`.
const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(400);
/// Concurrent readers.
const READERS: usize = 8;
/// Rows the readers share, cached before the outage.
const ROWS: usize = 32;
/// Calls in the sliding window whose p99 says whether calls are fast.
const WINDOW: usize = 100;
/// The p99 under which calls count as fast, unless the machine is too loaded to show it (see
/// [`fast_bound`]).
const FAST: Duration = Duration::from_millis(5);
/// A read this slow waited on Redis (for its timeout, or a connection attempt).
const WAITED: Duration = Duration::from_millis(100);
/// Entry lifetime: far longer than the test, so nothing expires by itself.
const TTL_SECONDS: u64 = 300;

/// Where the shared Redis listens, and its URL as reached through a proxy on a given port.
struct RedisTarget {
    upstream: SocketAddr,
    /// `redis://` and the user info, before the host.
    scheme_and_user: String,
    /// `/db` and anything after the port.
    path: String,
}

impl RedisTarget {
    /// The shared Redis, once it answers; `None` (after reporting it) when it does not.
    async fn find(test: &str) -> Option<RedisTarget> {
        shared_manager(test).await?;
        let url = redis_url();
        let rest = url.strip_prefix("redis://").expect("the fault proxy needs a redis:// URL");
        let (authority, path) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
        let (user, hostport) = authority.rfind('@').map_or(("", authority), |at| authority.split_at(at + 1));
        let hostport = if hostport.contains(':') { hostport.to_owned() } else { format!("{hostport}:6379") };
        let upstream = tokio::net::lookup_host(hostport.as_str()).await.ok()?.next()?;
        Some(RedisTarget { upstream, scheme_and_user: format!("redis://{user}"), path: path.to_owned() })
    }

    fn through(&self, proxy: &FaultProxy) -> String {
        format!("{}127.0.0.1:{}{}", self.scheme_and_user, proxy.port(), self.path)
    }
}

/// A manager on Redis through `proxy`, with the timeouts of `tests/faults/redis.rs`.
fn proxied_manager(
    target: &RedisTarget,
    proxy: &FaultProxy,
    breaker: BreakerConfig,
    strategy: Strategy,
) -> Arc<CacheManager> {
    let timeout_ms = CACHE_TIMEOUT.as_millis() as u64;
    let config = CacheConfig {
        redis_url: target.through(proxy),
        timeout_ms,
        connection_timeout_ms: timeout_ms,
        reconnect_max_delay_ms: MAX_RECONNECT_DELAY.as_millis() as u64,
        breaker,
        strategy,
        ..CacheConfig::default()
    };
    Arc::new(CacheManager::new(config).expect("valid cache settings"))
}

/// One cached read: when it started and ended, since the run's start.
#[derive(Debug, Clone, Copy)]
struct Read {
    started: Duration,
    ended: Duration,
}

impl Read {
    fn took(&self) -> Duration {
        self.ended - self.started
    }
}

/// The `q` quantile of `durations` (nearest rank).
fn quantile(durations: &mut [Duration], q: f64) -> Duration {
    assert!(!durations.is_empty(), "no calls to take a quantile of");
    durations.sort_unstable();
    let rank = ((q * durations.len() as f64).ceil() as usize).clamp(1, durations.len());
    durations[rank - 1]
}

/// When, after `from`, the calls completed became fast: the end of the first window of
/// [`WINDOW`] consecutive completions, all started after `from`, whose p99 is under `fast`.
fn fast_again(reads: &[Read], from: Duration, fast: Duration) -> Option<Duration> {
    let after: Vec<&Read> = reads.iter().filter(|read| read.started >= from).collect();
    after.windows(WINDOW).find_map(|window| {
        let mut took: Vec<Duration> = window.iter().map(|read| read.took()).collect();
        (quantile(&mut took, 0.99) < fast).then(|| window[WINDOW - 1].ended - from)
    })
}

/// The reads that started in `from..` and ended by `to`.
fn between(reads: &[Read], from: Duration, to: Duration) -> Vec<Duration> {
    reads.iter().filter(|read| read.started >= from && read.ended <= to).map(Read::took).collect()
}

/// p50, p90, p99 and max of `took`, and how many waited on Redis.
fn spread(mut took: Vec<Duration>) -> String {
    let waited = took.iter().filter(|took| **took >= WAITED).count();
    format!(
        "{} reads, p50 {:?}, p90 {:?}, p99 {:?}, max {:?}, {waited} waited on Redis",
        took.len(),
        quantile(&mut took, 0.5),
        quantile(&mut took, 0.9),
        quantile(&mut took, 0.99),
        quantile(&mut took, 1.0)
    )
}

/// The p99 below which calls count as fast: [`FAST`] on a machine with a core per runnable
/// process; on a busier one, whose scheduling delays alone exceed that, a quarter of the cache
/// timeout, which a read that waited on Redis cannot be under. Never below twice the p99 of the
/// same reads from a healthy cache before the outage (`healthy_p99`): a debug build on a small
/// machine can take longer than [`FAST`] with nothing wrong at all, and reads while the breaker is
/// open are to be as fast as those, not faster.
fn fast_bound(healthy_p99: Duration) -> (Duration, String) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|first| first.parse::<f64>().ok()));
    let (bound, machine) = match load {
        Some(load) if load > cores => (CACHE_TIMEOUT / 4, format!("load average {load} on {cores} cores")),
        _ => (FAST, format!("load average {load:?} on {cores} cores")),
    };
    (bound.max(healthy_p99 * 2), machine)
}

/// What one outage run measured.
#[derive(Debug)]
struct Outage {
    /// The p99 under which calls counted as fast, and the machine's load that chose it.
    fast: Duration,
    machine: String,
    /// p99 of the reads before the blackhole, served by a healthy Redis.
    healthy_p99: Duration,
    /// Reads during the blackhole that waited on Redis, and those while the breaker was open.
    waited: usize,
    waited_while_open: usize,
    /// From the blackhole until the calls' p99 was under `fast`, if it was before the heal.
    fast_after: Option<Duration>,
    /// How long the first 100 reads started after the blackhole took, from the blackhole.
    first_hundred: Duration,
    /// p99 of the reads started between the breaker's opening and the heal.
    p99_open: Option<Duration>,
    /// From the blackhole until the breaker opened.
    opened_after: Option<Duration>,
    /// From the heal until the breaker was closed again.
    closed_after_heal: Option<Duration>,
    /// Reads and writes in all, and the reads that missed a write committed before they started.
    reads: usize,
    writes: u64,
    stale: u64,
    /// Cache hits from the heal to the end of the run.
    hits_after_heal: u64,
    /// Whether the breaker was seen closed between its opening and the heal.
    closed_while_open: bool,
}

/// Warms a cache through a proxy, blackholes Redis for `blackhole` under [`READERS`] readers and
/// a writer, heals it, and keeps going for `after_heal`. Every read is checked against the
/// revision committed before it started.
async fn outage(
    db: &TestDatabase,
    target: &RedisTarget,
    breaker: BreakerConfig,
    blackhole: Duration,
    after_heal: Duration,
) -> Outage {
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<BreakerNote>(false).await.unwrap();
    let proxy = FaultProxy::start(target.upstream).await.expect("the fault proxy starts");
    let manager = proxied_manager(target, &proxy, breaker, Strategy::Fallback);
    storehaus.attach_cache(manager.clone());
    let prefix = unique_prefix("cache_breaker_outage");
    let _cleanup = KeyCleanup::new(prefix.clone());
    let cached = GenericStore::<BreakerNote>::new(
        storehaus.pool().clone(),
        None,
        Some(CacheParams::new(manager.clone(), TTL_SECONDS, prefix.clone())),
    );
    let plain = GenericStore::<BreakerNote>::new(storehaus.pool().clone(), None, None);

    let mut ids = Vec::new();
    for row in 0..ROWS {
        let created = plain
            .create(BreakerNote { id: Uuid::new_v4(), body: format!("row {row}"), revision: 0 }, None)
            .await
            .unwrap();
        ids.push(created.id);
    }
    for id in &ids {
        cached.get_by_id(id).await.unwrap();
        cached.get_by_id(id).await.unwrap();
    }
    assert!(manager.stats().hits >= ROWS as u64, "the warm cache answers: {:?}", manager.stats());

    let ids = Arc::new(ids);
    let committed: Arc<Vec<AtomicI64>> = Arc::new((0..ROWS).map(|_| AtomicI64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let stale = Arc::new(AtomicU64::new(0));
    let run = Instant::now();

    let readers: Vec<_> = (0..READERS)
        .map(|reader| {
            let (cached, ids, committed, stop, stale) =
                (cached.clone(), ids.clone(), committed.clone(), stop.clone(), stale.clone());
            tokio::spawn(async move {
                let mut reads = Vec::new();
                let mut round = reader;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let row = round * 7 % ROWS;
                    let floor = committed[row].load(Ordering::Acquire);
                    let started = run.elapsed();
                    let read = cached.get_by_id(&ids[row]).await.unwrap().expect("rows are never deleted");
                    let ended = run.elapsed();
                    if read.revision < floor {
                        stale.fetch_add(1, Ordering::Relaxed);
                        eprintln!("stale read of row {row}: revision {} after {floor} was committed", read.revision);
                    }
                    reads.push(Read { started, ended });
                }
                reads
            })
        })
        .collect();
    let writer = {
        let (cached, ids, committed, stop) = (cached.clone(), ids.clone(), committed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut writes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let row = (writes as usize * 5) % ROWS;
                let revision = committed[row].load(Ordering::Acquire) + 1;
                let changed = BreakerNote { id: ids[row], body: format!("revision {revision}"), revision };
                cached.update(&ids[row], changed, None).await.unwrap();
                committed[row].store(revision, Ordering::Release);
                writes += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            writes
        })
    };

    // Steady state, then the blackhole; the breaker's state is sampled throughout.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let blackholed = run.elapsed();
    proxy.set(Fault::Blackhole);
    let mut opened_at = None;
    let mut closed_while_open = false;
    let heal_at = Instant::now() + blackhole;
    while Instant::now() < heal_at {
        let state = manager.breaker().state();
        match (opened_at, state) {
            (None, BreakerState::Open) => opened_at = Some(run.elapsed()),
            (Some(_), BreakerState::Closed) => closed_while_open = true,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let health = storehaus.health_check().await.unwrap();
    eprintln!(
        "figure: health during the outage: cache_breaker {:?}, reachable {:?}",
        health.cache_breaker, health.cache_reachable
    );
    assert!(!health.is_healthy(), "healthy while Redis is blackholed: {health:?}");
    if opened_at.is_some() {
        // Open, or half-open while a reader's probe (or the health check's own ping) runs.
        assert_ne!(health.cache_breaker, Some(BreakerState::Closed), "{health:?}");
    }
    proxy.set(Fault::PassThrough);
    let healed = run.elapsed();
    let heal_hits = manager.stats().hits;
    let mut closed_after_heal = None;
    let end = Instant::now() + after_heal;
    while Instant::now() < end {
        if closed_after_heal.is_none() && manager.breaker().state() == BreakerState::Closed {
            closed_after_heal = Some(run.elapsed() - healed);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let health = storehaus.health_check().await.unwrap();
    assert_eq!(
        (health.cache_breaker, health.cache_reachable),
        (Some(BreakerState::Closed), Some(true)),
        "after the heal"
    );
    assert!(health.is_healthy(), "{health:?}");
    stop.store(true, Ordering::Relaxed);
    let mut reads = Vec::new();
    for reader in readers {
        reads.extend(reader.await.expect("a reader failed"));
    }
    let writes = writer.await.expect("the writer failed");
    reads.sort_by_key(|read| read.ended);

    // After the run every row reads back as committed, through the cache, twice.
    for (row, id) in ids.iter().enumerate() {
        let truth = plain.get_by_id(id).await.unwrap().unwrap();
        assert_eq!(truth.revision, committed[row].load(Ordering::Acquire));
        assert_eq!(cached.get_by_id(id).await.unwrap().as_ref(), Some(&truth), "row {row} read stale after the run");
        assert_eq!(cached.get_by_id(id).await.unwrap().as_ref(), Some(&truth), "row {row} cached stale after the run");
    }

    let mut first: Vec<&Read> = reads.iter().filter(|read| read.started >= blackholed).collect();
    first.sort_by_key(|read| read.started);
    let first_hundred =
        first.iter().take(100).map(|read| read.ended).max().expect("reads during the outage") - blackholed;
    let p99_open = opened_at.map(|opened| quantile(&mut between(&reads, opened, healed), 0.99));
    let mut healthy = between(&reads, Duration::ZERO, blackholed);
    let healthy_p99 = quantile(&mut healthy, 0.99);
    let (fast, machine) = fast_bound(healthy_p99);
    eprintln!("figure: before the blackhole: {}", spread(healthy));
    eprintln!("figure: during the blackhole: {}", spread(between(&reads, blackholed, healed)));
    if let Some(opened) = opened_at {
        eprintln!("figure: while open: {}", spread(between(&reads, opened, healed)));
    }
    let waited = between(&reads, blackholed, healed).iter().filter(|took| **took >= WAITED).count();
    let waited_while_open =
        opened_at.map_or(0, |opened| between(&reads, opened, healed).iter().filter(|took| **took >= WAITED).count());
    let fast_after = fast_again(&reads, blackholed, fast).filter(|after| blackholed + *after <= healed);
    drop(proxy);
    storehaus.close().await;
    Outage {
        fast,
        machine,
        healthy_p99,
        waited,
        waited_while_open,
        fast_after,
        first_hundred,
        p99_open,
        opened_after: opened_at.map(|opened| opened - blackholed),
        closed_after_heal,
        reads: reads.len(),
        writes,
        stale: stale.load(Ordering::Relaxed),
        hits_after_heal: manager.stats().hits - heal_hits,
        closed_while_open,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_open_breaker_answers_from_the_database_at_once_and_closes_after_the_heal() {
    const TEST: &str = "an_open_breaker_answers_from_the_database_at_once_and_closes_after_the_heal";
    let Some(target) = RedisTarget::find(TEST).await else { return };
    let Some(db) = TestDatabase::new().await else { return };
    let _timed = TIMED.lock().await;

    // The contrast: no breaker, the 3 s blackhole of `tests/faults/redis.rs`. The connection
    // counts as lost after a few unanswered commands, so reads then fail at once between
    // reconnect attempts, each of which holds reads up for a connection timeout.
    let blackhole = Duration::from_secs(3);
    let without = outage(&db, &target, BreakerConfig::disabled(), blackhole, Duration::from_millis(500)).await;
    eprintln!(
        "figure: breaker disabled, {blackhole:?} blackhole: {} reads, {} writes; first 100 reads took {:?}; \
         calls fast again (p99 of {WINDOW} under {:?}) {}; {} reads waited on Redis ({:.1}/s); {} stale reads",
        without.reads,
        without.writes,
        without.first_hundred,
        without.fast,
        without.fast_after.map_or("only after the heal".to_owned(), |after| format!("after {after:?}")),
        without.waited,
        without.waited as f64 / blackhole.as_secs_f64(),
        without.stale,
    );
    assert_eq!(without.stale, 0, "stale reads without a breaker");
    assert_eq!(without.opened_after, None, "a disabled breaker never opens");

    let breaker = BreakerConfig::default();
    let blackhole = Duration::from_secs(5);
    let with = outage(&db, &target, breaker, blackhole, Duration::from_millis(2000)).await;
    let (fast, machine) = (with.fast, &with.machine);
    eprintln!(
        "figure: breaker {breaker:?}, {blackhole:?} blackhole: {} reads, {} writes; opened after {:?}; \
         first 100 reads took {:?}; calls fast again (p99 of {WINDOW} under {fast:?}) after {:?}; p99 while open {:?} \
         (healthy Redis: {:?}; bound for {machine}); {} reads waited on Redis ({:.1}/s), {} of them while open; closed {:?} after the heal; \
         {} hits after the heal; {} stale reads",
        with.reads,
        with.writes,
        with.opened_after,
        with.first_hundred,
        with.fast_after,
        with.p99_open,
        with.healthy_p99,
        with.waited,
        with.waited as f64 / blackhole.as_secs_f64(),
        with.waited_while_open,
        with.closed_after_heal,
        with.hits_after_heal,
        with.stale,
    );
    assert_eq!(with.stale, 0, "stale reads with the breaker");
    let opened_after = with.opened_after.expect("the breaker opens during the outage");
    assert!(opened_after < Duration::from_secs(2), "the breaker opened {opened_after:?} into the outage");
    assert!(!with.closed_while_open, "the breaker closed while Redis was still blackholed");
    // While open, only the probe of each open period touches Redis (and waits out its timeout),
    // and a read that started as the breaker opened.
    let probes = (blackhole.as_secs_f64() / breaker.open_for.as_secs_f64()).ceil() as usize + 1;
    assert!(with.waited_while_open <= probes + READERS, "{} reads waited on Redis while open", with.waited_while_open);
    let fast_after = with.fast_after.expect("calls are fast again before the heal");
    assert!(fast_after < Duration::from_secs(2), "calls fast again only {fast_after:?} into the outage");
    let p99 = with.p99_open.expect("reads while the breaker was open");
    assert!(p99 < fast, "p99 {p99:?} while the breaker was open, bound {fast:?}");
    let closed = with.closed_after_heal.expect("the breaker closes after the heal");
    assert!(closed < Duration::from_secs(2), "the breaker closed {closed:?} after the heal");
    assert!(with.hits_after_heal > 0, "reads are served from Redis again after the heal");
    let open_seconds = (blackhole - opened_after).as_secs_f64();
    let (open_rate, without_rate) = (with.waited_while_open as f64 / open_seconds, without.waited as f64 / 3.0);
    assert!(
        open_rate < without_rate,
        "with the breaker open {open_rate:.1} reads/s waited on Redis, without a breaker {without_rate:.1}/s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_refuses_cached_reads_while_open_and_fallback_reads_the_database() {
    const TEST: &str = "fail_fast_refuses_cached_reads_while_open_and_fallback_reads_the_database";
    let Some(target) = RedisTarget::find(TEST).await else { return };
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<BreakerNote>(false).await.unwrap();
    let proxy = FaultProxy::start(target.upstream).await.expect("the fault proxy starts");
    // Open long enough for the checks below to run before a probe may start.
    let breaker = BreakerConfig::new(3, Duration::from_secs(10), Duration::from_secs(2));
    let failing = proxied_manager(&target, &proxy, breaker, Strategy::FailFast);
    let falling_back = proxied_manager(&target, &proxy, breaker, Strategy::Fallback);
    storehaus.attach_cache(failing.clone());
    // A key space per store, each cleaned up on its own.
    let prefixes = [unique_prefix("cache_breaker_fail_fast"), unique_prefix("cache_breaker_fallback")];
    let _cleanups = prefixes.clone().map(KeyCleanup::new);
    let store_on = |manager: &Arc<CacheManager>, prefix: &String| {
        GenericStore::<BreakerNote>::new(
            storehaus.pool().clone(),
            None,
            Some(CacheParams::new(manager.clone(), TTL_SECONDS, prefix.clone())),
        )
    };
    let fail_fast = store_on(&failing, &prefixes[0]);
    let fallback = store_on(&falling_back, &prefixes[1]);
    let plain = GenericStore::<BreakerNote>::new(storehaus.pool().clone(), None, None);
    let row = plain.create(BreakerNote { id: Uuid::new_v4(), body: "kept".into(), revision: 1 }, None).await.unwrap();
    for store in [&fail_fast, &fallback] {
        assert_eq!(store.get_by_id(&row.id).await.unwrap().as_ref(), Some(&row));
    }
    let health = storehaus.health_check().await.unwrap();
    assert_eq!((health.cache_breaker, health.cache_reachable), (Some(BreakerState::Closed), Some(true)));
    assert!(health.is_healthy(), "{health:?}");

    // Blackholed: reads wait out the timeout until each breaker has seen its failures.
    proxy.set(Fault::Blackhole);
    let blackholed = Instant::now();
    let open_up = |store: &GenericStore<BreakerNote>, manager: &Arc<CacheManager>| {
        let (store, manager, row) = (store.clone(), manager.clone(), row.clone());
        async move {
            while manager.breaker().state() == BreakerState::Closed {
                assert!(
                    blackholed.elapsed() < Duration::from_secs(5),
                    "the breaker never opened: {:?}",
                    manager.stats()
                );
                // Reads still answer, from the database, until the breaker opens.
                assert_eq!(store.get_by_id(&row.id).await.unwrap().as_ref(), Some(&row));
            }
        }
    };
    tokio::join!(open_up(&fail_fast, &failing), open_up(&fallback, &falling_back));
    eprintln!("figure: both breakers open {:?} after the blackhole", blackholed.elapsed());

    let started = Instant::now();
    let refused = fail_fast.get_by_id(&row.id).await.unwrap_err();
    let refused_in = started.elapsed();
    assert!(matches!(&refused, StoreError::Cache(message) if message.contains("circuit breaker")), "{refused:?}");
    let started = Instant::now();
    assert_eq!(fallback.get_by_id(&row.id).await.unwrap().as_ref(), Some(&row), "fallback reads the database");
    let fell_back_in = started.elapsed();
    eprintln!(
        "figure: while open, fail-fast refused in {refused_in:?}, fallback answered from the database in {fell_back_in:?}"
    );
    assert!(refused_in < Duration::from_millis(20), "fail-fast took {refused_in:?}");
    assert!(fell_back_in < CACHE_TIMEOUT, "fallback took {fell_back_in:?}");
    assert!(failing.stats().short_circuited > 0, "{:?}", failing.stats());

    let health = storehaus.health_check().await.unwrap();
    eprintln!("figure: health while open: {health:?}");
    assert_eq!(health.cache_breaker, Some(BreakerState::Open), "{health:?}");
    assert_eq!(health.cache_reachable, Some(false));
    assert!(!health.is_healthy(), "{health:?}");

    // Healed: the next read after the open period probes, and the breaker closes.
    proxy.set(Fault::PassThrough);
    let healed = Instant::now();
    while failing.breaker().state() != BreakerState::Closed {
        assert!(
            healed.elapsed() < Duration::from_secs(3),
            "the breaker stayed {} after the heal",
            failing.breaker().state()
        );
        match fail_fast.get_by_id(&row.id).await {
            Ok(read) => assert_eq!(read.as_ref(), Some(&row)),
            Err(StoreError::Cache(_)) => {}
            Err(other) => panic!("unexpected error after the heal: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("figure: fail-fast breaker closed {:?} after the heal", healed.elapsed());
    let hits = failing.stats().hits;
    for _ in 0..2 {
        assert_eq!(fail_fast.get_by_id(&row.id).await.unwrap().as_ref(), Some(&row));
    }
    assert!(failing.stats().hits > hits, "reads are served from Redis again: {:?}", failing.stats());
    let health = storehaus.health_check().await.unwrap();
    assert_eq!((health.cache_breaker, health.cache_reachable), (Some(BreakerState::Closed), Some(true)));
    assert!(health.is_healthy(), "{health:?}");
    drop(proxy);
    storehaus.close().await;
}

//! Redis behind the fault proxy goes blackhole (connections stay open, no byte moves): every
//! store call still returns within the cache timeout plus database time, and there is no
//! reconnect storm, since connection attempts stay within what the connector's backoff allows.
//! When the blackhole ends, the same store uses the cache again, and no read, during the
//! blackhole or after it, is stale.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use storehaus::cache::{CacheConfig, CacheManager, KeySpace, glob_escape};
use storehaus::prelude::*;
use storehaus::testing::TestDatabase;
use storehaus_suite::fault_proxy::{Fault, FaultProxy};
use storehaus_suite::redis::{redis_url, unavailable, unique_prefix};

/// A plain table: every write path a task uses invalidates one row by key.
#[model]
#[table(name = "blackholed_notes")]
#[derive(PartialEq)]
pub struct Note {
    #[primary_key]
    pub id: Uuid,
    pub body: String,
    pub revision: i64,
}

/// The cache's bound per command.
const CACHE_TIMEOUT: Duration = Duration::from_millis(200);
/// What one store call may spend in PostgreSQL, on a loaded machine.
const DATABASE_ALLOWANCE: Duration = Duration::from_millis(1500);
/// Longest pause between connection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(400);
/// The connector's first pause, doubled per failure (`MIN_RECONNECT_DELAY` in the connector).
const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(100);
/// The connector spreads each pause by this share either way (`RECONNECT_JITTER_PERCENT`).
const RECONNECT_JITTER: f64 = 0.20;
/// How long the network stays silent.
const BLACKHOLE: Duration = Duration::from_secs(3);
/// Concurrent callers during the blackhole, each on rows of its own.
const TASKS: usize = 4;
/// Rows each caller caches before the blackhole.
const ROWS_PER_TASK: usize = 4;
/// Entry lifetime: far longer than the test, so nothing expires by itself.
const TTL_SECONDS: u64 = 300;

fn note(body: &str, revision: i64) -> Note {
    Note { id: Uuid::new_v4(), body: body.to_owned(), revision }
}

fn matching(ids: &[Uuid]) -> QueryBuilder {
    QueryBuilder::new().filter(Note::columns().id.in_values(ids.iter().copied())).order_by("id", SortOrder::Asc)
}

/// The most connection attempts the connector can start within `window` of a blackhole that
/// began while its connection was healthy.
///
/// The lost connection is failure 1, after which attempt 1 may start at once. An attempt through
/// a blackhole cannot finish its handshake, so it fails, no sooner than `attempt_takes` (the
/// shorter of the connection and response timeouts), and attempt j brings the failures to
/// j + 1: the next attempt waits at least `(1 - jitter) × min(100 ms × 2^j, max delay)` more.
/// No command succeeds meanwhile, so the failures never reset.
fn attempt_bound(window: Duration, attempt_takes: Duration, max_delay: Duration) -> u64 {
    let (mut attempts, mut at) = (1, Duration::ZERO);
    let mut pause = FIRST_RECONNECT_DELAY.min(max_delay);
    loop {
        pause = (pause * 2).min(max_delay);
        at += attempt_takes + pause.mul_f64(1.0 - RECONNECT_JITTER);
        if at > window {
            return attempts;
        }
        attempts += 1;
    }
}

/// Runs one store call through the cache, checking it returns within the cache timeout plus
/// database time.
async fn bounded<R>(slowest: &mut Duration, what: &str, call: impl Future<Output = R>) -> R {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    assert!(took < CACHE_TIMEOUT + DATABASE_ALLOWANCE, "{what} took {took:?} while Redis was blackholed");
    *slowest = (*slowest).max(took);
    result
}

/// What one caller did during the blackhole.
#[derive(Debug, Default)]
struct Churn {
    calls: u64,
    slowest: Duration,
    /// Every row it touched, deleted ones included.
    ids: Vec<Uuid>,
}

/// Mixed store calls through `cached` on the rows of one caller until `until`, each read
/// checked against `plain`. The rows cached before the blackhole are updated and deleted too,
/// so a read served from the old entries would show.
async fn churn(
    task: usize,
    cached: GenericStore<Note>,
    plain: GenericStore<Note>,
    mut alive: VecDeque<Uuid>,
    until: Instant,
) -> Churn {
    let mut done = Churn { ids: alive.iter().copied().collect(), ..Churn::default() };
    let slowest = &mut done.slowest;
    let mut round = 0i64;
    while Instant::now() < until {
        round += 1;
        let id = alive[round as usize % alive.len()];
        let read = bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
        assert_eq!(read, plain.get_by_id(&id).await.unwrap(), "task {task}: stale read of {id}");

        let id = alive[(round as usize + 1) % alive.len()];
        let body = format!("task {task} round {round}");
        let changed = Note { id, body: body.clone(), revision: round };
        bounded(slowest, "update", cached.update(&id, changed, None)).await.unwrap();
        let read = bounded(slowest, "get_by_id", cached.get_by_id(&id)).await.unwrap();
        assert_eq!(read, plain.get_by_id(&id).await.unwrap(), "task {task}: stale read of {id} after its update");
        assert_eq!(read.map(|r| r.body.clone()), Some(body));

        let found = bounded(slowest, "find_cached", cached.find_cached(matching(&done.ids))).await.unwrap();
        assert_eq!(found, plain.find(matching(&done.ids)).await.unwrap(), "task {task}: stale query result");

        let created = bounded(slowest, "create", cached.create(note("new", round), None)).await.unwrap();
        let read = bounded(slowest, "get_by_id", cached.get_by_id(&created.id)).await.unwrap();
        assert_eq!(read.as_ref(), Some(&created), "task {task}: a created row reads back differently");
        alive.push_back(created.id);
        done.ids.push(created.id);

        let gone = alive.pop_front().expect("each round creates one row before it deletes one");
        assert!(bounded(slowest, "delete", cached.delete(&gone)).await.unwrap());
        let read = bounded(slowest, "get_by_id", cached.get_by_id(&gone)).await.unwrap();
        assert_eq!(read, None, "task {task}: {gone} reads back after its delete");
        done.calls += 8;
    }
    done
}

/// Reads `id` through the cache twice, checking both reads against the database.
async fn fresh(cached: &GenericStore<Note>, plain: &GenericStore<Note>, id: &Uuid) {
    let truth = plain.get_by_id(id).await.unwrap();
    assert_eq!(cached.get_by_id(id).await.unwrap(), truth, "stale read of {id} after the blackhole");
    assert_eq!(cached.get_by_id(id).await.unwrap(), truth, "{id} was cached stale after the blackhole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blackholed_redis_bounds_every_call_and_the_reconnects_and_is_used_again() {
    const TEST: &str = "blackholed_redis_bounds_every_call_and_the_reconnects_and_is_used_again";
    let server = match RedisAddress::parse(&redis_url()) {
        Ok(server) => server,
        Err(why) => return unavailable(TEST, &why).unwrap_or(()),
    };
    let upstream = match server.reachable().await {
        Ok(upstream) => upstream,
        Err(why) => return unavailable(TEST, &why).unwrap_or(()),
    };
    let Some(db) = TestDatabase::new().await else { return };
    let storehaus = db.storehaus().await;
    storehaus.auto_migrate::<Note>(false).await.unwrap();

    let proxy = FaultProxy::start(upstream).await.expect("the fault proxy starts");
    let timeout_ms = CACHE_TIMEOUT.as_millis() as u64;
    let config = CacheConfig {
        redis_url: server.through(proxy.port()),
        timeout_ms,
        connection_timeout_ms: timeout_ms,
        reconnect_max_delay_ms: MAX_RECONNECT_DELAY.as_millis() as u64,
        ..CacheConfig::default()
    };
    let manager = Arc::new(CacheManager::new(config).unwrap());
    let prefix = unique_prefix(TEST);
    let sweep = Sweep { server: server.clone(), upstream, prefix: prefix.clone() };
    let params = CacheParams::new(manager.clone(), TTL_SECONDS, prefix.clone());
    let cached = GenericStore::<Note>::new(storehaus.pool().clone(), None, Some(params));
    let plain = GenericStore::<Note>::new(storehaus.pool().clone(), None, None);

    // Warm: every row and each caller's query are cached, the second read of each a hit.
    let mut owned = Vec::new();
    for task in 0..TASKS {
        let mut ids = VecDeque::new();
        for row in 0..ROWS_PER_TASK {
            let id = plain.create(note(&format!("task {task} row {row}"), 0), None).await.unwrap().id;
            cached.get_by_id(&id).await.unwrap();
            ids.push_back(id);
        }
        let all: Vec<Uuid> = ids.iter().copied().collect();
        cached.find_cached(matching(&all)).await.unwrap();
        owned.push(ids);
    }
    let warm = manager.stats();
    for ids in &owned {
        for id in ids {
            assert_eq!(cached.get_by_id(id).await.unwrap(), plain.get_by_id(id).await.unwrap());
        }
        let all: Vec<Uuid> = ids.iter().copied().collect();
        assert_eq!(cached.find_cached(matching(&all)).await.unwrap(), plain.find(matching(&all)).await.unwrap());
    }
    let primed = (TASKS * (ROWS_PER_TASK + 1)) as u64;
    assert_eq!(manager.stats().hits - warm.hits, primed, "the warm cache answers: {:?}", manager.stats());
    assert_eq!(proxy.accepted(), 1, "one connection serves the warm cache");

    // Blackhole: concurrent callers keep writing and reading; nothing waits longer than its bound.
    let before = manager.stats();
    let accepted_before = proxy.accepted();
    proxy.set(Fault::Blackhole);
    let started = Instant::now();
    let until = started + BLACKHOLE;
    let tasks: Vec<_> = owned
        .into_iter()
        .enumerate()
        .map(|(task, ids)| tokio::spawn(churn(task, cached.clone(), plain.clone(), ids, until)))
        .collect();
    let (mut calls, mut slowest, mut touched) = (0, Duration::ZERO, Vec::new());
    for task in tasks {
        let done = task.await.expect("a caller failed during the blackhole");
        calls += done.calls;
        slowest = slowest.max(done.slowest);
        touched.push(done.ids);
    }
    let window = started.elapsed();
    let attempts = proxy.accepted() - accepted_before;
    let during = manager.stats();
    let connector_attempts = during.connect_attempts - before.connect_attempts;
    let bound = attempt_bound(window, CACHE_TIMEOUT, MAX_RECONNECT_DELAY);
    println!("figure: blackhole {window:?}: {calls} store calls from {TASKS} tasks, slowest {slowest:?}");
    println!(
        "figure: {attempts} connection attempts reached the proxy ({connector_attempts} counted by the connector), \
         bound {bound}"
    );
    println!(
        "figure: {} timeouts, {} errors, {} invalidations deferred during the blackhole",
        during.timeouts - before.timeouts,
        during.errors - before.errors,
        during.invalidations_deferred - before.invalidations_deferred
    );
    assert_eq!(during.hits, before.hits, "nothing is served from a cache that cannot answer: {during:?}");
    assert!(during.timeouts > before.timeouts, "the silence shows as timeouts: {during:?}");
    assert!(during.invalidations_deferred > before.invalidations_deferred, "failed invalidations are queued");
    assert!(attempts >= 1, "the lost connection is reopened");
    assert!(attempts <= bound, "{attempts} connection attempts in {window:?}, more than the backoff allows");
    assert!(connector_attempts <= bound, "{connector_attempts} attempts in {window:?}");
    assert!(attempts * 5 < calls, "{attempts} connection attempts for {calls} calls: one per few calls");

    // Healed: the same store hits again; every read before the first hit and the hit itself
    // equal the database, though the entries cached before the blackhole are all outdated.
    proxy.set(Fault::PassThrough);
    let healed = Instant::now();
    // At the heal the connector is mid-attempt (at most 1.5 × the connection timeout, its own
    // limit) or pausing (at most max delay + jitter); an attempt failing just then adds a pause.
    // Doubled for a loaded machine, plus the reads themselves.
    let connect_limit = CACHE_TIMEOUT.mul_f64(1.5);
    let heal_bound = (MAX_RECONNECT_DELAY.mul_f64(1.0 + RECONNECT_JITTER) + connect_limit) * 2 + DATABASE_ALLOWANCE;
    let every: Vec<Uuid> = touched.iter().flatten().copied().collect();
    // The rows cached before the blackhole, all updated or deleted during it: an old entry
    // served now would be a stale read.
    let probes: Vec<Uuid> = touched.iter().flat_map(|ids| ids[..ROWS_PER_TASK].iter().copied()).collect();
    let hits = manager.stats().hits;
    let mut reads = 0usize;
    let first_hit = loop {
        let id = probes[reads / 2 % probes.len()];
        reads += 1;
        let read = cached.get_by_id(&id).await.unwrap();
        assert_eq!(read, plain.get_by_id(&id).await.unwrap(), "stale read of {id} as the blackhole ended");
        if manager.stats().hits > hits {
            break healed.elapsed();
        }
        assert!(healed.elapsed() < heal_bound, "no cache hit within {heal_bound:?} of the heal: {:?}", manager.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!("figure: first cache hit {first_hit:?} after the heal ({reads} reads), bound {heal_bound:?}");

    // Every row and query, written or not during the blackhole, reads fresh and is cached again.
    let before_check = manager.stats();
    for id in &every {
        fresh(&cached, &plain, id).await;
    }
    for ids in &touched {
        let truth = plain.find(matching(ids)).await.unwrap();
        assert_eq!(cached.find_cached(matching(ids)).await.unwrap(), truth, "stale query after the blackhole");
        assert_eq!(cached.find_cached(matching(ids)).await.unwrap(), truth, "query cached stale");
    }
    let after_check = manager.stats();
    let reads = (every.len() + touched.len()) as u64;
    assert!(
        after_check.hits - before_check.hits >= reads,
        "each second read is a hit again: {} hits for {reads} pairs of reads; {after_check:?}",
        after_check.hits - before_check.hits
    );
    println!("figure: after the heal {} rows and {TASKS} queries read fresh, each cached again", every.len());

    // The connections abandoned during the blackhole close once bytes flow: one stays.
    storehaus_suite::time_until(Duration::from_secs(5), || proxy.open() <= 1).await;
    assert_eq!(proxy.open(), 1, "connections left open after the heal");
    // One attempt, and one more if the first was cut short as the network came back.
    let after_heal = proxy.accepted() - accepted_before - attempts;
    println!("figure: {after_heal} connection attempts after the heal");
    assert!(after_heal <= 2, "{after_heal} connection attempts after the heal");

    let table = KeySpace::new(prefix).table(Note::TABLE.name);
    manager.forget_table(&table).await.unwrap();
    drop(proxy);
    let removed = sweep.run().expect("the test's keys are removed");
    assert_eq!(sweep.count().unwrap(), 0, "keys left under the test's prefix");
    println!("figure: removed {removed} keys of the test from Redis");
}

/// The shared Redis as `redis_url()` names it: where it listens and how to log in.
#[derive(Debug, Clone)]
struct RedisAddress {
    /// `user:password@`, or empty.
    userinfo: String,
    host: String,
    port: u16,
    /// `/db` and anything after it, or empty.
    path: String,
}

impl RedisAddress {
    fn parse(url: &str) -> Result<RedisAddress, String> {
        let rest = url.strip_prefix("redis://").ok_or_else(|| "the fault proxy needs a redis:// URL".to_owned())?;
        let (authority, path) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
        let (userinfo, hostport) = authority.rfind('@').map_or(("", authority), |at| authority.split_at(at + 1));
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !hostport.ends_with(']') => {
                (host, port.parse().map_err(|_| "the Redis URL has an invalid port".to_owned())?)
            }
            _ => (hostport, 6379),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = if host.is_empty() { "127.0.0.1" } else { host };
        Ok(RedisAddress { userinfo: userinfo.to_owned(), host: host.to_owned(), port, path: path.to_owned() })
    }

    /// The same server as reached through a proxy on `port` of 127.0.0.1.
    fn through(&self, port: u16) -> String {
        format!("redis://{}127.0.0.1:{port}{}", self.userinfo, self.path)
    }

    /// The server's address, once it answers `PING`.
    async fn reachable(&self) -> Result<SocketAddr, String> {
        let url = format!("redis://{}{}:{}{}", self.userinfo, self.host, self.port, self.path);
        let config =
            CacheConfig { redis_url: url, timeout_ms: 2000, connection_timeout_ms: 2000, ..Default::default() };
        let redacted = config.redacted_url();
        let manager = CacheManager::new(config).map_err(|e| format!("REDIS_URL {redacted} is not usable: {e}"))?;
        manager.ping().await.map_err(|e| format!("Redis at {redacted} is unreachable: {e}"))?;
        tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| format!("cannot resolve {}:{}", self.host, self.port))
    }

    /// A connection straight to the server, logged in and on its database.
    fn connect(&self, upstream: SocketAddr) -> io::Result<Resp> {
        let stream = TcpStream::connect_timeout(&upstream, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        let mut resp = Resp(BufReader::new(stream));
        let userinfo = self.userinfo.trim_end_matches('@');
        if let Some((user, password)) = userinfo.split_once(':')
            && !password.is_empty()
        {
            let mut auth = vec!["AUTH"];
            if !user.is_empty() {
                auth.push(user);
            }
            auth.push(password);
            resp.call(&auth)?;
        }
        if let Some(db) = self.path.trim_start_matches('/').split(['/', '?']).next().filter(|db| !db.is_empty()) {
            resp.call(&["SELECT", db])?;
        }
        Ok(resp)
    }
}

/// Removes every key under the test's prefix from the shared Redis, over a connection of its
/// own that bypasses the proxy; also when the test fails, so runs do not pile keys up.
struct Sweep {
    server: RedisAddress,
    upstream: SocketAddr,
    prefix: String,
}

impl Sweep {
    /// The `SCAN` pattern of the prefix as keys hold it (percent-encoded), its glob characters
    /// escaped.
    fn pattern(&self) -> String {
        glob_escape(KeySpace::new(self.prefix.as_str()).encoded_prefix()) + ":*"
    }

    fn keys(&self, resp: &mut Resp) -> io::Result<Vec<String>> {
        let (pattern, mut cursor, mut keys) = (self.pattern(), "0".to_owned(), Vec::new());
        loop {
            let reply = resp.call(&["SCAN", &cursor, "MATCH", &pattern, "COUNT", "1000"])?;
            let Reply::Array(mut parts) = reply else { return Err(io::Error::other(format!("SCAN: {reply:?}"))) };
            let (Some(Reply::Array(found)), Some(Reply::Bulk(next))) = (parts.pop(), parts.pop()) else {
                return Err(io::Error::other("SCAN: unexpected reply"));
            };
            keys.extend(found.into_iter().filter_map(|key| match key {
                Reply::Bulk(key) => Some(key),
                _ => None,
            }));
            if next == "0" {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// Deletes the keys; returns how many there were.
    fn run(&self) -> io::Result<usize> {
        let mut resp = self.server.connect(self.upstream)?;
        let keys = self.keys(&mut resp)?;
        for chunk in keys.chunks(500) {
            let mut del = vec!["DEL"];
            del.extend(chunk.iter().map(String::as_str));
            resp.call(&del)?;
        }
        Ok(keys.len())
    }

    fn count(&self) -> io::Result<usize> {
        self.keys(&mut self.server.connect(self.upstream)?).map(|keys| keys.len())
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        if let Err(error) = self.run() {
            eprintln!("could not delete the test's keys from Redis: {error}");
        }
    }
}

/// A reply of the Redis protocol (RESP2), as much of it as `SCAN`, `DEL`, `AUTH` and `SELECT` use.
#[derive(Debug)]
enum Reply {
    Status,
    Integer,
    Bulk(String),
    Nil,
    Array(Vec<Reply>),
}

/// A blocking Redis connection that sends commands and reads their replies.
struct Resp(BufReader<TcpStream>);

impl Resp {
    fn call(&mut self, args: &[&str]) -> io::Result<Reply> {
        let mut command = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            command.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
        self.0.get_mut().write_all(&command)?;
        self.reply()
    }

    fn reply(&mut self) -> io::Result<Reply> {
        let mut line = String::new();
        self.0.read_line(&mut line)?;
        let line = line.trim_end_matches("\r\n");
        let number = |text: &str| text.parse::<i64>().map_err(|_| io::Error::other(format!("bad reply `{line}`")));
        match line.split_at_checked(1) {
            Some(("+", _)) => Ok(Reply::Status),
            Some((":", _)) => Ok(Reply::Integer),
            Some(("-", error)) => Err(io::Error::other(error.to_owned())),
            Some(("$", len)) => match usize::try_from(number(len)?) {
                Err(_) => Ok(Reply::Nil),
                Ok(len) => {
                    let mut bulk = vec![0; len + 2];
                    self.0.read_exact(&mut bulk)?;
                    bulk.truncate(len);
                    String::from_utf8(bulk).map(Reply::Bulk).map_err(io::Error::other)
                }
            },
            Some(("*", count)) => {
                let count = usize::try_from(number(count)?).unwrap_or(0);
                (0..count).map(|_| self.reply()).collect::<io::Result<_>>().map(Reply::Array)
            }
            _ => Err(io::Error::other(format!("bad reply `{line}`"))),
        }
    }
}

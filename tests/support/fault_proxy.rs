//! [`FaultProxy`]: a TCP proxy between a client under test and its server (PostgreSQL or Redis)
//! that misbehaves on command, to show what the client does when the network does.
//!
//! ```text
//! client ──► 127.0.0.1:proxy.port() ──► upstream
//! ```
//!
//! The fault applies to every connection, open or new, from the moment it is set:
//!
//! | [`Fault`] | open connections | new connections |
//! |---|---|---|
//! | `PassThrough` | bytes flow | connected to the upstream |
//! | `Blackhole` | stay open, no byte moves either way (held, as a partitioned network holds them) | accepted, then silent |
//! | `Latency(d)` | every chunk waits `d` before it is passed on | connected, then delayed |
//! | `Reset` | closed with a TCP reset | accepted, then reset |
//!
//! [`FaultProxy::reset_open`] resets the connections open now and keeps passing new ones
//! through: a server restart as the client sees it. Leaving `Blackhole` lets held bytes flow
//! again, like a healed partition; the client may have given up on them by then.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does to the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward bytes unchanged.
    PassThrough,
    /// Keep connections open and move no bytes.
    Blackhole,
    /// Forward every chunk after this delay.
    Latency(Duration),
    /// Reset every connection.
    Reset,
}

/// Set by the proxy, read by its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    fault: Fault,
    /// Bumped by [`FaultProxy::reset_open`]; a connection accepted at an older value resets.
    resets: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    open: AtomicUsize,
}

/// A running proxy; dropping it stops accepting and resets every connection.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<watch::Sender<State>>,
    counters: Arc<Counters>,
    acceptor: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`, passing traffic through.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(watch::Sender::new(State { fault: Fault::PassThrough, resets: 0 }));
        let counters = Arc::new(Counters::default());
        let acceptor = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&state), Arc::clone(&counters)));
        Ok(FaultProxy { addr, state, counters, acceptor })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Applies `fault` from now on, to open and new connections.
    pub fn set(&self, fault: Fault) {
        self.state.send_modify(|state| state.fault = fault);
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        self.state.borrow().fault
    }

    /// Resets every connection open now; new ones are treated as the current fault says.
    pub fn reset_open(&self) {
        self.state.send_modify(|state| state.resets += 1);
    }

    /// Connections accepted since the start: the client's connection attempts.
    pub fn accepted(&self) -> u64 {
        self.counters.accepted.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counters.open.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.set(Fault::Reset);
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    state: Arc<watch::Sender<State>>,
    counters: Arc<Counters>,
) {
    while let Ok((client, _)) = listener.accept().await {
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        let open = OpenGuard::new(Arc::clone(&counters));
        let state = state.subscribe();
        tokio::spawn(async move {
            let _open = open;
            let _ = serve(client, upstream, state).await;
        });
    }
}

/// Counts a connection as open while it lives.
struct OpenGuard(Arc<Counters>);

impl OpenGuard {
    fn new(counters: Arc<Counters>) -> Self {
        counters.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(counters)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One client connection, from accept until either side closes or a reset.
async fn serve(mut client: TcpStream, upstream: SocketAddr, mut state: watch::Receiver<State>) -> io::Result<()> {
    let accepted_at = state.borrow().resets;
    let must_reset = |s: &State| s.fault == Fault::Reset || s.resets != accepted_at;
    // A silent network holds the handshake too: connect upstream only once bytes may flow.
    let Ok(current) = state.wait_for(|s| s.fault != Fault::Blackhole || must_reset(s)).await.map(|s| *s) else {
        return reset(&client);
    };
    if must_reset(&current) {
        return reset(&client);
    }
    let mut server = match TcpStream::connect(upstream).await {
        Ok(server) => server,
        Err(_) => return reset(&client),
    };
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let mut watch_reset = state.clone();
    let ended_by_reset = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        // A reset from either side is passed on to the other, as a router would: a client left
        // waiting for the rest of a reply from a dead server would otherwise wait forever.
        let pumps = async {
            tokio::try_join!(
                pump(client_read, server_write, state.clone()),
                pump(server_read, client_write, state.clone())
            )
        };
        tokio::select! {
            ended = pumps => ended.is_err(),
            _ = watch_reset.wait_for(must_reset) => true,
        }
    };
    if ended_by_reset {
        reset(&server)?;
        return reset(&client);
    }
    Ok(())
}

/// Closes `stream` with a TCP reset (RST) instead of an orderly FIN once it is dropped.
fn reset(stream: &TcpStream) -> io::Result<()> {
    stream.set_zero_linger()
}

/// Copies one direction, honouring the fault before every chunk is passed on.
async fn pump(
    mut from: tokio::net::tcp::ReadHalf<'_>,
    mut to: tokio::net::tcp::WriteHalf<'_>,
    mut state: watch::Receiver<State>,
) -> io::Result<()> {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = from.read(&mut buffer).await?;
        // Bytes, and the end of the stream, that arrive during a blackhole are held until it ends.
        let fault = match state.wait_for(|s| s.fault != Fault::Blackhole).await {
            Ok(current) => current.fault,
            Err(_) => return Ok(()),
        };
        if let Fault::Latency(delay) = fault {
            tokio::time::sleep(delay).await;
        }
        if read == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buffer[..read]).await?;
    }
}

/// A proxy in front of the server of `config` and the settings that connect through it.
pub async fn in_front_of(config: &storehaus::DatabaseConfig) -> (FaultProxy, storehaus::DatabaseConfig) {
    let upstream = tokio::net::lookup_host((config.host.as_str(), config.port))
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| panic!("cannot resolve {}:{}", config.host, config.port));
    let proxy = FaultProxy::start(upstream).await.expect("the fault proxy starts");
    let proxied = storehaus::DatabaseConfig { host: "127.0.0.1".to_owned(), port: proxy.port(), ..config.clone() };
    (proxy, proxied)
}

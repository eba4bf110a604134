//! The fault proxy itself, in front of an echo server: each fault does what the others' tests
//! rely on.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use storehaus_suite::fault_proxy::{Fault, FaultProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that sends back whatever it receives.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    addr
}

async fn round_trip(stream: &mut TcpStream, message: &[u8], limit: Duration) -> std::io::Result<Vec<u8>> {
    stream.write_all(message).await?;
    let mut answer = vec![0; message.len()];
    match tokio::time::timeout(limit, stream.read_exact(&mut answer)).await {
        Ok(read) => read.map(|_| answer),
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

#[tokio::test]
async fn every_fault_does_what_it_says_and_can_be_switched_back() {
    let proxy = FaultProxy::start(echo_server().await).await.unwrap();
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    let second = Duration::from_secs(5);
    assert_eq!(round_trip(&mut client, b"hello", second).await.unwrap(), b"hello");

    // Blackhole: nothing comes back, the connection stays open, and held bytes flow once it ends.
    proxy.set(Fault::Blackhole);
    let silent = round_trip(&mut client, b"held", Duration::from_millis(300)).await;
    assert_eq!(silent.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    let mut late = TcpStream::connect(proxy.addr()).await.expect("a blackhole still accepts");
    let silent = round_trip(&mut late, b"late", Duration::from_millis(300)).await;
    assert_eq!(silent.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    proxy.set(Fault::PassThrough);
    let mut held = [0; 4];
    client.read_exact(&mut held).await.unwrap();
    assert_eq!(&held, b"held");
    late.read_exact(&mut held).await.unwrap();
    assert_eq!(&held, b"late");

    // Latency: each direction waits, so a round trip takes at least twice the delay.
    proxy.set(Fault::Latency(Duration::from_millis(100)));
    let started = Instant::now();
    assert_eq!(round_trip(&mut client, b"slow", second).await.unwrap(), b"slow");
    assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
    proxy.set(Fault::PassThrough);
    let started = Instant::now();
    assert_eq!(round_trip(&mut client, b"fast", second).await.unwrap(), b"fast");
    assert!(started.elapsed() < Duration::from_millis(100), "{:?}", started.elapsed());

    // Reset: open and new connections are reset.
    proxy.set(Fault::Reset);
    let broken = round_trip(&mut client, b"gone", second).await.unwrap_err();
    assert!(is_reset(&broken), "{broken:?}");
    let mut refused = TcpStream::connect(proxy.addr()).await.unwrap();
    let broken = round_trip(&mut refused, b"gone", second).await.unwrap_err();
    assert!(is_reset(&broken), "{broken:?}");

    proxy.set(Fault::PassThrough);
    let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut again, b"back", second).await.unwrap(), b"back");
    assert_eq!(proxy.accepted(), 4);
}

#[tokio::test]
async fn reset_open_breaks_open_connections_and_serves_new_ones() {
    let proxy = FaultProxy::start(echo_server().await).await.unwrap();
    let second = Duration::from_secs(5);
    let mut old = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut old, b"one", second).await.unwrap(), b"one");
    assert_eq!(proxy.open(), 1);

    proxy.reset_open();
    let broken = round_trip(&mut old, b"two", second).await.unwrap_err();
    assert!(is_reset(&broken), "{broken:?}");
    let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut new, b"three", second).await.unwrap(), b"three");
    assert_eq!(proxy.fault(), Fault::PassThrough);
    drop(new);
    storehaus_suite::time_until(second, || proxy.open() == 0).await;
    assert_eq!(proxy.open(), 0, "closed connections are no longer counted");
}

/// A reset shows as `ConnectionReset`, or as an early end of stream when the reset raced the read.
fn is_reset(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::BrokenPipe
    )
}

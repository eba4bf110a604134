//! Raw Redis commands over a connection of the suites' own, to see what StoreHaus stored without
//! going through any StoreHaus code: one command on a fresh connection ([`command`]), a
//! [`Connection`] for several, and a plain `SUBSCRIBE` ([`subscribe`]).

use std::future::Future;
use std::pin::Pin;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A RESP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    /// The integer of an integer reply.
    #[track_caller]
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    /// The bytes of a bulk reply (`None` for a nil reply).
    #[track_caller]
    pub fn bulk(self) -> Option<Vec<u8>> {
        match self {
            Reply::Bulk(bytes) => bytes,
            other => panic!("expected a bulk reply, got {other:?}"),
        }
    }
}

/// One connection to a Redis server.
#[derive(Debug)]
pub struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to `url` (`redis://host:port`).
    pub async fn open(url: &str) -> Connection {
        let address = url.trim_start_matches("redis://").trim_end_matches('/');
        let stream = TcpStream::connect(address).await.unwrap_or_else(|e| panic!("connect to {address}: {e}"));
        Connection { stream: BufReader::new(stream) }
    }

    /// Sends `args` as one command and reads its reply.
    pub async fn command(&mut self, args: &[&[u8]]) -> Reply {
        self.send(args).await;
        read_reply(&mut self.stream).await
    }

    async fn send(&mut self, args: &[&[u8]]) {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        self.stream.get_mut().write_all(&request).await.expect("send the command");
    }
}

/// Sends one command over a fresh connection to `url`.
pub async fn command(url: &str, args: &[&str]) -> Reply {
    let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
    Connection::open(url).await.command(&args).await
}

/// The payloads of one channel, received by a plain `SUBSCRIBE` on a connection of its own;
/// unsubscribed when dropped.
#[derive(Debug)]
pub struct RawSubscription {
    pub messages: mpsc::UnboundedReceiver<Vec<u8>>,
    reader: JoinHandle<()>,
}

impl Drop for RawSubscription {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Subscribes to `channel` on the server of `url`; returns once Redis confirmed it.
pub async fn subscribe(url: &str, channel: &str) -> RawSubscription {
    let mut connection = Connection::open(url).await;
    connection.send(&[b"SUBSCRIBE", channel.as_bytes()]).await;
    let confirmation = read_reply(&mut connection.stream).await;
    assert!(
        matches!(&confirmation, Reply::Array(parts) if parts.first() == Some(&Reply::Bulk(Some(b"subscribe".to_vec())))),
        "SUBSCRIBE answered {confirmation:?}"
    );
    let (sender, messages) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        loop {
            let Reply::Array(mut parts) = read_reply(&mut connection.stream).await else { continue };
            if parts.len() == 3
                && parts[0] == Reply::Bulk(Some(b"message".to_vec()))
                && let Some(Reply::Bulk(Some(payload))) = parts.pop()
                && sender.send(payload).is_err()
            {
                return;
            }
        }
    });
    RawSubscription { messages, reader }
}

/// Reads one reply, nested arrays included.
fn read_reply(stream: &mut BufReader<TcpStream>) -> Pin<Box<dyn Future<Output = Reply> + Send + '_>> {
    Box::pin(async move {
        let mut line = String::new();
        let read = stream.read_line(&mut line).await.expect("read a reply");
        assert!(read > 0, "the connection closed");
        let line = line.trim_end();
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Reply::Status(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Int(rest.parse().expect("an integer reply")),
            "$" => {
                let Ok(len) = usize::try_from(rest.parse::<i64>().expect("a bulk length")) else {
                    return Reply::Bulk(None);
                };
                let mut body = vec![0; len + 2];
                stream.read_exact(&mut body).await.expect("read a bulk reply");
                body.truncate(len);
                Reply::Bulk(Some(body))
            }
            "*" => {
                let Ok(len) = usize::try_from(rest.parse::<i64>().expect("an array length")) else {
                    return Reply::Array(Vec::new());
                };
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(read_reply(stream).await);
                }
                Reply::Array(items)
            }
            other => panic!("unexpected reply type {other:?} in {line:?}"),
        }
    })
}

//! One raw Redis command over a fresh connection, to look at what the counters stored without
//! going through any StoreHaus code.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A Redis reply of the kinds the suite reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Int(i64),
    Bulk(Option<String>),
    Error(String),
}

/// Sends `args` as one command to the server of `url` (`redis://host:port`) and returns its reply.
pub async fn command(url: &str, args: &[&str]) -> Reply {
    let address = url.trim_start_matches("redis://").trim_end_matches('/');
    let stream = TcpStream::connect(address).await.unwrap_or_else(|e| panic!("connect to {address}: {e}"));
    let mut stream = BufReader::new(stream);
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.get_mut().write_all(request.as_bytes()).await.expect("send the command");
    let mut line = String::new();
    stream.read_line(&mut line).await.expect("read the reply");
    let (kind, rest) = line.trim_end().split_at(1);
    match kind {
        "+" => Reply::Status(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Int(rest.parse().expect("an integer reply")),
        "$" => {
            let Ok(len) = usize::try_from(rest.parse::<i64>().expect("a bulk length")) else {
                return Reply::Bulk(None);
            };
            let mut body = vec![0; len + 2];
            stream.read_exact(&mut body).await.expect("read the bulk reply");
            body.truncate(len);
            Reply::Bulk(Some(String::from_utf8(body).expect("a text reply")))
        }
        other => panic!("unexpected reply type {other:?} in {line:?}"),
    }
}

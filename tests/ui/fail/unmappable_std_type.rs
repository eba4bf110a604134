use storehaus::prelude::*;

#[model]
#[table(name = "connections")]
pub struct Connection {
    #[primary_key]
    pub id: Uuid,
    pub stream: std::net::TcpStream,
}

fn main() {}

//! The memory that open connections cost the server. A gateway in front of a busy application
//! keeps one connection open per call in flight, so each must stay cheap.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::server::Server;

const CONNECTIONS: usize = 200;

/// Upper bound of the memory that the connections may add: about 50 KB each is expected, so
/// this leaves room for allocator slack while catching any per-connection copy of large state.
const ALLOWED_GROWTH: u64 = 64 * 1024 * 1024;

#[test]
fn open_connections_cost_little_memory() {
    let server = Server::start();
    let address = server
        .api
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let before = server.resident_bytes();

    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: glassbox\r\n\r\n")
            .unwrap();
        connections.push(stream);
    }
    for stream in &mut connections {
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 200", "every connection is answered");
    }

    let growth = server.resident_bytes().saturating_sub(before);
    assert!(
        growth < ALLOWED_GROWTH,
        "{CONNECTIONS} open connections added {} MiB",
        growth / (1024 * 1024)
    );
}

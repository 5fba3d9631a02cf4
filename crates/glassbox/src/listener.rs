//! Listening sockets with a connection queue sized for bursts.

use std::io::ErrorKind;
use std::net::SocketAddr;

use anyhow::anyhow;
use tokio::net::{TcpListener, TcpSocket};

use crate::config::flag_of;

/// Connections the kernel queues for a listener before it accepts them. When a burst of new
/// connections outgrows the queue, the kernel drops their handshakes, and each dropped one
/// delays its call until a retransmission timeout. The kernel caps the value at
/// `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 1024;

/// Listens on `address`. `key` is the setting that `address` came from, named in the error
/// with its flag.
pub(crate) async fn bind(address: &str, key: &str) -> anyhow::Result<TcpListener> {
    let flag = flag_of(key);
    listen(address).await.map_err(|error| {
        let advice = match error.kind() {
            ErrorKind::AddrInUse => {
                format!("; another process is using the port, so choose another with {flag}")
            }
            ErrorKind::AddrNotAvailable => {
                "; the host is not an address of this machine".to_owned()
            }
            ErrorKind::PermissionDenied => {
                "; ports below 1024 need privileges, so choose a higher one".to_owned()
            }
            ErrorKind::InvalidInput => "; expected HOST:PORT, such as 127.0.0.1:7317".to_owned(),
            _ => String::new(),
        };
        anyhow!("failed to listen on {address} ({key}, flag {flag}): {error}{advice}")
    })
}

/// Listens on the first address that `address` resolves to and that accepts a listener.
async fn listen(address: &str) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for resolved in tokio::net::lookup_host(address).await? {
        match listen_on(resolved) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(ErrorKind::InvalidInput, "the host resolved to no address")
    }))
}

fn listen_on(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As `TcpListener::bind` does, so that a restarted server takes its port back at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::TcpStream;

    use super::*;

    #[tokio::test]
    async fn queues_burst_before_accept() {
        let listener = bind("127.0.0.1:0", "listen").await.unwrap();
        let address = listener.local_addr().unwrap();

        // Nothing accepts while 300 clients connect at once. With a queue of 128, which
        // `TcpListener::bind` gives, the handshakes past it are dropped and the connects time out.
        let mut connects = tokio::task::JoinSet::new();
        for _ in 0..300 {
            connects.spawn(tokio::time::timeout(
                Duration::from_secs(2),
                TcpStream::connect(address),
            ));
        }
        let mut connected = Vec::new();
        while let Some(result) = connects.join_next().await {
            if let Ok(Ok(stream)) = result.unwrap() {
                connected.push(stream);
            }
        }

        assert_eq!(connected.len(), 300);
    }

    #[tokio::test]
    async fn error_names_setting_of_busy_port() {
        let busy = bind("127.0.0.1:0", "listen").await.unwrap();
        let address = busy.local_addr().unwrap().to_string();

        let error = bind(&address, "otlp_http_listen").await.unwrap_err();

        let message = format!("{error:#}");
        assert!(message.contains(&address), "{message}");
        assert!(message.contains("--otlp-http-listen"), "{message}");
        assert!(message.contains("another process"), "{message}");
    }

    #[tokio::test]
    async fn rejects_address_without_port() {
        let error = bind("127.0.0.1", "listen").await.unwrap_err();

        let message = format!("{error:#}");
        assert!(message.contains("HOST:PORT"), "{message}");
        assert!(!message.contains("another process"), "{message}");
    }
}

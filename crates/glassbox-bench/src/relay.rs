//! A bare TCP relay in front of the mock provider: it copies bytes both ways and parses
//! nothing. What it adds to a call is the floor of any proxy on the machine, one more
//! loopback hop and the thread wake-ups that come with it, so the gateway's overhead can be
//! read against it.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

use crate::loopback::LoopbackThread;

/// Starts a relay to `target` on a new loopback port.
pub fn start_relay(target: SocketAddr) -> anyhow::Result<LoopbackThread> {
    LoopbackThread::start("tcp-relay", move |listener| accept_loop(listener, target))
}

async fn accept_loop(listener: TcpListener, target: SocketAddr) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(relay(client, target));
    }
}

async fn relay(mut client: TcpStream, target: SocketAddr) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

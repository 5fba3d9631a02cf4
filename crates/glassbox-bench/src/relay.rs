//! A bare TCP relay in front of the mock provider: it copies bytes both ways and parses
//! nothing. What it adds to a call is the floor of any proxy on the machine, one more
//! loopback hop and the thread wake-ups that come with it, so the gateway's overhead can be
//! read against it.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};

/// The relay on a thread of its own. It stops when this value is dropped.
pub struct RelayThread {
    /// `http://ADDR` of the relay.
    pub base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl RelayThread {
    /// Starts a relay to `target` on a new loopback port.
    pub fn start(target: SocketAddr) -> anyhow::Result<RelayThread> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("tcp-relay".to_owned())
            .spawn(move || serve(listener, target, stopped))
            .context("failed to start the relay thread")?;
        Ok(RelayThread { base, _stop: stop })
    }
}

fn serve(
    listener: std::net::TcpListener,
    target: SocketAddr,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        let Ok(listener) = TcpListener::from_std(listener) else {
            return;
        };
        tokio::select! {
            _ = accept_loop(listener, target) => {}
            _ = stopped => {}
        }
    });
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

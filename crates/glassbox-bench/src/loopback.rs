//! A server on a loopback port, run on a thread of its own by a single-threaded Tokio runtime,
//! so that the load generator's tasks do not delay it.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;

/// Connections queued before they are accepted, as `glassbox serve` sets it.
const LISTEN_BACKLOG: u32 = 1024;

/// A server thread. It stops when this value is dropped.
pub struct LoopbackThread {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub base: String,
    _stop: oneshot::Sender<()>,
}

impl LoopbackThread {
    /// Binds a new loopback port and runs `serve` on it in a thread called `name`.
    pub fn start<S, F>(name: &str, serve: S) -> anyhow::Result<LoopbackThread>
    where
        S: FnOnce(TcpListener) -> F + Send + 'static,
        F: Future<Output = ()>,
    {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = socket.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(socket, serve, stopped))
            .with_context(|| format!("failed to start the {name} thread"))?;
        Ok(LoopbackThread {
            addr,
            base: format!("http://{addr}"),
            _stop: stop,
        })
    }
}

fn run<S, F>(socket: TcpSocket, serve: S, stopped: oneshot::Receiver<()>)
where
    S: FnOnce(TcpListener) -> F,
    F: Future<Output = ()>,
{
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        // The server's own backlog, so that a burst of connections at the start of a run is
        // queued here as it is there, not dropped.
        let Ok(listener) = socket.listen(LISTEN_BACKLOG) else {
            return;
        };
        tokio::select! {
            _ = serve(listener) => {}
            _ = stopped => {}
        }
    });
}

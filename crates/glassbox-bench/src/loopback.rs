//! A server on a loopback port, run on a thread of its own by a single-threaded Tokio runtime,
//! so that the load generator's tasks do not delay it.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

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
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(listener, serve, stopped))
            .with_context(|| format!("failed to start the {name} thread"))?;
        Ok(LoopbackThread {
            addr,
            base: format!("http://{addr}"),
            _stop: stop,
        })
    }
}

fn run<S, F>(listener: std::net::TcpListener, serve: S, stopped: oneshot::Receiver<()>)
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
        let Ok(listener) = TcpListener::from_std(listener) else {
            return;
        };
        tokio::select! {
            _ = serve(listener) => {}
            _ = stopped => {}
        }
    });
}

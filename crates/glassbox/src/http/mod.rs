//! The HTTP server of the main and OTLP/HTTP ports: accepts connections, serves each on a task
//! of its own with HTTP/1.1 or HTTP/2, and on shutdown lets every connection finish its
//! requests before returning.

mod self_wake;

use std::io;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use self_wake::repoll_on_self_wake;

/// How long accepting pauses after an error that is not about one connection, such as the
/// process running out of file descriptors.
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` turns true, then waits for the open
/// connections to finish their requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let (open_tx, open_rx) = watch::channel(());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };

        match accepted {
            Ok((stream, _)) => {
                let connection = connection(stream, router.clone(), shutdown.clone());
                let open = open_rx.clone();
                tokio::spawn(repoll_on_self_wake(async move {
                    connection.await;
                    drop(open);
                }));
            }
            Err(error) if is_about_one_connection(&error) => {}
            Err(error) => {
                tracing::error!(%error, "failed to accept a connection; pausing for 1 s");
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }

    drop(listener);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

/// Serves one connection. When `shutdown` turns true, the connection finishes the requests it
/// has begun and closes.
async fn connection(stream: TcpStream, router: Router, mut shutdown: watch::Receiver<bool>) {
    // Streamed responses go out in small writes. Without TCP_NODELAY each would wait for the
    // client's delayed acknowledgement of the previous one.
    let _ = stream.set_nodelay(true);

    let builder = Builder::new(TokioExecutor::new());
    let service = TowerToHyperService::new(router);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);

    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::trace!(error = %error, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.wait_for(|stop| *stop), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Errors that concern only the connection being accepted.
fn is_about_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

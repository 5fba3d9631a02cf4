//! nginx as a reference reverse proxy in front of the mock provider. Like the gateway, it
//! parses and forwards HTTP, keeps its upstream connections alive and passes streamed bodies
//! on unbuffered. What it adds to a call is thus what a mature HTTP proxy costs on the
//! machine, next to the bare relay's floor.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Time nginx has to accept connections after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Time nginx has to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// An nginx child process with its configuration in a temporary directory.
pub struct Nginx {
    child: Child,
    /// Base URL of the proxy.
    pub base: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts `binary` with one worker, proxying every path to `target`.
    pub fn start(binary: &Path, target: SocketAddr, work_dir: &Path) -> anyhow::Result<Nginx> {
        let dir = tempfile::Builder::new()
            .prefix("glassbox-bench-nginx-")
            .tempdir_in(work_dir)
            .context("failed to create a directory for nginx")?;
        let listen = free_port()?;
        let config = dir.path().join("nginx.conf");
        std::fs::write(&config, configuration(dir.path(), listen, target))
            .context("failed to write the nginx configuration")?;

        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        let mut nginx = Nginx {
            child,
            base: format!("http://{listen}"),
            dir,
        };
        nginx.wait_until_listening(listen)?;
        Ok(nginx)
    }

    fn wait_until_listening(&mut self, listen: SocketAddr) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                let log =
                    std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
                bail!("nginx exited at start with {status}. Its error log:\n{log}");
            }
            if TcpStream::connect(listen).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "nginx did not listen on {listen} within {} s",
            START_TIMEOUT.as_secs()
        )
    }
}

impl Drop for Nginx {
    /// Stops nginx with SIGTERM, which its master passes on to the worker. SIGKILL would leave
    /// the worker running and listening.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();

        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns a loopback port that was free a moment ago. nginx binds it itself, so another
/// process could take it in between. nginx then fails to start and logs the error.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("failed to find a free port")?;
    Ok(listener.local_addr()?)
}

/// Returns the text of a configuration tuned as for a production reverse proxy: upstream
/// connections kept alive, no access log, and bodies passed on as they arrive.
fn configuration(dir: &Path, listen: SocketAddr, target: SocketAddr) -> String {
    let dir = dir.display();
    format!(
        "daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    upstream mock {{
        server {target};
        keepalive 256;
        keepalive_requests 1000000;
    }}
    server {{
        listen {listen} backlog=1024;
        client_max_body_size 16m;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"
    )
}

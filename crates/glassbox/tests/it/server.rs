//! A `glassbox serve` child process on loopback ports chosen by the operating system.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running server and the addresses it listens on.
pub struct Server {
    child: Child,
    pub api: String,
    pub otlp_http: String,
    pub otlp_grpc: String,
    _temp: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server with a fresh data directory.
    pub fn start() -> Server {
        Server::start_in_temp(&[])
    }

    /// Starts a server with a fresh data directory and extra environment variables.
    pub fn start_in_temp(env: &[(&str, &str)]) -> Server {
        let temp = tempfile::tempdir().unwrap();
        let data_dir = temp.path().to_path_buf();
        let mut server = Server::start_in(&data_dir, env);
        server._temp = Some(temp);
        server
    }

    /// Starts a server on an existing data directory, with extra environment variables.
    pub fn start_in(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_with_args(data_dir, env, &[])
    }

    /// Starts `glassbox serve --demo` with a fresh data directory.
    pub fn start_demo() -> Server {
        let temp = tempfile::tempdir().unwrap();
        let mut server = Server::start_with_args(temp.path(), &[], &["--demo"]);
        server._temp = Some(temp);
        server
    }

    /// Starts a server with a fresh data directory and extra `serve` arguments.
    pub fn start_with(args: &[&str]) -> Server {
        let temp = tempfile::tempdir().unwrap();
        let mut server = Server::start_with_args(temp.path(), &[], args);
        server._temp = Some(temp);
        server
    }

    /// Starts a server with a fresh data directory, extra environment variables and extra
    /// `serve` arguments.
    pub fn start_with_env_and_args(env: &[(&str, &str)], args: &[&str]) -> Server {
        let temp = tempfile::tempdir().unwrap();
        let mut server = Server::start_with_args(temp.path(), env, args);
        server._temp = Some(temp);
        server
    }

    fn start_with_args(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_glassbox"));
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--otlp-http-listen",
                "127.0.0.1:0",
            ])
            .args(["--otlp-grpc-listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("GLASSBOX_LOG", "info")
            .env_remove("GLASSBOX_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();

        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = sender.send(line);
            }
        });
        let (mut api, mut otlp_http, mut otlp_grpc) = (None, None, None);
        while api.is_none() || otlp_http.is_none() || otlp_grpc.is_none() {
            let line = receiver
                .recv_timeout(Duration::from_secs(20))
                .expect("server did not report its addresses within 20 s");
            let address = line
                .split("address=")
                .nth(1)
                .map(|text| text.trim().to_owned());
            if line.contains("API and OTLP/HTTP listening") {
                api = address;
            } else if line.contains("OTLP/HTTP listening") {
                otlp_http = address;
            } else if line.contains("OTLP/gRPC listening") {
                otlp_grpc = address;
            }
        }
        // Keep draining the log so the child never blocks on a full pipe.
        std::thread::spawn(move || while receiver.recv().is_ok() {});

        Server {
            child,
            api: format!("http://{}", api.unwrap()),
            otlp_http: format!("http://{}", otlp_http.unwrap()),
            otlp_grpc: format!("http://{}", otlp_grpc.unwrap()),
            _temp: None,
        }
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }

    /// Returns the resident memory of the process, in bytes.
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("VmRSS:"))
            .unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    /// Returns true while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Reads a JSON document from the API.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = reqwest::get(format!("{}{path}", self.api)).await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

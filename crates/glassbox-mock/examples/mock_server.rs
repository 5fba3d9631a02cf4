//! Runs the mock until interrupted, for trying it with an SDK or curl.
//!
//! Usage: `cargo run -p glassbox-mock --example mock_server -- [ADDR] [API_KEY]`. ADDR defaults
//! to `127.0.0.1:0` (a free port); with API_KEY, requests must carry that key. The first line of
//! output is `listening on http://HOST:PORT`.

use std::io::Write;

use glassbox_mock::MockOptions;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let options = MockOptions {
        expected_api_key: args.next(),
        ..MockOptions::default()
    };

    let listener = TcpListener::bind(&addr).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{}", listener.local_addr()?)?;
    stdout.flush()?;

    glassbox_mock::serve(listener, options).await
}

//! A headless Chromium driven through chromedriver's W3C WebDriver endpoint on loopback: just
//! the commands the dashboard tests need.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Finds chromedriver and Chromium: `CHROMEDRIVER` and `CHROMIUM`, else Debian's paths.
/// `None` outside CI when they are missing; in CI that is a failure, since `.ci/run`
/// installs them.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
pub fn tools() -> Option<(PathBuf, PathBuf)> {
    let driver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if driver.exists() && chromium.exists() {
        return Some((driver, chromium));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide Chromium: .ci/run installs chromium and chromium-driver"
    );
    eprintln!("skipping the browser test: install Debian's chromium and chromium-driver");
    None
}

/// A chromedriver process and one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless session that keeps
    /// the browser console log.
    pub async fn start(driver: &PathBuf, chromium: &PathBuf) -> Browser {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()
                .filter(|response| response.status().is_success());
            if ready.is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1440,1000"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let response: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {response}"))
            .to_owned();
        Browser {
            driver: child,
            base,
            session,
            http,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        let value = response["value"].clone();
        assert!(
            value.get("error").is_none(),
            "WebDriver {path} failed: {value}"
        );
        value
    }

    /// Opens a URL and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Returns the current URL.
    pub async fn url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Runs a script in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Returns the console entries logged since the last call.
    pub async fn console(&self) -> Vec<Value> {
        let value = self
            .command(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        value.as_array().cloned().unwrap_or_default()
    }

    /// Moves the pointer to a point of the first element matching `selector`, as offsets from
    /// its centre, optionally pressing, moving by `drag` pixels and releasing.
    pub async fn pointer(&self, selector: &str, offset_x: i64, drag: Option<i64>) {
        let element = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": selector})),
            )
            .await;
        let origin = element.clone();
        let mut actions = vec![
            json!({"type": "pointerMove", "duration": 0, "origin": origin, "x": offset_x, "y": 0}),
        ];
        if let Some(distance) = drag {
            actions.push(json!({"type": "pointerDown", "button": 0}));
            actions.push(json!({"type": "pointerMove", "duration": 100, "origin": "pointer", "x": distance, "y": 0}));
            actions.push(json!({"type": "pointerUp", "button": 0}));
        }
        self.command(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "pointer", "id": "mouse",
                "parameters": {"pointerType": "mouse"}, "actions": actions}]})),
        )
        .await;
    }
}
impl Browser {
    /// Ends the session, which closes the browser.
    pub async fn close(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

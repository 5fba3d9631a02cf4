//! Runs `glassbox-bench ingest` and `queries` in short mode against a `glassbox serve` that
//! they start, so that the benchmarks keep working as the server changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// Builds `glassbox` in the profile and target directory of this test, once, so that the
/// benchmark never runs a stale server. Returns its path.
fn glassbox_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let bench = PathBuf::from(env!("CARGO_BIN_EXE_glassbox-bench"));
        let profile_dir = bench.parent().unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet", "-p", "glassbox", "--target-dir"])
            .arg(target_dir);
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            build.arg("--release");
        }
        let status = build.status().expect("failed to run cargo build");
        assert!(status.success(), "cargo build -p glassbox failed");
        profile_dir.join("glassbox")
    })
}

/// Runs the ingest benchmark against a server it starts. Returns the process output and the
/// report.
fn run_bench(arguments: &[&str]) -> (Output, Value) {
    let mut command = vec!["ingest"];
    command.extend_from_slice(arguments);
    run_command(&command)
}

/// Runs one benchmark command against a server it starts, with a fresh work directory and
/// report. Returns the process output and the report.
fn run_command(arguments: &[&str]) -> (Output, Value) {
    let work_dir = tempfile::tempdir().unwrap();
    let report_path = work_dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_glassbox-bench"))
        .args(arguments)
        .arg("--glassbox")
        .arg(glassbox_binary())
        .arg("--work-dir")
        .arg(work_dir.path())
        .arg("--json-out")
        .arg(&report_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the benchmark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    (output, report)
}

fn assert_committed_and_read_back(report: &Value) {
    let acknowledged = report["spans"]["acknowledged"].as_u64().unwrap();
    assert!(acknowledged > 0, "no spans acknowledged: {report}");
    assert_eq!(report["requests"]["failed"], 0, "{report}");
    let verification = &report["verification"];
    assert_eq!(verification["committed_after"], acknowledged, "{report}");
    assert_eq!(verification["committed_matches"], true, "{report}");
    let checked = verification["traces_checked"].as_u64().unwrap();
    assert!(checked > 0, "no trace checked: {report}");
    assert_eq!(verification["traces_complete"], checked, "{report}");
    assert!(
        report["server"]["vm_hwm_bytes"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(report["server"]["stop"]["clean_exit"], true, "{report}");
}

#[test]
fn http_protobuf_max_short() {
    let (output, report) = run_bench(&["--max", "--short", "--concurrency", "2"]);
    let line = String::from_utf8(output.stdout).unwrap();
    assert!(
        line.starts_with("ingest http-protobuf max c=2 batch=64: "),
        "{line}"
    );
    assert!(line.contains("20/20 traces complete"), "{line}");
    assert_eq!(report["run"]["batch_spans"], 64);
    assert_committed_and_read_back(&report);
}

#[test]
fn http_json_max_short() {
    let (_, report) = run_bench(&["--max", "--short", "--duration", "1", "--encoding", "json"]);
    assert_eq!(report["run"]["label"], "http-json");
    assert_committed_and_read_back(&report);
}

#[test]
fn grpc_open_loop_short() {
    let (_, report) = run_bench(&[
        "--rate",
        "2000",
        "--short",
        "--duration",
        "1",
        "--transport",
        "grpc",
    ]);
    assert_eq!(report["run"]["label"], "grpc-protobuf");
    assert_eq!(report["run"]["mode"], "rate");
    assert_committed_and_read_back(&report);
}

#[test]
fn remote_target_is_rejected() {
    let output = Command::new(env!("CARGO_BIN_EXE_glassbox-bench"))
        .args(["ingest", "--max", "--target-http", "http://192.0.2.1:4318"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}

#[test]
fn queries_short() {
    let work_dir = tempfile::tempdir().unwrap();
    let report_path = work_dir.path().join("queries.json");
    let output = Command::new(env!("CARGO_BIN_EXE_glassbox-bench"))
        .args(["queries", "--short", "--repeat", "1", "--glassbox"])
        .arg(glassbox_binary())
        .arg("--work-dir")
        .arg(work_dir.path())
        .arg("--json-out")
        .arg(&report_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the benchmark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["spans"], 20_000);
    let queries = report["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 17);
    let pages: Vec<&str> = queries
        .iter()
        .filter_map(|query| query["name"].as_str())
        .filter(|name| name.starts_with("page: "))
        .collect();
    assert!(pages.contains(&"page: trace of 500 spans"), "{pages:?}");
    assert!(pages.contains(&"page: quality, 24 hours"), "{pages:?}");
    for query in queries {
        assert!(query["response_bytes"].as_u64().unwrap() > 100, "{query}");
        assert!(query["median_ms"].as_f64().unwrap() > 0.0, "{query}");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("summary 30d by model"), "{stdout}");
}

#[test]
fn storage_short() {
    let work_dir = tempfile::tempdir().unwrap();
    let report_path = work_dir.path().join("storage.json");
    let output = Command::new(env!("CARGO_BIN_EXE_glassbox-bench"))
        .args(["storage", "--short", "--work-dir"])
        .arg(work_dir.path())
        .arg("--json-out")
        .arg(&report_path)
        .arg("--glassbox")
        .arg(glassbox_binary())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the benchmark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let fills = report.as_array().unwrap();
    assert_eq!(fills.len(), 2);
    let without = fills[0]["bytes_per_span"].as_f64().unwrap();
    let with = fills[1]["bytes_per_span"].as_f64().unwrap();
    assert!(without > 0.0, "{report}");
    assert!(with > without, "content must take room: {report}");
}

#[test]
fn gateway_short() {
    let work_dir = tempfile::tempdir().unwrap();
    let report_path = work_dir.path().join("gateway.json");
    let output = Command::new(env!("CARGO_BIN_EXE_glassbox-bench"))
        .args(["gateway", "--short", "--rates", "100", "--concurrency", "8"])
        .arg("--glassbox")
        .arg(glassbox_binary())
        .arg("--work-dir")
        .arg(work_dir.path())
        .arg("--json-out")
        .arg(&report_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the benchmark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let comparisons = report["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 2, "one plain and one streamed: {report}");
    for comparison in comparisons {
        for path in ["direct", "relay", "gateway"] {
            let run = &comparison[path];
            assert_eq!(run["ok"], 100, "{run}");
            assert_eq!(run["errors"], 0, "{run}");
            assert!(run["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{run}");
        }
    }
    assert!(
        report["max_calls_per_sec"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert_eq!(report["max_errors"], 0, "{report}");
    let health = &report["health"];
    let calls = health["calls"].as_u64().unwrap();
    assert!(calls >= 600, "warm-up and timed calls: {health}");
    assert_eq!(health["lost_spans"], 0, "{health}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("gateway plain 100 calls/s: added p50"),
        "{stdout}"
    );
    assert!(stdout.contains("gateway max:"), "{stdout}");
    let open_loop = &report["health_open_loop"];
    assert_eq!(open_loop["lost_spans"], 0, "{open_loop}");
    assert_eq!(
        open_loop["recorded_spans"], open_loop["calls"],
        "every call of the open-loop runs is recorded: {open_loop}"
    );
}

#[test]
fn scrape_short() {
    let (_, report) = run_command(&["scrape", "--short", "--seconds", "2"]);
    assert_eq!(report["targets"], 5);
    assert_eq!(report["healthy_targets"], 5);
    assert!(report["scrapes"].as_u64().unwrap() >= 10, "{report}");
    assert!(
        report["server_cpu_seconds"].as_f64().unwrap() > 0.0,
        "{report}"
    );
}

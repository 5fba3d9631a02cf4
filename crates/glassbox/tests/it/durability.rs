//! Crash safety: what was acknowledged survives `kill -9`; a clean stop commits everything.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::otlp::{chat_span, encode, post, request, trace_hex};
use crate::server::Server;

const PROTOBUF: &str = "application/x-protobuf";
const SPANS_PER_REQUEST: u64 = 20;

/// Sends requests from several tasks until the server dies; returns the acknowledged traces.
async fn send_until_killed(base: String) -> Vec<u64> {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for worker in 0..4u64 {
        let base = base.clone();
        let acknowledged = Arc::clone(&acknowledged);
        tasks.push(tokio::spawn(async move {
            for round in 0..10_000u64 {
                let trace = worker * 1_000_000 + round;
                let spans = (0..SPANS_PER_REQUEST)
                    .map(|index| {
                        chat_span(
                            trace,
                            index,
                            (index > 0).then_some(0),
                            1_700_000_000_000_000_000 + index,
                        )
                    })
                    .collect();
                let body = encode(&request("durability", spans));
                let sent = reqwest::Client::new()
                    .post(format!("{base}/v1/traces"))
                    .header("content-type", PROTOBUF)
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 200 => {
                        acknowledged.lock().await.push(trace)
                    }
                    Ok(response) => panic!("unexpected status {}", response.status()),
                    Err(_) => return,
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    acknowledged.lock().await.clone()
}

#[tokio::test]
async fn acknowledged_spans_survive_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_in(data.path(), &[]);
    let base = server.otlp_http.clone();

    let sender = tokio::spawn(send_until_killed(base));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    let acknowledged = sender.await.unwrap();
    assert!(
        acknowledged.len() > 20,
        "only {} requests acknowledged",
        acknowledged.len()
    );

    let server = Server::start_in(data.path(), &[]);
    for trace in &acknowledged {
        let detail = server
            .get_json(&format!("/api/v1/traces/{}", trace_hex(*trace)))
            .await;
        assert_eq!(
            detail["spans"].as_array().unwrap().len() as u64,
            SPANS_PER_REQUEST,
            "trace {trace}"
        );
        assert_eq!(detail["trace"]["span_count"], SPANS_PER_REQUEST);
    }
}

#[tokio::test]
async fn sigterm_commits_and_exits_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_in(data.path(), &[]);
    for trace in 0..5 {
        let body = encode(&request(
            "stop",
            vec![chat_span(trace, 1, None, 1_700_000_000_000_000_000)],
        ));
        assert_eq!(
            post(&server.otlp_http, body, PROTOBUF, None).await.status(),
            200
        );
    }
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");

    let server = Server::start_in(data.path(), &[]);
    let list = server.get_json("/api/v1/traces?limit=100").await;
    assert_eq!(list["traces"].as_array().unwrap().len(), 5);
}

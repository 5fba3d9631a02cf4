//! Golden tests: real OTLP payloads recorded from instrumentation libraries, normalized and
//! compared with the expected canonical values stored next to them.
//!
//! Every mismatch of every file is collected and reported in one failure, so a run shows the
//! whole picture.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod compare;
mod payload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use glassbox_model::{ContentTarget, Span, SpanContentPatch};
use glassbox_semconv::{apply_patches, log_records_content, normalize_span};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::{Map, Value};

/// Fewer compared spans than this means the fixtures were not found or not read.
const MIN_TRACE_SPANS: usize = 250;
/// Fewer compared log spans than this means the log fixtures were not read.
const MIN_LOG_SPANS: usize = 40;

/// Results of one run over the fixtures.
#[derive(Default)]
struct Report {
    mismatches: Vec<String>,
    trace_spans: usize,
    log_spans: usize,
    files: usize,
}

impl Report {
    fn fail(&mut self, file: &Path, problem: impl Into<String>) {
        let name = file
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        self.mismatches.push(format!("{name}: {}", problem.into()));
    }
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// Lists every expected file under `otlp/` and `otlp-priced/`, sorted.
fn expected_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for corpus in ["otlp", "otlp-priced"] {
        let Ok(folders) = std::fs::read_dir(fixtures_root().join(corpus)) else {
            continue;
        };
        for folder in folders.flatten() {
            let Ok(entries) = std::fs::read_dir(folder.path()) else {
                continue;
            };
            files.extend(
                entries
                    .flatten()
                    .map(|entry| entry.path())
                    .filter(|path| path.to_string_lossy().ends_with(".expected.json")),
            );
        }
    }
    files.sort();
    files
}

#[test]
fn fixtures_normalize_as_expected() {
    let mut report = Report::default();
    for file in expected_files() {
        report.files += 1;
        let text = std::fs::read_to_string(&file).unwrap();
        let expected: Value = serde_json::from_str(&text).unwrap();
        match expected["signal"].as_str() {
            Some("traces") => check_traces(&file, &expected, &mut report),
            Some("logs") => check_logs(&file, &expected, &mut report),
            other => report.fail(&file, format!("unknown signal {other:?}")),
        }
    }

    println!(
        "checked {} files, {} trace spans, {} log-joined spans",
        report.files, report.trace_spans, report.log_spans
    );
    assert!(
        report.mismatches.is_empty(),
        "{} mismatches:\n{}",
        report.mismatches.len(),
        report.mismatches.join("\n")
    );
    assert!(
        report.trace_spans >= MIN_TRACE_SPANS,
        "only {} trace spans compared",
        report.trace_spans
    );
    assert!(
        report.log_spans >= MIN_LOG_SPANS,
        "only {} log spans compared",
        report.log_spans
    );
}

fn payload_paths(file: &Path, expected: &Value, key: &str) -> Vec<PathBuf> {
    let folder = file.parent().unwrap();
    expected[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|name| folder.join(name))
        .collect()
}

/// Normalizes every span of a trace request; returns the spans by span id.
fn normalize_request(
    file: &Path,
    request: &ExportTraceServiceRequest,
    report: &mut Report,
) -> HashMap<String, Span> {
    let mut spans = HashMap::new();
    for resource_spans in &request.resource_spans {
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                match normalize_span(
                    resource_spans.resource.as_ref(),
                    scope_spans.scope.as_ref(),
                    span,
                ) {
                    Ok(normalized) => {
                        spans.insert(normalized.span_id.to_string(), normalized);
                    }
                    Err(error) => report.fail(file, format!("span rejected: {error}")),
                }
            }
        }
    }
    spans
}

fn check_traces(file: &Path, expected: &Value, report: &mut Report) {
    for payload in payload_paths(file, expected, "payload_files") {
        let request = match payload::traces(&payload) {
            Ok(request) => request,
            Err(error) => return report.fail(file, error),
        };
        let spans = normalize_request(file, &request, report);
        for want in expected["spans"].as_array().into_iter().flatten() {
            let want = want.as_object().unwrap();
            check_span(file, &payload, want, &spans, report);
        }
    }
}

fn check_span(
    file: &Path,
    payload: &Path,
    want: &Map<String, Value>,
    spans: &HashMap<String, Span>,
    report: &mut Report,
) {
    let span_id = want["span_id"].as_str().unwrap_or_default();
    let payload_name = payload.file_name().unwrap().to_string_lossy();
    let Some(actual) = spans.get(span_id) else {
        return report.fail(file, format!("[{payload_name}] span {span_id} missing"));
    };
    report.trace_spans += 1;
    for problem in compare::span(want, actual) {
        report.fail(
            file,
            format!(
                "[{payload_name}] span {span_id} ({}) {problem}",
                actual.name
            ),
        );
    }
}

fn check_logs(file: &Path, expected: &Value, report: &mut Report) {
    let mut spans = HashMap::new();
    for payload in payload_paths(file, expected, "trace_payloads") {
        // The protobuf and JSON trace bodies of a run hold the same spans; one is enough.
        if payload
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            continue;
        }
        match payload::traces(&payload) {
            Ok(request) => spans.extend(normalize_request(file, &request, report)),
            Err(error) => report.fail(file, error),
        }
    }

    for payload in payload_paths(file, expected, "payload_files") {
        let request = match payload::logs(&payload) {
            Ok(request) => request,
            Err(error) => return report.fail(file, error),
        };
        let patches = request_patches(&request);
        let payload_name = payload.file_name().unwrap().to_string_lossy().into_owned();
        for want in expected["spans"].as_array().into_iter().flatten() {
            let want = want.as_object().unwrap();
            check_log_span(file, &payload_name, want, &spans, &patches, report);
        }
    }
}

fn request_patches(
    request: &opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest,
) -> Vec<SpanContentPatch> {
    let mut patches = Vec::new();
    let mut sequence = 0;
    for resource_logs in &request.resource_logs {
        for scope_logs in &resource_logs.scope_logs {
            let records = &scope_logs.log_records;
            patches.extend(log_records_content(
                resource_logs.resource.as_ref(),
                scope_logs.scope.as_ref(),
                records,
                sequence,
            ));
            sequence += records.len() as u64;
        }
    }
    patches
}

fn check_log_span(
    file: &Path,
    payload_name: &str,
    want: &Map<String, Value>,
    spans: &HashMap<String, Span>,
    patches: &[SpanContentPatch],
    report: &mut Report,
) {
    let span_id = want["span_id"].as_str().unwrap_or_default();
    let Some(span) = spans.get(span_id) else {
        return report.fail(
            file,
            format!("[{payload_name}] span {span_id} missing from the trace payloads"),
        );
    };
    let own: Vec<SpanContentPatch> = patches
        .iter()
        .filter(|patch| targets(patch, span))
        .cloned()
        .collect();
    let mut joined = span.clone();
    apply_patches(&mut joined, &own);
    report.log_spans += 1;
    for problem in compare::content(want, &joined) {
        report.fail(file, format!("[{payload_name}] span {span_id} {problem}"));
    }
}

/// Tells whether a patch belongs to a span, as the store joins them.
fn targets(patch: &SpanContentPatch, span: &Span) -> bool {
    match &patch.target {
        ContentTarget::Span { trace_id, span_id } => {
            *trace_id == span.trace_id && *span_id == span.span_id
        }
        ContentTarget::ResponseId(id) => span.response_id.as_deref() == Some(id.as_str()),
    }
}

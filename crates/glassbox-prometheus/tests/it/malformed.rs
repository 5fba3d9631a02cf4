//! Broken and oversized pages: each gives a `ParseError` naming the line or the limit, and
//! none panics.

use glassbox_prometheus::{
    Format, Limits, Mapper, ParseError, ServerKind, parse, parse_with_format,
};

use crate::*;

/// Returns the 1-based number of the first line of `text` that starts with `prefix`.
fn line_number(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|line| line.starts_with(prefix))
        .map(|index| index + 1)
        .unwrap_or_else(|| panic!("no line starts with {prefix:?}"))
}

/// Replaces the first line that starts with `prefix`.
fn replace_line(text: &str, prefix: &str, replacement: &str) -> String {
    let number = line_number(text, prefix);
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            if index + 1 == number {
                replacement
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn error_message(text: &str) -> String {
    match parse(text, &Limits::default()) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("expected a parse error"),
    }
}

#[test]
fn bad_value_names_line_and_metric() {
    let text = page("vllm-0.11.txt");
    let prefix = "vllm:num_requests_running{";
    let line = line_number(&text, prefix);
    let broken = replace_line(
        &text,
        prefix,
        "vllm:num_requests_running{engine=\"0\",model_name=\"meta-llama/Llama-3.1-8B-Instruct\"} abc",
    );
    assert_eq!(
        error_message(&broken),
        format!("line {line}: invalid value \"abc\" for vllm:num_requests_running")
    );
}

#[test]
fn unterminated_label_value() {
    let text = page("tgi.txt");
    let prefix = "tgi_request_failure{";
    let line = line_number(&text, prefix);
    let broken = replace_line(&text, prefix, "tgi_request_failure{err=\"validation} 3");
    assert_eq!(
        error_message(&broken),
        format!(
            "line {line}: unterminated value of label err of tgi_request_failure: missing closing quote"
        )
    );
}

#[test]
fn unterminated_label_set() {
    let text = page("triton.txt");
    let prefix = "nv_inference_pending_request_count{model=\"llama3\"";
    let line = line_number(&text, prefix);
    let broken = replace_line(
        &text,
        prefix,
        "nv_inference_pending_request_count{model=\"llama3\",version=\"1\"",
    );
    assert_eq!(
        error_message(&broken),
        format!(
            "line {line}: unterminated label set of nv_inference_pending_request_count: missing }}"
        )
    );
}

#[test]
fn duplicate_type_line() {
    let text = page("llamacpp.txt");
    let first = line_number(&text, "# TYPE llamacpp:requests_deferred");
    let broken = format!("{text}# TYPE llamacpp:requests_deferred counter\n");
    let line = broken.lines().count();
    assert_eq!(
        error_message(&broken),
        format!(
            "line {line}: duplicate TYPE line for llamacpp:requests_deferred, first on line {first}"
        )
    );
}

#[test]
fn sample_before_its_type_is_fine() {
    let text = page("llamacpp.txt");
    // Move every HELP and TYPE line to the end of the page.
    let (metadata, samples): (Vec<&str>, Vec<&str>) =
        text.lines().partition(|line| line.starts_with('#'));
    let reordered = format!("{}\n{}\n", samples.join("\n"), metadata.join("\n"));

    let original = exposition("llamacpp.txt");
    let moved = parse(&reordered, &Limits::default()).unwrap();
    for family in &original.families {
        let other = moved.family(&family.name).unwrap();
        assert_eq!(other.kind, family.kind, "{}", family.name);
        assert_eq!(other.samples, family.samples, "{}", family.name);
    }

    let converted = Mapper::new(ServerKind::LlamaCpp).convert(&moved, "server-1", T0);
    assert_eq!(
        converted,
        first_scrape(ServerKind::LlamaCpp, "llamacpp.txt")
    );
}

#[test]
fn line_over_the_limit() {
    let text = page("sglang.txt");
    let long_value = "x".repeat(70 * 1024);
    let long_line = format!("sglang:num_running_reqs{{model_name=\"{long_value}\"}} 1.0");
    let broken = format!("{text}{long_line}\n");
    let line = broken.lines().count();
    assert_eq!(
        parse(&broken, &Limits::default()),
        Err(ParseError::LineTooLong {
            line,
            size: long_line.len(),
            limit: 64 * 1024
        })
    );
}

#[test]
fn too_many_samples() {
    let text = page("triton.txt");
    let limits = Limits {
        max_samples: 10,
        ..Limits::default()
    };
    let eleventh = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.is_empty())
        .nth(10)
        .map(|(index, _)| index + 1)
        .unwrap();
    let error = parse(&text, &limits).unwrap_err();
    assert_eq!(
        error,
        ParseError::TooManySamples {
            line: eleventh,
            limit: 10
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "line {eleventh}: more than 10 samples on the page; raise max_samples to accept it"
        )
    );
}

#[test]
fn too_many_labels() {
    let text = page("dcgm.txt");
    let limits = Limits {
        max_labels: 8,
        ..Limits::default()
    };
    // The first GPU has ten labels: gpu, UUID, pci_bus_id, device, modelName, Hostname,
    // DCGM_FI_DRIVER_VERSION, container, namespace and pod.
    assert_eq!(
        parse(&text, &limits),
        Err(ParseError::TooManyLabels {
            line: 3,
            metric: "DCGM_FI_DEV_SM_CLOCK".to_owned(),
            limit: 8
        })
    );
    assert!(
        parse(
            &text,
            &Limits {
                max_labels: 10,
                ..Limits::default()
            }
        )
        .is_ok()
    );
}

#[test]
fn fifty_megabyte_page() {
    let text = page("vllm-0.11.txt");
    let huge = text.repeat(50 * 1024 * 1024 / text.len() + 1);
    assert!(huge.len() > 50 * 1024 * 1024);
    let error = parse(&huge, &Limits::default()).unwrap_err();
    assert_eq!(
        error,
        ParseError::PageTooLarge {
            size: huge.len(),
            limit: 16 * 1024 * 1024
        }
    );
    assert_eq!(error.line(), None);
}

#[test]
fn truncated_openmetrics_page() {
    let text = page("vllm-0.11-openmetrics.txt");
    let truncated = text.replace("# EOF\n", "");
    let error = parse_with_format(&truncated, Format::OpenMetrics, &Limits::default()).unwrap_err();
    assert!(
        error.to_string().ends_with(
            "missing # EOF at the end of an OpenMetrics page; the page may be truncated"
        ),
        "{error}"
    );
    assert!(parse_with_format(&text, Format::OpenMetrics, &Limits::default()).is_ok());
}

#[test]
fn openmetrics_timestamps_need_openmetrics() {
    // Without `# EOF` the page reads as format 0.0.4, where timestamps are integers.
    let text = page("vllm-0.11-openmetrics.txt").replace("# EOF\n", "");
    let line = line_number(&text, "vllm:num_requests_running{");
    assert_eq!(
        error_message(&text),
        format!("line {line}: invalid timestamp \"1730200000.0\" for vllm:num_requests_running")
    );
}

#[test]
fn page_prefixes_never_panic() {
    for name in ["triton.txt", "vllm-0.11-openmetrics.txt", "prometheus.txt"] {
        let text = page(name);
        let mut mapper = Mapper::new(ServerKind::Prometheus);
        for end in (0..=text.len()).filter(|end| text.is_char_boundary(*end)) {
            if let Ok(exposition) = parse(&text[..end], &Limits::default()) {
                mapper.convert(&exposition, "server-1", T0 + end as u64);
            }
        }
    }
}

#[test]
fn not_a_metrics_page() {
    let html = "<!DOCTYPE html>\n<html><body>Not Found</body></html>\n";
    assert_eq!(
        error_message(html),
        "line 1: invalid metric name \"<!DOCTYPE\""
    );
    let json = "{\"error\": \"not found\"}\n";
    assert!(error_message(json).starts_with("line 1: "));
}

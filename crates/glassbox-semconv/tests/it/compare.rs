//! Subset comparison of a normalized span with an expected span: every field the expected
//! span lists must match, fields it leaves out are not checked.

use glassbox_model::{CostStatus, Message, Span};
use serde_json::{Map, Value};

/// Largest difference accepted between expected and normalized TTFT, in milliseconds.
const TTFT_TOLERANCE_MS: f64 = 1.0;

/// Compares one span and returns one line per mismatch.
pub fn span(expected: &Map<String, Value>, actual: &Span) -> Vec<String> {
    let mut mismatches = Vec::new();
    for (field, want) in expected {
        if let Err(problem) = field_matches(field, want, expected, actual) {
            mismatches.push(format!("{field}: {problem}"));
        }
    }
    mismatches
}

/// Compares the content fields that log records determine.
pub fn content(expected: &Map<String, Value>, actual: &Span) -> Vec<String> {
    let mut mismatches = Vec::new();
    for field in ["input_messages", "output_messages", "finish_reasons"] {
        let Some(want) = expected.get(field) else {
            continue;
        };
        if let Err(problem) = field_matches(field, want, expected, actual) {
            mismatches.push(format!("{field}: {problem}"));
        }
    }
    mismatches
}

fn field_matches(
    field: &str,
    want: &Value,
    expected: &Map<String, Value>,
    actual: &Span,
) -> Result<(), String> {
    let usage = &actual.usage;
    match field {
        "span_id" => text(want, Some(&actual.span_id.to_string())),
        "trace_id" => text(want, Some(&actual.trace_id.to_string())),
        "parent_span_id" => text(
            want,
            actual.parent_span_id.map(|id| id.to_string()).as_deref(),
        ),
        "name" => text(want, Some(&actual.name)),
        "kind" => text(want, Some(actual.kind.as_str())),
        "status" => text(want, Some(actual.status.as_str())),
        "operation" => text(want, actual.operation.as_deref()),
        "provider" => text(want, actual.provider.as_deref()),
        "request_model" => text(want, actual.request_model.as_deref()),
        "response_model" => text(want, actual.response_model.as_deref()),
        "error_type" => text(want, actual.error_type.as_deref()),
        "tool_name" => text(want, actual.tool_name.as_deref()),
        "user_id" => text(want, actual.user_id.as_deref()),
        "session_id" => text(want, actual.session_id.as_deref()),
        "input_tokens" => count(want, usage.input),
        "output_tokens" => count(want, usage.output),
        "cached_input_tokens" => count(want, usage.cached_input),
        "cache_write_input_tokens" => count(want, usage.cache_write_input),
        "reasoning_tokens" => count(want, usage.reasoning),
        "total_tokens" => count(want, usage.total),
        "streaming" => same(
            want,
            &actual.streaming.map(Value::Bool).unwrap_or(Value::Null),
        ),
        "ttft_ms" => ttft(want, actual.ttft_ms),
        "finish_reasons" => strings(want, &actual.finish_reasons),
        "tags" => strings(want, &actual.tags),
        "input_messages" => messages(want, actual.input_messages.as_deref()),
        "output_messages" => messages(want, actual.output_messages.as_deref()),
        "expected_cost_status" => cost(want, expected.get("cost_usd"), actual),
        // Checked together with expected_cost_status.
        "cost_usd" => Ok(()),
        other => Err(format!("field {other:?} is not compared by this test")),
    }
}

fn text(want: &Value, got: Option<&str>) -> Result<(), String> {
    let matches = match want {
        Value::Null => got.is_none(),
        Value::String(want) => got == Some(want.as_str()),
        _ => false,
    };
    if matches {
        Ok(())
    } else {
        Err(format!("expected {want}, got {got:?}"))
    }
}

fn count(want: &Value, got: Option<u64>) -> Result<(), String> {
    if want.as_u64() == got {
        Ok(())
    } else {
        Err(format!("expected {want}, got {got:?}"))
    }
}

fn same(want: &Value, got: &Value) -> Result<(), String> {
    if want == got {
        Ok(())
    } else {
        Err(format!("expected {want}, got {got}"))
    }
}

fn ttft(want: &Value, got: Option<f64>) -> Result<(), String> {
    match (want.as_f64(), got) {
        (Some(want), Some(got)) if (want - got).abs() <= TTFT_TOLERANCE_MS => Ok(()),
        _ => Err(format!(
            "expected {want} ms within {TTFT_TOLERANCE_MS}, got {got:?}"
        )),
    }
}

fn strings(want: &Value, got: &[String]) -> Result<(), String> {
    let got_json = Value::from(got.to_vec());
    same(want, &got_json)
}

fn cost(status: &Value, want_cost: Option<&Value>, actual: &Span) -> Result<(), String> {
    match status.as_str() {
        // A later pricing stage sets the unpriced status; normalization must not report a cost.
        Some("unpriced") => match actual.cost_status {
            Some(CostStatus::Reported) => Err(format!(
                "expected no reported cost, got {:?}",
                actual.cost_usd
            )),
            _ => Ok(()),
        },
        Some("reported") => {
            let want = want_cost.and_then(Value::as_f64);
            let cost_matches = match (want, actual.cost_usd) {
                (Some(want), Some(got)) => (want - got).abs() <= want.abs() * 1e-9,
                _ => false,
            };
            if actual.cost_status == Some(CostStatus::Reported) && cost_matches {
                Ok(())
            } else {
                Err(format!(
                    "expected reported cost {want:?}, got {:?} {:?}",
                    actual.cost_status, actual.cost_usd
                ))
            }
        }
        _ => Err(format!("unknown cost status {status}")),
    }
}

fn messages(want: &Value, got: Option<&[Message]>) -> Result<(), String> {
    let Some(want) = want.as_array() else {
        return Err(format!("expected list is not an array: {want}"));
    };
    let Some(got) = got else {
        return Err(format!("expected {} messages, got none", want.len()));
    };
    let want_roles: Vec<&str> = want
        .iter()
        .filter_map(|message| message["role"].as_str())
        .collect();
    let got_roles: Vec<&str> = got.iter().map(|message| message.role.as_str()).collect();
    if want_roles != got_roles {
        return Err(format!("expected roles {want_roles:?}, got {got_roles:?}"));
    }
    for (index, (want, got)) in want.iter().zip(got).enumerate() {
        message(want, got).map_err(|problem| format!("message {index}: {problem}"))?;
    }
    Ok(())
}

fn message(want: &Value, got: &Message) -> Result<(), String> {
    if let Some(content) = want.get("content")
        && content.as_str() != got.content.as_deref()
    {
        // Content is compared but not shown: only its length goes into the failure.
        return Err(format!(
            "content differs (expected {} chars, got {:?} chars)",
            content.as_str().map_or(0, str::len),
            got.content.as_deref().map(str::len)
        ));
    }
    if let Some(id) = want.get("tool_call_id") {
        text(id, got.tool_call_id.as_deref())
            .map_err(|problem| format!("tool_call_id: {problem}"))?;
    }
    let Some(calls) = want.get("tool_calls").and_then(Value::as_array) else {
        return Ok(());
    };
    if calls.len() != got.tool_calls.len() {
        return Err(format!(
            "expected {} tool calls, got {}",
            calls.len(),
            got.tool_calls.len()
        ));
    }
    for (want, got) in calls.iter().zip(&got.tool_calls) {
        if want["name"].as_str() != Some(got.name.as_str()) {
            return Err(format!(
                "tool call name: expected {}, got {:?}",
                want["name"], got.name
            ));
        }
        if want["arguments"] != arguments_as_json(&got.arguments) {
            return Err(format!("tool call {} arguments differ", got.name));
        }
    }
    Ok(())
}

/// Returns arguments as JSON for comparison, parsing a string that contains JSON.
fn arguments_as_json(arguments: &Value) -> Value {
    match arguments {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| arguments.clone()),
        other => other.clone(),
    }
}

//! Reading of one line of a page: a metadata comment (`# HELP`, `# TYPE`, `# UNIT`, `# EOF`),
//! another comment, or a sample.
//!
//! Both formats share the sample syntax `name{label="value",...} value [timestamp]`. They
//! differ in the timestamp unit (milliseconds in 0.0.4, seconds in OpenMetrics) and in
//! exemplars (`# {labels} value [timestamp]` after an OpenMetrics sample), which are read and
//! dropped. Names may also be quoted, as Prometheus 3 writes UTF-8 names:
//! `{"hw.gpu.utilization",gpu="0"} 0.5`.

use crate::cursor::Cursor;
use crate::family::Sample;
use crate::parse::Format;

/// Maximum length of page text quoted in an error message, in characters.
const MAX_QUOTED_CHARS: usize = 60;

/// The content of one line.
#[derive(Debug, PartialEq)]
pub(crate) enum Line<'a> {
    /// An empty line.
    Blank,
    /// A comment that carries no metadata.
    Comment,
    /// `# HELP name text`.
    Help { name: String, text: String },
    /// `# TYPE name type`.
    Type { name: String, type_word: &'a str },
    /// `# UNIT name unit`.
    Unit { name: String, unit: String },
    /// `# EOF`, the end of an OpenMetrics page.
    Eof,
    /// A sample line.
    Sample(Sample),
}

/// The reason a line could not be read.
#[derive(Debug, PartialEq)]
pub(crate) enum LineError {
    /// The line breaks the format, as the message describes.
    Invalid(String),
    /// The sample has more labels than allowed.
    TooManyLabels { metric: String },
}

impl From<String> for LineError {
    fn from(message: String) -> LineError {
        LineError::Invalid(message)
    }
}

/// Reads one line, without its line break.
pub(crate) fn read_line(
    text: &str,
    format: Format,
    max_labels: usize,
) -> Result<Line<'_>, LineError> {
    let trimmed = text.trim_matches([' ', '\t']);
    if trimmed.is_empty() {
        return Ok(Line::Blank);
    }
    if let Some(comment) = trimmed.strip_prefix('#') {
        return Ok(read_comment(comment)?);
    }
    read_sample(trimmed, format, max_labels).map(Line::Sample)
}

fn read_comment(comment: &str) -> Result<Line<'_>, String> {
    let mut cursor = Cursor::new(comment);
    if !cursor.skip_blanks() {
        return Ok(Line::Comment);
    }
    let keyword = cursor.read_token();
    match keyword {
        "EOF" if cursor.is_at_end() => Ok(Line::Eof),
        "HELP" | "TYPE" | "UNIT" => read_metadata(keyword, &mut cursor),
        _ => Ok(Line::Comment),
    }
}

fn read_metadata<'a>(keyword: &str, cursor: &mut Cursor<'a>) -> Result<Line<'a>, String> {
    if !cursor.skip_blanks() || cursor.is_at_end() {
        return Err(format!("{keyword} line without a metric name"));
    }
    let name = cursor.read_metric_name()?;
    let had_blank = cursor.skip_blanks();
    if !had_blank && !cursor.is_at_end() {
        return Err(format!(
            "invalid metric name {} on a {keyword} line",
            quote(&format!("{name}{}", cursor.rest()))
        ));
    }

    match keyword {
        "HELP" => Ok(Line::Help {
            text: unescape_help(cursor.rest()),
            name,
        }),
        "UNIT" => Ok(Line::Unit {
            unit: cursor.rest().to_owned(),
            name,
        }),
        _ => read_type(name, cursor),
    }
}

fn read_type<'a>(name: String, cursor: &mut Cursor<'a>) -> Result<Line<'a>, String> {
    let type_word = cursor.read_token();
    if type_word.is_empty() {
        return Err(format!("TYPE line for {name} without a type"));
    }
    cursor.skip_blanks();
    if !cursor.is_at_end() {
        return Err(format!(
            "unexpected text {} after the type of {name}",
            quote(cursor.rest())
        ));
    }
    Ok(Line::Type { name, type_word })
}

fn read_sample(text: &str, format: Format, max_labels: usize) -> Result<Sample, LineError> {
    let mut cursor = Cursor::new(text);
    let mut name = if cursor.peek() == Some(b'{') {
        None
    } else {
        Some(cursor.read_metric_name()?)
    };

    let had_blank = cursor.skip_blanks();
    let mut labels = Vec::new();
    if cursor.eat(b'{') {
        read_labels(&mut cursor, &mut name, &mut labels, max_labels)?;
    } else if !had_blank
        && !cursor.is_at_end()
        && let Some(name) = &name
    {
        let token = cursor.read_token();
        return Err(LineError::Invalid(format!(
            "invalid metric name {}",
            quote(&format!("{name}{token}"))
        )));
    }
    let Some(name) = name else {
        return Err(LineError::Invalid(
            "sample without a metric name".to_owned(),
        ));
    };

    let value = read_value(&mut cursor, &name)?;
    let timestamp_ms = read_timestamp(&mut cursor, &name, format)?;
    if format == Format::OpenMetrics && cursor.peek() == Some(b'#') {
        skip_exemplar(&mut cursor, &name)?;
    }
    if !cursor.is_at_end() {
        return Err(LineError::Invalid(format!(
            "unexpected text {} after the value of {name}",
            quote(cursor.rest())
        )));
    }

    Ok(Sample {
        name,
        labels,
        value,
        timestamp_ms,
    })
}

/// Reads the labels after `{` up to and including `}`. A quoted string without `=` is the
/// metric name, in the UTF-8 form.
fn read_labels(
    cursor: &mut Cursor<'_>,
    name: &mut Option<String>,
    labels: &mut Vec<(String, String)>,
    max_labels: usize,
) -> Result<(), LineError> {
    loop {
        cursor.skip_blanks();
        if cursor.eat(b'}') {
            return Ok(());
        }
        let metric = name.as_deref().unwrap_or_default();
        if cursor.is_at_end() {
            return Err(LineError::Invalid(format!(
                "unterminated label set of {metric}: missing }}"
            )));
        }

        let key = cursor.read_label_name(metric)?;
        cursor.skip_blanks();
        if key.quoted && name.is_none() && matches!(cursor.peek(), Some(b',' | b'}')) {
            *name = Some(key.text);
        } else {
            let value = read_label_value(cursor, &key.text, metric)?;
            push_label(labels, key.text, value, metric, max_labels)?;
        }

        cursor.skip_blanks();
        if !cursor.eat(b',') && cursor.peek() != Some(b'}') {
            let metric = name.as_deref().unwrap_or_default();
            return Err(LineError::Invalid(if cursor.is_at_end() {
                format!("unterminated label set of {metric}: missing }}")
            } else {
                format!(
                    "expected , or }} in the labels of {metric}, found {}",
                    quote(cursor.rest())
                )
            }));
        }
    }
}

fn read_label_value(cursor: &mut Cursor<'_>, key: &str, metric: &str) -> Result<String, String> {
    if !cursor.eat(b'=') {
        return Err(format!("label {key} of {metric} has no = and value"));
    }
    cursor.skip_blanks();
    if !cursor.eat(b'"') {
        return Err(format!("value of label {key} of {metric} is not quoted"));
    }
    cursor.read_quoted().ok_or_else(|| {
        format!("unterminated value of label {key} of {metric}: missing closing quote")
    })
}

fn push_label(
    labels: &mut Vec<(String, String)>,
    key: String,
    value: String,
    metric: &str,
    max_labels: usize,
) -> Result<(), LineError> {
    if labels.iter().any(|(existing, _)| *existing == key) {
        return Err(LineError::Invalid(format!(
            "duplicate label {key} on {metric}"
        )));
    }
    if labels.len() >= max_labels {
        return Err(LineError::TooManyLabels {
            metric: metric.to_owned(),
        });
    }
    labels.push((key, value));
    Ok(())
}

fn read_value(cursor: &mut Cursor<'_>, name: &str) -> Result<f64, String> {
    cursor.skip_blanks();
    let token = cursor.read_token();
    if token.is_empty() {
        return Err(format!("missing value for {name}"));
    }
    parse_float(token).ok_or_else(|| format!("invalid value {} for {name}", quote(token)))
}

/// Reads the optional timestamp and converts it to milliseconds.
fn read_timestamp(
    cursor: &mut Cursor<'_>,
    name: &str,
    format: Format,
) -> Result<Option<i64>, String> {
    cursor.skip_blanks();
    if cursor.is_at_end() || cursor.peek() == Some(b'#') {
        return Ok(None);
    }
    let token = cursor.read_token();
    let milliseconds = match format {
        Format::Prometheus => token.parse::<i64>().ok(),
        Format::OpenMetrics => parse_float(token).and_then(seconds_to_milliseconds),
    };
    cursor.skip_blanks();
    milliseconds
        .map(Some)
        .ok_or_else(|| format!("invalid timestamp {} for {name}", quote(token)))
}

fn seconds_to_milliseconds(seconds: f64) -> Option<i64> {
    let milliseconds = (seconds * 1000.0).round();
    // Bounds are exclusive because i64::MAX is not exactly representable as a float.
    let in_range = milliseconds > i64::MIN as f64 && milliseconds < i64::MAX as f64;
    in_range.then_some(milliseconds as i64)
}

/// Reads an OpenMetrics exemplar, `# {labels} value [timestamp]`, and drops it.
fn skip_exemplar(cursor: &mut Cursor<'_>, name: &str) -> Result<(), LineError> {
    cursor.eat(b'#');
    cursor.skip_blanks();
    if !cursor.eat(b'{') {
        return Err(LineError::Invalid(format!(
            "invalid exemplar on {name}: missing {{"
        )));
    }
    let mut exemplar_name = Some(name.to_owned());
    let mut labels = Vec::new();
    read_labels(cursor, &mut exemplar_name, &mut labels, usize::MAX)?;
    read_value(cursor, name)?;
    read_timestamp(cursor, name, Format::OpenMetrics)?;
    Ok(())
}

/// Parses a sample value. Rust's float syntax accepts the spellings both formats use
/// (`NaN`, `+Inf`, `-Inf`, exponents) and also `inf` and `infinity` in any case, as Go's
/// `strconv.ParseFloat` in the Prometheus server does. Go also reads hexadecimal floats,
/// which no exporter writes and this parser rejects.
pub(crate) fn parse_float(token: &str) -> Option<f64> {
    token.parse::<f64>().ok()
}

/// Unescapes `\\`, `\n` and (OpenMetrics) `\"` in HELP text; other backslashes stay.
fn unescape_help(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            output.push(character);
            continue;
        }
        match characters.next() {
            Some('n') => output.push('\n'),
            Some('\\') => output.push('\\'),
            Some('"') => output.push('"'),
            Some(other) => {
                output.push('\\');
                output.push(other);
            }
            None => output.push('\\'),
        }
    }
    output
}

/// Quotes page text for an error message, cut to [`MAX_QUOTED_CHARS`] characters.
pub(crate) fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    format!("{cut:?}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str) -> Sample {
        match read_line(text, Format::Prometheus, 64) {
            Ok(Line::Sample(sample)) => sample,
            other => panic!("expected a sample from {text:?}, got {other:?}"),
        }
    }

    fn error(text: &str, format: Format) -> String {
        match read_line(text, format, 64) {
            Err(LineError::Invalid(message)) => message,
            other => panic!("expected an error from {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn sample_without_labels() {
        let sample = sample("tgi_queue_size 2");
        assert_eq!(sample.name, "tgi_queue_size");
        assert!(sample.labels.is_empty());
        assert_eq!(sample.value, 2.0);
        assert_eq!(sample.timestamp_ms, None);
    }

    #[test]
    fn sample_with_labels_and_timestamp() {
        let sample =
            sample(r#"vllm:num_requests_running{engine="0",model_name="m"} 3.0 1730123456789"#);
        assert_eq!(sample.name, "vllm:num_requests_running");
        assert_eq!(
            sample.labels,
            vec![
                ("engine".to_owned(), "0".to_owned()),
                ("model_name".to_owned(), "m".to_owned())
            ]
        );
        assert_eq!(sample.value, 3.0);
        assert_eq!(sample.timestamp_ms, Some(1_730_123_456_789));
    }

    #[test]
    fn label_value_escapes() {
        let sample = sample(r#"m{a="say \"hi\"",b="C:\\dir",c="one\ntwo",d="keep \t"} 1"#);
        assert_eq!(sample.label("a"), Some("say \"hi\""));
        assert_eq!(sample.label("b"), Some("C:\\dir"));
        assert_eq!(sample.label("c"), Some("one\ntwo"));
        assert_eq!(sample.label("d"), Some("keep \\t"));
    }

    #[test]
    fn label_value_with_braces_commas_and_unicode() {
        let sample = sample(r#"m{path="/a,b}{c",name="température"} 1"#);
        assert_eq!(sample.label("path"), Some("/a,b}{c"));
        assert_eq!(sample.label("name"), Some("température"));
    }

    #[test]
    fn blanks_and_trailing_comma_in_labels() {
        let sample = sample("m { a = \"1\" ,\tb=\"2\", } \t 4.5");
        assert_eq!(sample.labels.len(), 2);
        assert_eq!(sample.label("b"), Some("2"));
        assert_eq!(sample.value, 4.5);
    }

    #[test]
    fn empty_label_set_and_no_blank_after_brace() {
        let sample = sample("m{}7");
        assert!(sample.labels.is_empty());
        assert_eq!(sample.value, 7.0);
    }

    #[test]
    fn special_values() {
        assert!(sample("m NaN").value.is_nan());
        assert_eq!(sample("m +Inf").value, f64::INFINITY);
        assert_eq!(sample("m -Inf").value, f64::NEG_INFINITY);
        assert_eq!(sample("m 1.5e+09").value, 1.5e9);
        assert_eq!(sample("m -0.25").value, -0.25);
        assert_eq!(sample("m +3").value, 3.0);
    }

    #[test]
    fn quoted_utf8_names() {
        let sample = sample(r#"{"hw.gpu.utilization","hw.id"="GPU-1",gpu="0"} 0.5"#);
        assert_eq!(sample.name, "hw.gpu.utilization");
        assert_eq!(sample.label("hw.id"), Some("GPU-1"));
        assert_eq!(sample.label("gpu"), Some("0"));

        let line = read_line(
            r#"# TYPE "hw.gpu.utilization" gauge"#,
            Format::Prometheus,
            64,
        )
        .unwrap();
        assert_eq!(
            line,
            Line::Type {
                name: "hw.gpu.utilization".to_owned(),
                type_word: "gauge"
            }
        );
    }

    #[test]
    fn openmetrics_timestamp_in_seconds() {
        let Ok(Line::Sample(sample)) =
            read_line("m_total 5 1730123456.789", Format::OpenMetrics, 64)
        else {
            panic!("expected a sample");
        };
        assert_eq!(sample.timestamp_ms, Some(1_730_123_456_789));
    }

    #[test]
    fn openmetrics_exemplar_is_dropped() {
        let text = r#"m_bucket{le="0.5"} 12 # {trace_id="4bf92f3577b34da6"} 0.43 1730123456.1"#;
        let Ok(Line::Sample(sample)) = read_line(text, Format::OpenMetrics, 64) else {
            panic!("expected a sample");
        };
        assert_eq!(sample.value, 12.0);
        assert_eq!(sample.label("le"), Some("0.5"));
        assert_eq!(sample.timestamp_ms, None);

        let message = error(r#"m_total 1 # {trace_id="a" 0.4"#, Format::OpenMetrics);
        assert!(message.contains("expected , or }"), "{message}");
    }

    #[test]
    fn exemplar_is_rejected_in_prometheus_format() {
        let message = error(r#"m_total 1 # {trace_id="a"} 1"#, Format::Prometheus);
        assert!(message.contains("unexpected text"), "{message}");
    }

    #[test]
    fn metadata_lines() {
        let line = read_line(r"# HELP m Line one\nC:\\path \x", Format::Prometheus, 64).unwrap();
        assert_eq!(
            line,
            Line::Help {
                name: "m".to_owned(),
                text: "Line one\nC:\\path \\x".to_owned()
            }
        );
        let line = read_line("# TYPE m counter", Format::Prometheus, 64).unwrap();
        assert_eq!(
            line,
            Line::Type {
                name: "m".to_owned(),
                type_word: "counter"
            }
        );
        let line = read_line("# UNIT m_seconds seconds", Format::OpenMetrics, 64).unwrap();
        assert_eq!(
            line,
            Line::Unit {
                name: "m_seconds".to_owned(),
                unit: "seconds".to_owned()
            }
        );
        assert_eq!(
            read_line("# HELP m", Format::Prometheus, 64).unwrap(),
            Line::Help {
                name: "m".to_owned(),
                text: String::new()
            }
        );
        assert_eq!(
            read_line("# EOF", Format::OpenMetrics, 64).unwrap(),
            Line::Eof
        );
        assert_eq!(
            read_line("#HELP m text", Format::Prometheus, 64).unwrap(),
            Line::Comment
        );
        assert_eq!(
            read_line("# some comment", Format::Prometheus, 64).unwrap(),
            Line::Comment
        );
        assert_eq!(
            read_line("  \t", Format::Prometheus, 64).unwrap(),
            Line::Blank
        );
    }

    #[test]
    fn malformed_metadata() {
        assert_eq!(
            error("# TYPE m", Format::Prometheus),
            "TYPE line for m without a type"
        );
        assert_eq!(
            error("# HELP", Format::Prometheus),
            "HELP line without a metric name"
        );
        assert_eq!(
            error("# TYPE m gauge extra", Format::Prometheus),
            "unexpected text \"extra\" after the type of m"
        );
        assert!(error("# TYPE 1m gauge", Format::Prometheus).contains("invalid metric name"));
    }

    #[test]
    fn malformed_samples() {
        let cases = [
            (
                "vllm:num_requests_running abc",
                "invalid value \"abc\" for vllm:num_requests_running",
            ),
            ("m", "missing value for m"),
            ("m{a=\"1\"}", "missing value for m"),
            (
                "m{a=\"1} 5",
                "unterminated value of label a of m: missing closing quote",
            ),
            (
                "m{a=\"1\" 5",
                "expected , or } in the labels of m, found \"5\"",
            ),
            ("m{a=\"1\",", "unterminated label set of m: missing }"),
            ("m{a=1} 5", "value of label a of m is not quoted"),
            ("m{a} 5", "label a of m has no = and value"),
            ("m{a=\"1\",a=\"2\"} 5", "duplicate label a on m"),
            (
                "m{1a=\"1\"} 5",
                "invalid label name at \"1a=\\\"1\\\"} 5\" on m",
            ),
            ("m 1 2 3", "unexpected text \"3\" after the value of m"),
            ("m 1 1.5", "invalid timestamp \"1.5\" for m"),
            ("{a=\"1\"} 5", "sample without a metric name"),
            ("9m 1", "invalid metric name \"9m\""),
            ("m-x 1", "invalid metric name \"m-x\""),
        ];
        for (text, expected) in cases {
            assert_eq!(error(text, Format::Prometheus), expected, "{text}");
        }
    }

    #[test]
    fn label_limit() {
        let result = read_line("m{a=\"1\",b=\"2\",c=\"3\"} 1", Format::Prometheus, 2);
        assert_eq!(
            result,
            Err(LineError::TooManyLabels {
                metric: "m".to_owned()
            })
        );
        assert!(read_line("m{a=\"1\",b=\"2\"} 1", Format::Prometheus, 2).is_ok());
    }

    #[test]
    fn long_text_is_cut_in_messages() {
        let value = "x".repeat(500);
        let message = error(&format!("m {value}"), Format::Prometheus);
        assert!(message.len() < 120, "{message}");
        assert!(message.ends_with("... for m"), "{message}");
    }
}

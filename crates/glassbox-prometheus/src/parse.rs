//! The page parser: checks the limits, reads every line, then sorts the samples into families.
//!
//! Samples are sorted into families only after the whole page is read, so a sample may come
//! before the `# TYPE` line of its family. A sample belongs to the family declared with its
//! exact name. Failing that, it belongs to the family whose name it extends by a suffix that
//! the family's type allows (`_bucket`, `_sum`, `_count`, `_total`, `_created`, ...). Any
//! other sample forms an untyped family of its own name.
//!
//! NOTE: unlike the Prometheus server, the parser accepts a page that repeats a series (same
//! name and labels) and keeps every copy. Each copy becomes points of its own, and only the
//! first copy gets a rate.

use std::collections::HashMap;

use crate::error::ParseError;
use crate::family::{Exposition, Family, FamilyKind, Sample};
use crate::limits::Limits;
use crate::line::{Line, LineError, parse_float, quote, read_line};

/// The text format of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4: timestamps in milliseconds, no `# EOF`.
    Prometheus,
    /// OpenMetrics 1.0 text: timestamps in seconds, exemplars, `# UNIT`, ends with `# EOF`.
    OpenMetrics,
}

impl Format {
    /// Guesses the format from the page: OpenMetrics when the last line is `# EOF`.
    pub fn detect(text: &str) -> Format {
        let last_line = text.trim_end().rsplit('\n').next().unwrap_or_default();
        if last_line.trim() == "# EOF" {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// Returns the format named by a `Content-Type` header, or `None` for other media types.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
            Some(Format::OpenMetrics)
        } else if media_type.eq_ignore_ascii_case("text/plain") {
            Some(Format::Prometheus)
        } else {
            None
        }
    }
}

/// Parses a page, detecting its format with [`Format::detect`].
///
/// # Errors
///
/// Returns [`ParseError`] naming the first faulty line, or the limit the page exceeds.
pub fn parse(text: &str, limits: &Limits) -> Result<Exposition, ParseError> {
    parse_with_format(text, Format::detect(text), limits)
}

/// Parses a page in a known format, for example from the scrape's `Content-Type`. An
/// OpenMetrics page must end with `# EOF`, which catches truncated pages.
///
/// # Errors
///
/// Returns [`ParseError`] naming the first faulty line, or the limit the page exceeds.
pub fn parse_with_format(
    text: &str,
    format: Format,
    limits: &Limits,
) -> Result<Exposition, ParseError> {
    if text.len() > limits.max_bytes {
        return Err(ParseError::PageTooLarge {
            size: text.len(),
            limit: limits.max_bytes,
        });
    }

    let mut builder = Builder::default();
    let mut eof_line = None;
    let mut line_count = 0;
    for (index, raw_line) in text.split('\n').enumerate() {
        let number = index + 1;
        line_count = number;
        let content = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if content.len() > limits.max_line_bytes {
            return Err(ParseError::LineTooLong {
                line: number,
                size: content.len(),
                limit: limits.max_line_bytes,
            });
        }

        let line = read_line(content, format, limits.max_labels)
            .map_err(|error| line_error(number, error, limits))?;
        if let Some(eof) = eof_line
            && line != Line::Blank
        {
            return Err(invalid(
                number,
                format!("unexpected content after # EOF on line {eof}"),
            ));
        }
        match line {
            Line::Eof => eof_line = Some(number),
            Line::Sample(sample) => builder.add_sample(number, sample, limits)?,
            other => builder.add_metadata(number, other)?,
        }
    }

    if format == Format::OpenMetrics && eof_line.is_none() {
        return Err(invalid(
            line_count,
            "missing # EOF at the end of an OpenMetrics page; the page may be truncated".to_owned(),
        ));
    }
    builder.finish()
}

fn line_error(line: usize, error: LineError, limits: &Limits) -> ParseError {
    match error {
        LineError::Invalid(message) => invalid(line, message),
        LineError::TooManyLabels { metric } => ParseError::TooManyLabels {
            line,
            metric,
            limit: limits.max_labels,
        },
    }
}

fn invalid(line: usize, message: String) -> ParseError {
    ParseError::Invalid { line, message }
}

/// The metadata lines a family has had, to reject duplicates.
#[derive(Debug, Default)]
struct Declared {
    type_line: Option<usize>,
    help_line: Option<usize>,
    unit_line: Option<usize>,
}

/// Families as metadata lines declare them, and samples waiting to be sorted into them.
#[derive(Default)]
struct Builder {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    declared: Vec<Declared>,
    samples: Vec<(usize, Sample)>,
}

impl Builder {
    fn add_sample(
        &mut self,
        line: usize,
        sample: Sample,
        limits: &Limits,
    ) -> Result<(), ParseError> {
        if self.samples.len() >= limits.max_samples {
            return Err(ParseError::TooManySamples {
                line,
                limit: limits.max_samples,
            });
        }
        self.samples.push((line, sample));
        Ok(())
    }

    fn add_metadata(&mut self, line: usize, metadata: Line<'_>) -> Result<(), ParseError> {
        match metadata {
            Line::Help { name, text } => {
                let index = self.declare(name, line, |declared| &mut declared.help_line, "HELP")?;
                self.families[index].help = Some(text);
            }
            Line::Unit { name, unit } => {
                let index = self.declare(name, line, |declared| &mut declared.unit_line, "UNIT")?;
                self.families[index].unit = Some(unit);
            }
            Line::Type { name, type_word } => {
                let kind = FamilyKind::from_type_word(type_word).ok_or_else(|| {
                    invalid(
                        line,
                        format!(
                            "unknown metric type {} for {name}; expected counter, gauge, histogram, \
                             gaugehistogram, summary, info, stateset, untyped or unknown",
                            quote(type_word)
                        ),
                    )
                })?;
                let index = self.declare(name, line, |declared| &mut declared.type_line, "TYPE")?;
                self.families[index].kind = kind;
            }
            Line::Blank | Line::Comment | Line::Eof | Line::Sample(_) => {}
        }
        Ok(())
    }

    /// Finds or creates the family `name` and records the metadata line, rejecting a second
    /// line of the same keyword.
    fn declare(
        &mut self,
        name: String,
        line: usize,
        slot: impl Fn(&mut Declared) -> &mut Option<usize>,
        keyword: &str,
    ) -> Result<usize, ParseError> {
        let index = self.family_index(name);
        let previous = slot(&mut self.declared[index]);
        if let Some(first) = *previous {
            let name = &self.families[index].name;
            return Err(invalid(
                line,
                format!("duplicate {keyword} line for {name}, first on line {first}"),
            ));
        }
        *previous = Some(line);
        Ok(index)
    }

    fn family_index(&mut self, name: String) -> usize {
        if let Some(&index) = self.by_name.get(&name) {
            return index;
        }
        let index = self.families.len();
        self.by_name.insert(name.clone(), index);
        self.families.push(Family::new(name, FamilyKind::Untyped));
        self.declared.push(Declared::default());
        index
    }

    /// Sorts the samples into families and checks the labels their types require.
    fn finish(mut self) -> Result<Exposition, ParseError> {
        let samples = std::mem::take(&mut self.samples);
        for (line, sample) in samples {
            let index = self.resolve(&sample.name);
            let family = &self.families[index];
            check_sample(family, &sample).map_err(|message| invalid(line, message))?;
            self.families[index].samples.push(sample);
        }
        Ok(Exposition {
            families: self.families,
        })
    }

    /// Returns the index of the family a sample name belongs to, creating an untyped family
    /// when no declared family claims it.
    fn resolve(&mut self, sample_name: &str) -> usize {
        if let Some(&index) = self.by_name.get(sample_name) {
            return index;
        }
        let claimed = SUFFIXES.iter().find_map(|suffix| {
            let base = sample_name.strip_suffix(suffix)?;
            let &index = self.by_name.get(base)?;
            let family = &self.families[index];
            family
                .kind
                .sample_suffixes()
                .contains(suffix)
                .then_some(index)
        });
        claimed.unwrap_or_else(|| self.family_index(sample_name.to_owned()))
    }
}

/// Every suffix a family type allows, for [`Builder::resolve`].
const SUFFIXES: &[&str] = &[
    "_bucket", "_sum", "_count", "_total", "_created", "_gsum", "_gcount", "_info",
];

/// Checks that a sample fits its family: histogram buckets need a numeric `le`, summary
/// quantiles a numeric `quantile`, and histograms have no sample without a suffix.
fn check_sample(family: &Family, sample: &Sample) -> Result<(), String> {
    let bare = sample.name == family.name;
    if bare && !family.kind.allows_bare_sample() {
        return Err(format!(
            "sample {} of histogram {} has no _bucket, _sum or _count suffix",
            sample.name, family.name
        ));
    }

    let is_bucket = sample.name.len() == family.name.len() + "_bucket".len()
        && sample.name.ends_with("_bucket");
    let required = match family.kind {
        FamilyKind::Histogram | FamilyKind::GaugeHistogram if is_bucket => "le",
        FamilyKind::Summary if bare => "quantile",
        _ => return Ok(()),
    };
    match sample.label(required) {
        Some(text) if parse_float(text).is_some() => Ok(()),
        Some(text) => Err(format!(
            "invalid {required} label {} on {}",
            quote(text),
            sample.name
        )),
        None => Err(format!("missing {required} label on {}", sample.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_page(text: &str) -> Result<Exposition, ParseError> {
        parse(text, &Limits::default())
    }

    fn message(result: Result<Exposition, ParseError>) -> String {
        match result {
            Err(error) => error.to_string(),
            Ok(exposition) => panic!("expected an error, parsed {exposition:?}"),
        }
    }

    #[test]
    fn families_group_histogram_samples() {
        let page = "\
# HELP latency_seconds Request latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{le=\"0.5\"} 3
latency_seconds_bucket{le=\"+Inf\"} 4
latency_seconds_sum 1.5
latency_seconds_count 4
# TYPE up gauge
up 1
";
        let exposition = parse_page(page).unwrap();
        assert_eq!(exposition.families.len(), 2);
        let latency = exposition.family("latency_seconds").unwrap();
        assert_eq!(latency.kind, FamilyKind::Histogram);
        assert_eq!(latency.help.as_deref(), Some("Request latency."));
        assert_eq!(latency.samples.len(), 4);
        assert_eq!(exposition.family("up").unwrap().samples[0].value, 1.0);
    }

    #[test]
    fn sample_before_its_type_line() {
        let page = "requests_total 5\n# TYPE requests_total counter\n";
        let exposition = parse_page(page).unwrap();
        assert_eq!(exposition.families.len(), 1);
        assert_eq!(exposition.families[0].kind, FamilyKind::Counter);
        assert_eq!(exposition.families[0].samples.len(), 1);
    }

    #[test]
    fn undeclared_samples_are_untyped_families() {
        let exposition = parse_page("a 1\nb{x=\"1\"} 2\nb{x=\"2\"} 3\n").unwrap();
        let names: Vec<&str> = exposition
            .families
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(
            exposition
                .families
                .iter()
                .all(|f| f.kind == FamilyKind::Untyped)
        );
        assert_eq!(exposition.family("b").unwrap().samples.len(), 2);
    }

    #[test]
    fn suffix_needs_a_matching_type() {
        let page = "# TYPE jobs gauge\njobs_count 3\n";
        let exposition = parse_page(page).unwrap();
        assert_eq!(
            exposition.family("jobs_count").unwrap().kind,
            FamilyKind::Untyped
        );
        assert!(exposition.family("jobs").unwrap().samples.is_empty());
    }

    #[test]
    fn openmetrics_counter_and_created() {
        let page = "\
# TYPE tokens counter
# UNIT tokens tokens
tokens_total 10 1730123456.5
tokens_created 1730000000.25
# EOF
";
        let exposition = parse_page(page).unwrap();
        let tokens = exposition.family("tokens").unwrap();
        assert_eq!(tokens.kind, FamilyKind::Counter);
        assert_eq!(tokens.unit.as_deref(), Some("tokens"));
        assert_eq!(tokens.samples.len(), 2);
        assert_eq!(tokens.samples[0].timestamp_ms, Some(1_730_123_456_500));
    }

    #[test]
    fn openmetrics_needs_eof_when_declared() {
        let page = "# TYPE up gauge\nup 1\n";
        let result = parse_with_format(page, Format::OpenMetrics, &Limits::default());
        assert_eq!(
            message(result),
            "line 3: missing # EOF at the end of an OpenMetrics page; the page may be truncated"
        );
    }

    #[test]
    fn content_after_eof() {
        let result = parse_page("up 1\n# EOF\nup 2\n");
        assert_eq!(
            message(result),
            "line 3: unexpected content after # EOF on line 2"
        );
    }

    #[test]
    fn duplicate_metadata() {
        let result = parse_page("# TYPE up gauge\nup 1\n# TYPE up counter\n");
        assert_eq!(
            message(result),
            "line 3: duplicate TYPE line for up, first on line 1"
        );
        let result = parse_page("# HELP up a\n# HELP up b\n");
        assert_eq!(
            message(result),
            "line 2: duplicate HELP line for up, first on line 1"
        );
    }

    #[test]
    fn unknown_type() {
        let result = parse_page("# TYPE up timer\n");
        assert!(message(result).starts_with("line 1: unknown metric type \"timer\" for up;"));
    }

    #[test]
    fn histogram_sample_checks() {
        let result = parse_page("# TYPE h histogram\nh_bucket 1\n");
        assert_eq!(message(result), "line 2: missing le label on h_bucket");
        let result = parse_page("# TYPE h histogram\nh_bucket{le=\"big\"} 1\n");
        assert_eq!(
            message(result),
            "line 2: invalid le label \"big\" on h_bucket"
        );
        let result = parse_page("# TYPE h histogram\nh 1\n");
        assert_eq!(
            message(result),
            "line 2: sample h of histogram h has no _bucket, _sum or _count suffix"
        );
        let result = parse_page("# TYPE s summary\ns 1\n");
        assert_eq!(message(result), "line 2: missing quantile label on s");
    }

    #[test]
    fn carriage_returns_and_blank_lines() {
        let exposition = parse_page("# TYPE up gauge\r\n\r\nup 1\r\n").unwrap();
        assert_eq!(exposition.family("up").unwrap().samples[0].value, 1.0);
    }

    #[test]
    fn format_detection() {
        assert_eq!(Format::detect("up 1\n# EOF\n"), Format::OpenMetrics);
        assert_eq!(Format::detect("up 1\n# EOF"), Format::OpenMetrics);
        assert_eq!(Format::detect("up 1\n"), Format::Prometheus);
        assert_eq!(Format::detect(""), Format::Prometheus);
        assert_eq!(
            Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Some(Format::OpenMetrics)
        );
        assert_eq!(
            Format::from_content_type("text/plain; version=0.0.4"),
            Some(Format::Prometheus)
        );
        assert_eq!(Format::from_content_type("application/json"), None);
    }

    #[test]
    fn limits_name_the_line() {
        let limits = Limits {
            max_samples: 2,
            max_line_bytes: 20,
            max_labels: 1,
            ..Limits::default()
        };
        let result = parse("a 1\nb 2\nc 3\n", &limits);
        assert_eq!(
            result,
            Err(ParseError::TooManySamples { line: 3, limit: 2 })
        );
        let result = parse("a 1\nlong_metric_name_here 1\n", &limits);
        assert_eq!(
            result,
            Err(ParseError::LineTooLong {
                line: 2,
                size: 23,
                limit: 20
            })
        );
        let result = parse("a{x=\"1\",y=\"2\"} 1\n", &limits);
        assert_eq!(
            result,
            Err(ParseError::TooManyLabels {
                line: 1,
                metric: "a".to_owned(),
                limit: 1
            })
        );
        let result = parse(
            &"a 1\n".repeat(10),
            &Limits {
                max_bytes: 39,
                ..Limits::default()
            },
        );
        assert_eq!(
            result,
            Err(ParseError::PageTooLarge {
                size: 40,
                limit: 39
            })
        );
    }
}

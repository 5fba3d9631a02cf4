//! The parsed page: metric families and their samples, as the exposition formats define them.

/// A parsed exposition page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// The metric families, in the order the page first mentions them.
    pub families: Vec<Family>,
}

impl Exposition {
    /// Returns the family with this name, if the page has one.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|family| family.name == name)
    }

    /// Returns every sample of the page, family by family.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.families.iter().flat_map(|family| &family.samples)
    }
}

/// One metric family: the samples that share a `# TYPE` line, or one untyped metric name.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The name on the `# TYPE` line, or the sample name of an untyped metric.
    pub name: String,
    /// The declared type; `Untyped` when the page declares none.
    pub kind: FamilyKind,
    /// The `# HELP` text, unescaped.
    pub help: Option<String>,
    /// The OpenMetrics `# UNIT` value.
    pub unit: Option<String>,
    /// The samples, in page order. Histogram and summary samples keep their `_bucket`, `_sum`,
    /// `_count` and `_created` names and their `le` and `quantile` labels.
    pub samples: Vec<Sample>,
}

impl Family {
    pub(crate) fn new(name: String, kind: FamilyKind) -> Family {
        Family {
            name,
            kind,
            help: None,
            unit: None,
            samples: Vec::new(),
        }
    }
}

/// The type of a metric family, from Prometheus 0.0.4 and OpenMetrics 1.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FamilyKind {
    /// A monotonic count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets with `_bucket{le}`, `_sum` and `_count`.
    Histogram,
    /// An OpenMetrics histogram of current values, with `_gsum` and `_gcount`.
    GaugeHistogram,
    /// Client-side quantiles with `_sum` and `_count`.
    Summary,
    /// OpenMetrics labels published as a `_info` sample of value 1.
    Info,
    /// OpenMetrics set of boolean states.
    StateSet,
    /// No type declared, or `untyped` (0.0.4) or `unknown` (OpenMetrics).
    Untyped,
}

impl FamilyKind {
    /// Parses the type word of a `# TYPE` line.
    pub fn from_type_word(word: &str) -> Option<FamilyKind> {
        let kind = match word {
            "counter" => FamilyKind::Counter,
            "gauge" => FamilyKind::Gauge,
            "histogram" => FamilyKind::Histogram,
            "gaugehistogram" => FamilyKind::GaugeHistogram,
            "summary" => FamilyKind::Summary,
            "info" => FamilyKind::Info,
            "stateset" => FamilyKind::StateSet,
            "untyped" | "unknown" => FamilyKind::Untyped,
            _ => return None,
        };
        Some(kind)
    }

    /// Returns the suffixes that samples of this family may add to the family name.
    pub(crate) fn sample_suffixes(self) -> &'static [&'static str] {
        match self {
            FamilyKind::Counter => &["_total", "_created"],
            FamilyKind::Histogram => &["_bucket", "_sum", "_count", "_created"],
            FamilyKind::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            FamilyKind::Summary => &["_sum", "_count", "_created"],
            FamilyKind::Info => &["_info"],
            FamilyKind::Gauge | FamilyKind::StateSet | FamilyKind::Untyped => &[],
        }
    }

    /// Returns true when a sample named exactly like the family is valid. Histograms only
    /// have suffixed samples.
    pub(crate) fn allows_bare_sample(self) -> bool {
        !matches!(self, FamilyKind::Histogram | FamilyKind::GaugeHistogram)
    }
}

/// One sample line: a metric name, its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name as written, with any `_total`, `_bucket`, `_sum` or `_count` suffix.
    pub name: String,
    /// The labels in page order, values unescaped.
    pub labels: Vec<(String, String)>,
    /// The value; `NaN` and infinities as written.
    pub value: f64,
    /// The sample timestamp in milliseconds since the Unix epoch. OpenMetrics writes seconds,
    /// which the parser converts.
    pub timestamp_ms: Option<i64>,
}

impl Sample {
    /// Returns the value of a label.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_words_of_both_formats() {
        assert_eq!(
            FamilyKind::from_type_word("counter"),
            Some(FamilyKind::Counter)
        );
        assert_eq!(
            FamilyKind::from_type_word("untyped"),
            Some(FamilyKind::Untyped)
        );
        assert_eq!(
            FamilyKind::from_type_word("unknown"),
            Some(FamilyKind::Untyped)
        );
        assert_eq!(
            FamilyKind::from_type_word("gaugehistogram"),
            Some(FamilyKind::GaugeHistogram)
        );
        assert_eq!(FamilyKind::from_type_word("Counter"), None);
        assert_eq!(FamilyKind::from_type_word("timer"), None);
    }
}

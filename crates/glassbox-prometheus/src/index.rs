//! Lookup of a page's samples by name and label set, for the canonical rules and for the
//! `_created` timestamps of counters and histograms.

use std::collections::HashMap;

use crate::family::{Exposition, Sample};

/// A label set as a lookup key: sorted pairs, without the labels a caller skips.
pub(crate) type LabelKey<'a> = Vec<(&'a str, &'a str)>;

/// Builds the lookup key of a sample's labels, leaving out `skip` (such as `le`).
pub(crate) fn label_key<'a>(sample: &'a Sample, skip: &[&str]) -> LabelKey<'a> {
    let mut key: LabelKey<'a> = sample
        .labels
        .iter()
        .filter(|(name, _)| !skip.contains(&name.as_str()))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    key.sort_unstable();
    key
}

/// The samples of one page by name, whatever family they were sorted into.
pub(crate) struct SampleIndex<'a> {
    by_name: HashMap<&'a str, Vec<&'a Sample>>,
    created: HashMap<(&'a str, LabelKey<'a>), f64>,
}

impl<'a> SampleIndex<'a> {
    pub(crate) fn new(exposition: &'a Exposition) -> SampleIndex<'a> {
        let mut by_name: HashMap<&'a str, Vec<&'a Sample>> = HashMap::new();
        let mut created = HashMap::new();
        for sample in exposition.samples() {
            by_name
                .entry(sample.name.as_str())
                .or_default()
                .push(sample);
            if let Some(base) = sample.name.strip_suffix("_created") {
                created.insert((base, label_key(sample, &[])), sample.value);
            }
        }
        SampleIndex { by_name, created }
    }

    /// Returns the samples named `name`.
    pub(crate) fn samples(&self, name: &str) -> &[&'a Sample] {
        self.by_name
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Returns the samples of the counter `base`, exposed as `base_total` or as `base`.
    pub(crate) fn counter(&self, base: &str) -> &[&'a Sample] {
        let with_suffix = self.samples(&format!("{base}_total"));
        if with_suffix.is_empty() {
            self.samples(base)
        } else {
            with_suffix
        }
    }

    /// Returns true when the counter `base` is on the page, with or without `_total`.
    pub(crate) fn has_counter(&self, base: &str) -> bool {
        !self.counter(base).is_empty()
    }

    /// Returns the `base_created` value for these labels: when the counter, histogram or
    /// summary `base` started, in seconds since the Unix epoch.
    pub(crate) fn created(&self, base: &str, labels: &LabelKey<'_>) -> Option<f64> {
        let key: (&str, LabelKey<'_>) = (base, labels.clone());
        self.created.get(&key).copied()
    }

    /// Returns the samples named `name` keyed by their label set, to join two metrics.
    pub(crate) fn by_labels(&self, name: &str) -> HashMap<LabelKey<'a>, &'a Sample> {
        by_labels(self.samples(name))
    }
}

/// Returns samples keyed by their label set, to join two metrics.
pub(crate) fn by_labels<'a>(samples: &[&'a Sample]) -> HashMap<LabelKey<'a>, &'a Sample> {
    samples
        .iter()
        .map(|sample| (label_key(sample, &[]), *sample))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, parse};

    #[test]
    fn counter_with_and_without_total() {
        let exposition = parse("a_total 1\nb 2\n", &Limits::default()).unwrap();
        let index = SampleIndex::new(&exposition);
        assert_eq!(index.counter("a")[0].value, 1.0);
        assert_eq!(index.counter("b")[0].value, 2.0);
        assert!(index.counter("c").is_empty());
        assert!(!index.has_counter("c"));
    }

    #[test]
    fn created_matches_labels_in_any_order() {
        let page = "x_total{a=\"1\",b=\"2\"} 5\nx_created{b=\"2\",a=\"1\"} 1700000000.5\n";
        let exposition = parse(page, &Limits::default()).unwrap();
        let index = SampleIndex::new(&exposition);
        let sample = index.counter("x")[0];
        assert_eq!(
            index.created("x", &label_key(sample, &[])),
            Some(1_700_000_000.5)
        );
        assert_eq!(index.created("x", &vec![("a", "1")]), None);
    }
}

//! Histogram series: grouping `_bucket`, `_sum` and `_count` samples by label set, OTLP
//! per-bucket counts, and percentiles of the increase between two scrapes.

use std::collections::HashMap;

use crate::family::Sample;
use crate::index::{LabelKey, label_key};
use crate::line::parse_float;

/// One histogram series: the samples of a histogram that share every label but `le`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series<'a> {
    /// The labels, without `le`, in the order of the first sample.
    pub(crate) labels: Vec<(&'a str, &'a str)>,
    /// Cumulative buckets, sorted by upper bound; the last bound is `+Inf` when the page
    /// has that bucket or a `_count`.
    pub(crate) buckets: Cumulative,
    /// The `_sum` (or `_gsum`) value.
    pub(crate) sum: Option<f64>,
    /// The `_count` (or `_gcount`) value.
    pub(crate) count: Option<f64>,
    /// The first sample timestamp found, in milliseconds.
    pub(crate) timestamp_ms: Option<i64>,
}

/// Cumulative bucket counts: `counts[i]` observations were at most `bounds[i]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Cumulative {
    pub(crate) bounds: Vec<f64>,
    pub(crate) counts: Vec<f64>,
}

/// Groups the samples of one histogram into series, in order of first appearance. Samples
/// with other names are ignored.
pub(crate) fn group<'a>(
    names: &SeriesNames,
    samples: impl IntoIterator<Item = &'a Sample>,
) -> Vec<Series<'a>> {
    let mut series: Vec<Series<'a>> = Vec::new();
    let mut positions: HashMap<LabelKey<'a>, usize> = HashMap::new();
    for sample in samples {
        let role = names.role(&sample.name);
        let Some(role) = role else { continue };
        let key = label_key(sample, &["le"]);
        let position = *positions.entry(key).or_insert_with(|| {
            series.push(Series::new(sample));
            series.len() - 1
        });
        series[position].add(role, sample);
    }
    for entry in &mut series {
        entry.finish();
    }
    series
}

/// The role of a sample in its histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Bucket,
    Sum,
    Count,
}

/// The full sample names of one histogram: `<base>_bucket`, and `_sum`/`_count` or, for
/// gauge histograms, `_gsum`/`_gcount`.
pub(crate) struct SeriesNames {
    bucket: String,
    sum: String,
    count: String,
}

impl SeriesNames {
    /// Returns the names of a histogram `base`.
    pub(crate) fn histogram(base: &str) -> SeriesNames {
        SeriesNames {
            bucket: format!("{base}_bucket"),
            sum: format!("{base}_sum"),
            count: format!("{base}_count"),
        }
    }

    /// Returns the names of an OpenMetrics gauge histogram `base`.
    pub(crate) fn gauge_histogram(base: &str) -> SeriesNames {
        SeriesNames {
            bucket: format!("{base}_bucket"),
            sum: format!("{base}_gsum"),
            count: format!("{base}_gcount"),
        }
    }

    /// Returns the name of the bucket samples.
    pub(crate) fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Returns the name of the sum samples.
    pub(crate) fn sum(&self) -> &str {
        &self.sum
    }

    /// Returns the name of the count samples.
    pub(crate) fn count(&self) -> &str {
        &self.count
    }

    fn role(&self, name: &str) -> Option<Role> {
        if name == self.bucket {
            Some(Role::Bucket)
        } else if name == self.sum {
            Some(Role::Sum)
        } else if name == self.count {
            Some(Role::Count)
        } else {
            None
        }
    }
}

impl<'a> Series<'a> {
    fn new(sample: &'a Sample) -> Series<'a> {
        Series {
            labels: sample
                .labels
                .iter()
                .filter(|(name, _)| name != "le")
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect(),
            buckets: Cumulative::default(),
            sum: None,
            count: None,
            timestamp_ms: None,
        }
    }

    fn add(&mut self, role: Role, sample: &Sample) {
        self.timestamp_ms = self.timestamp_ms.or(sample.timestamp_ms);
        match role {
            Role::Sum => self.sum = Some(sample.value),
            Role::Count => self.count = Some(sample.value),
            Role::Bucket => {
                // The parser has checked that every bucket has a numeric `le`.
                if let Some(bound) = sample.label("le").and_then(parse_float) {
                    self.buckets.bounds.push(bound);
                    self.buckets.counts.push(sample.value);
                }
            }
        }
    }

    /// Sorts the buckets and adds a `+Inf` bucket from `_count` when the page has none.
    fn finish(&mut self) {
        let mut pairs: Vec<(f64, f64)> = self
            .buckets
            .bounds
            .iter()
            .copied()
            .zip(self.buckets.counts.iter().copied())
            .collect();
        pairs.sort_by(|left, right| left.0.total_cmp(&right.0));
        pairs.dedup_by(|later, earlier| later.0 == earlier.0);
        let has_infinity = pairs
            .last()
            .is_some_and(|(bound, _)| *bound == f64::INFINITY);
        if !has_infinity && let Some(count) = self.count {
            pairs.push((f64::INFINITY, count));
        }
        self.buckets = Cumulative {
            bounds: pairs.iter().map(|(bound, _)| *bound).collect(),
            counts: pairs.iter().map(|(_, count)| *count).collect(),
        };
    }

    /// Returns the label key of the series, for state and `_created` lookups.
    pub(crate) fn key(&self) -> LabelKey<'a> {
        let mut key = self.labels.clone();
        key.sort_unstable();
        key
    }

    /// Returns the series with bounds and sum converted by `convert`, counts unchanged.
    pub(crate) fn converted(&self, convert: impl Fn(f64) -> f64) -> Series<'a> {
        let mut converted = self.clone();
        converted.buckets.bounds = self
            .buckets
            .bounds
            .iter()
            .map(|bound| convert(*bound))
            .collect();
        converted.sum = self.sum.map(&convert);
        converted
    }

    /// Returns the total count: `_count`, else the `+Inf` bucket.
    pub(crate) fn total(&self) -> Option<f64> {
        self.count.or_else(|| self.buckets.counts.last().copied())
    }
}

impl Cumulative {
    /// Returns the OTLP layout: the finite bounds, and one count per bucket, the last being
    /// the bucket above the highest finite bound. A count that decreases from one bucket to
    /// the next, which a well-formed page never has, gives 0 for that bucket.
    pub(crate) fn otlp_buckets(&self) -> (Vec<f64>, Vec<u64>) {
        let mut bounds = Vec::with_capacity(self.bounds.len());
        let mut counts = Vec::with_capacity(self.bounds.len() + 1);
        let mut below = 0.0;
        for (bound, cumulative) in self.bounds.iter().zip(&self.counts) {
            if bound.is_finite() {
                bounds.push(*bound);
            }
            counts.push(to_count(cumulative - below));
            below = cumulative.max(below);
        }
        if self.bounds.last().is_none_or(|bound| bound.is_finite()) {
            counts.push(0);
        }
        (bounds, counts)
    }

    /// Returns the increase since `previous`, or `None` when the bounds differ or a count went
    /// down (the server restarted).
    pub(crate) fn increase_since(&self, previous: &Cumulative) -> Option<Cumulative> {
        if self.bounds != previous.bounds {
            return None;
        }
        let counts: Option<Vec<f64>> = self
            .counts
            .iter()
            .zip(&previous.counts)
            .map(|(now, before)| (now >= before).then(|| now - before))
            .collect();
        Some(Cumulative {
            bounds: self.bounds.clone(),
            counts: counts?,
        })
    }

    /// Estimates the quantile `q` (0 to 1) by linear interpolation inside the bucket that
    /// contains it, as PromQL's `histogram_quantile` does: the lowest bucket starts at 0, and a
    /// quantile in the `+Inf` bucket is the highest finite bound. Returns `None` without
    /// observations or without a `+Inf` bucket.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let total = *self.counts.last()?;
        let has_infinity = self.bounds.last() == Some(&f64::INFINITY);
        if !has_infinity || total.is_nan() || total <= 0.0 {
            return None;
        }

        let rank = q * total;
        let index = self.counts.iter().position(|count| *count >= rank)?;
        if index + 1 == self.bounds.len() {
            return index.checked_sub(1).map(|below| self.bounds[below]);
        }

        let end = self.bounds[index];
        let (start, below) = match index.checked_sub(1) {
            Some(previous) => (self.bounds[previous], self.counts[previous]),
            None if end <= 0.0 => return Some(end),
            None => (0.0, 0.0),
        };
        let in_bucket = self.counts[index] - below;
        if in_bucket <= 0.0 {
            return Some(end);
        }
        Some(start + (end - start) * (rank - below) / in_bucket)
    }
}

/// Converts a count read as a float to an integer; negative, NaN and infinite counts give 0.
pub(crate) fn to_count(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value.round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, parse};

    fn cumulative(bounds: &[f64], counts: &[f64]) -> Cumulative {
        Cumulative {
            bounds: bounds.to_vec(),
            counts: counts.to_vec(),
        }
    }

    #[test]
    fn groups_by_labels_without_le() {
        let page = "\
h_bucket{method=\"prefill\",le=\"+Inf\"} 4
h_bucket{method=\"prefill\",le=\"0.5\"} 3
h_bucket{method=\"decode\",le=\"0.5\"} 1
h_sum{method=\"prefill\"} 1.5
h_count{method=\"prefill\"} 4
h_count{method=\"decode\"} 2
other 1
";
        let exposition = parse(page, &Limits::default()).unwrap();
        let series = group(&SeriesNames::histogram("h"), exposition.samples());
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].labels, vec![("method", "prefill")]);
        assert_eq!(
            series[0].buckets,
            cumulative(&[0.5, f64::INFINITY], &[3.0, 4.0])
        );
        assert_eq!(series[0].sum, Some(1.5));
        assert_eq!(series[0].count, Some(4.0));
        // No +Inf bucket on the page: `_count` provides it.
        assert_eq!(
            series[1].buckets,
            cumulative(&[0.5, f64::INFINITY], &[1.0, 2.0])
        );
        assert_eq!(series[1].sum, None);
    }

    #[test]
    fn otlp_buckets_are_per_bucket() {
        let buckets = cumulative(&[0.1, 0.5, 1.0, f64::INFINITY], &[2.0, 5.0, 9.0, 10.0]);
        assert_eq!(
            buckets.otlp_buckets(),
            (vec![0.1, 0.5, 1.0], vec![2, 3, 4, 1])
        );

        let without_infinity = cumulative(&[0.1, 0.5], &[2.0, 5.0]);
        assert_eq!(
            without_infinity.otlp_buckets(),
            (vec![0.1, 0.5], vec![2, 3, 0])
        );

        let decreasing = cumulative(&[0.1, 0.5, f64::INFINITY], &[4.0, 3.0, 6.0]);
        assert_eq!(decreasing.otlp_buckets(), (vec![0.1, 0.5], vec![4, 0, 2]));

        assert_eq!(Cumulative::default().otlp_buckets(), (vec![], vec![0]));
    }

    #[test]
    fn quantile_interpolates_like_promql() {
        let buckets = cumulative(&[0.1, 0.5, 1.0, f64::INFINITY], &[2.0, 6.0, 10.0, 10.0]);
        // Rank 5 of 10 lies 3/4 into (0.1, 0.5].
        assert_eq!(buckets.quantile(0.5), Some(0.4));
        // Rank 1 lies half-way into the first bucket, which starts at 0.
        assert_eq!(buckets.quantile(0.1), Some(0.05));
        assert_eq!(buckets.quantile(1.0), Some(1.0));
    }

    #[test]
    fn quantile_in_infinity_bucket_is_highest_bound() {
        let buckets = cumulative(&[0.1, 0.5, f64::INFINITY], &[1.0, 2.0, 10.0]);
        assert_eq!(buckets.quantile(0.95), Some(0.5));
        let only_infinity = cumulative(&[f64::INFINITY], &[3.0]);
        assert_eq!(only_infinity.quantile(0.5), None);
    }

    #[test]
    fn quantile_needs_observations() {
        let empty = cumulative(&[0.1, f64::INFINITY], &[0.0, 0.0]);
        assert_eq!(empty.quantile(0.5), None);
        let no_infinity = cumulative(&[0.1, 0.5], &[1.0, 2.0]);
        assert_eq!(no_infinity.quantile(0.5), None);
    }

    #[test]
    fn increase_detects_restart_and_new_bounds() {
        let before = cumulative(&[0.1, f64::INFINITY], &[2.0, 4.0]);
        let after = cumulative(&[0.1, f64::INFINITY], &[3.0, 7.0]);
        assert_eq!(
            after.increase_since(&before),
            Some(cumulative(&[0.1, f64::INFINITY], &[1.0, 3.0]))
        );
        let restarted = cumulative(&[0.1, f64::INFINITY], &[1.0, 1.0]);
        assert_eq!(restarted.increase_since(&before), None);
        let rebucketed = cumulative(&[0.2, f64::INFINITY], &[3.0, 7.0]);
        assert_eq!(rebucketed.increase_since(&before), None);
    }

    #[test]
    fn counts_from_floats() {
        assert_eq!(to_count(3.0), 3);
        assert_eq!(to_count(-1.0), 0);
        assert_eq!(to_count(f64::NAN), 0);
        assert_eq!(to_count(f64::INFINITY), 0);
    }
}

//! The drift report's comparison: pairs each group's baseline and recent samples and runs
//! the drift statistics of `glassbox-eval` on every metric. Pure, so the API and the
//! dashboard show the same report, and it is tested on generated samples without a store.

use std::collections::{BTreeMap, BTreeSet};

use glassbox_eval::{DriftLevel, DriftStat, compare_categorical, compare_numeric};
use glassbox_model::Analyzer;
use glassbox_store::DriftSamples;

/// The p-value below which a drifted metric counts as moved.
pub const MOVED_P_VALUE: f64 = 0.01;

/// The drift of one metric of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDrift {
    /// `input_tokens`, `output_tokens`, `input_language`, `flag_rate:<analyzer>` or
    /// `score:<name>`.
    pub metric: String,
    /// `numeric` (PSI over the baseline's deciles, and Kolmogorov–Smirnov) or
    /// `categorical` (PSI over categories, and chi-square).
    pub kind: &'static str,
    /// Population stability index; `None` when either window has no values.
    pub psi: Option<f64>,
    /// Kolmogorov–Smirnov D of a numeric metric.
    pub ks_d: Option<f64>,
    /// Asymptotic Kolmogorov–Smirnov p-value of a numeric metric.
    pub ks_p_value: Option<f64>,
    /// Chi-square p-value of a categorical metric.
    pub chi2_p_value: Option<f64>,
    /// Values (numeric) or counted spans (categorical) of the baseline.
    pub baseline_n: usize,
    /// Values or counted spans of the recent window.
    pub recent_n: usize,
    /// Mean of a numeric metric over the baseline.
    pub baseline_mean: Option<f64>,
    /// Mean of a numeric metric over the recent window.
    pub recent_mean: Option<f64>,
    /// Share of flagged spans in the baseline, for a flag rate.
    pub baseline_rate: Option<f64>,
    /// Share of flagged spans in the recent window, for a flag rate.
    pub recent_rate: Option<f64>,
    /// `Stable` (PSI below 0.1), `Moderate` (0.1 to 0.25), `Significant` (above 0.25) or
    /// `InsufficientData` (fewer than 30 values in a window).
    pub level: DriftLevel,
}

impl MetricDrift {
    fn new(metric: String, kind: &'static str, stat: DriftStat) -> MetricDrift {
        MetricDrift {
            metric,
            kind,
            psi: stat.psi,
            ks_d: stat.ks_d,
            ks_p_value: stat.ks_p_value,
            chi2_p_value: stat.chi2_p_value,
            baseline_n: stat.baseline_n,
            recent_n: stat.recent_n,
            baseline_mean: stat.baseline_mean,
            recent_mean: stat.recent_mean,
            baseline_rate: None,
            recent_rate: None,
            level: stat.level,
        }
    }

    /// Returns the p-value of the metric's test: Kolmogorov–Smirnov for a numeric metric,
    /// chi-square for a categorical one.
    pub fn p_value(&self) -> Option<f64> {
        self.ks_p_value.or(self.chi2_p_value)
    }

    /// Returns true when the level is `Moderate` or `Significant` and the test agrees that
    /// the windows differ (p-value below [`MOVED_P_VALUE`]). PSI alone reads noise in small
    /// samples as drift; the test alone flags differences too small to matter in large ones.
    pub fn has_moved(&self) -> bool {
        let drifted = matches!(self.level, DriftLevel::Moderate | DriftLevel::Significant);
        drifted && self.p_value().is_none_or(|p| p < MOVED_P_VALUE)
    }
}

/// The drift of one (service, model) group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDrift {
    /// `service.name`; `None` for model calls without one.
    pub service: Option<String>,
    /// Request model, else response model.
    pub model: Option<String>,
    /// Model calls in the baseline window.
    pub baseline_spans: u64,
    /// Model calls in the recent window.
    pub recent_spans: u64,
    /// True when a window had more model calls than the report reads, so only its latest
    /// calls were compared.
    pub sampled: bool,
    /// The largest PSI of the metrics with enough data; `None` when none has.
    pub max_psi: Option<f64>,
    /// Token counts, input language, one flag rate per analyzer that flagged a call in
    /// either window, then one entry per score name, in that order.
    pub metrics: Vec<MetricDrift>,
    /// Names of the metrics whose level is `moderate` or `significant`.
    pub moved: Vec<String>,
}

type GroupKey = (Option<String>, Option<String>);

/// Compares each group's recent samples with its baseline samples. A group found in one
/// window only is compared with an empty sample. Groups come largest `max_psi` first.
pub fn compare_windows(
    baseline: Vec<DriftSamples>,
    recent: Vec<DriftSamples>,
    max_per_group: usize,
) -> Vec<GroupDrift> {
    let mut pairs: BTreeMap<GroupKey, (DriftSamples, DriftSamples)> = BTreeMap::new();
    for samples in baseline {
        let key = (samples.service.clone(), samples.model.clone());
        pairs.entry(key).or_default().0 = samples;
    }
    for samples in recent {
        let key = (samples.service.clone(), samples.model.clone());
        pairs.entry(key).or_default().1 = samples;
    }

    let mut groups: Vec<GroupDrift> = pairs
        .into_iter()
        .map(|((service, model), (baseline, recent))| {
            compare_group(service, model, &baseline, &recent, max_per_group)
        })
        .collect();
    groups.sort_by(|a, b| {
        let psi = |group: &GroupDrift| group.max_psi.unwrap_or(f64::NEG_INFINITY);
        psi(b)
            .total_cmp(&psi(a))
            .then_with(|| (&a.service, &a.model).cmp(&(&b.service, &b.model)))
    });
    groups
}

fn compare_group(
    service: Option<String>,
    model: Option<String>,
    baseline: &DriftSamples,
    recent: &DriftSamples,
    max_per_group: usize,
) -> GroupDrift {
    let mut metrics = vec![
        numeric(
            "input_tokens",
            &tokens(&baseline.input_tokens),
            &tokens(&recent.input_tokens),
        ),
        numeric(
            "output_tokens",
            &tokens(&baseline.output_tokens),
            &tokens(&recent.output_tokens),
        ),
        MetricDrift::new(
            "input_language".to_owned(),
            "categorical",
            compare_categorical(&baseline.input_languages, &recent.input_languages),
        ),
    ];
    metrics.extend(flag_rates(baseline, recent));
    metrics.extend(scores(baseline, recent));

    let max_psi = metrics
        .iter()
        .filter(|metric| metric.level != DriftLevel::InsufficientData)
        .filter_map(|metric| metric.psi)
        .max_by(f64::total_cmp);
    let moved = metrics
        .iter()
        .filter(|metric| metric.has_moved())
        .map(|metric| metric.metric.clone())
        .collect();
    let cap = u64::try_from(max_per_group).unwrap_or(u64::MAX);
    GroupDrift {
        service,
        model,
        baseline_spans: baseline.spans_in_window,
        recent_spans: recent.spans_in_window,
        sampled: baseline.spans_in_window > cap || recent.spans_in_window > cap,
        max_psi,
        metrics,
        moved,
    }
}

fn tokens(values: &[u64]) -> Vec<f64> {
    values.iter().map(|&value| value as f64).collect()
}

fn numeric(metric: &str, baseline: &[f64], recent: &[f64]) -> MetricDrift {
    MetricDrift::new(
        metric.to_owned(),
        "numeric",
        compare_numeric(baseline, recent),
    )
}

/// Compares the share of flagged spans, as the categories `flagged` and `not_flagged`, of
/// each analyzer that flagged a span in either window.
fn flag_rates(baseline: &DriftSamples, recent: &DriftSamples) -> Vec<MetricDrift> {
    let analyzers: BTreeSet<Analyzer> = baseline
        .flagged
        .keys()
        .chain(recent.flagged.keys())
        .copied()
        .collect();
    analyzers
        .into_iter()
        .map(|analyzer| {
            let (baseline_counts, baseline_rate) = flag_counts(baseline, analyzer);
            let (recent_counts, recent_rate) = flag_counts(recent, analyzer);
            let stat = compare_categorical(&baseline_counts, &recent_counts);
            let mut drift = MetricDrift::new(format!("flag_rate:{analyzer}"), "categorical", stat);
            drift.baseline_rate = baseline_rate;
            drift.recent_rate = recent_rate;
            drift
        })
        .collect()
}

/// Returns the flagged and unflagged span counts of one analyzer and the flagged share,
/// `None` without spans.
fn flag_counts(samples: &DriftSamples, analyzer: Analyzer) -> (BTreeMap<String, u64>, Option<f64>) {
    let flagged = samples.flagged.get(&analyzer).copied().unwrap_or(0);
    let total = samples.spans_sampled;
    let mut counts = BTreeMap::new();
    if total > 0 {
        counts.insert("flagged".to_owned(), flagged);
        counts.insert("not_flagged".to_owned(), total.saturating_sub(flagged));
    }
    let rate = (total > 0).then(|| flagged as f64 / total as f64);
    (counts, rate)
}

/// Compares each score name's values. Pass/fail scores (every value 0 or 1, as boolean
/// scores are stored) are compared as the categories `pass` and `fail`, because quantile bins
/// of a constant baseline would hide a shift. Their rates and means are the pass shares.
fn scores(baseline: &DriftSamples, recent: &DriftSamples) -> Vec<MetricDrift> {
    let names: BTreeSet<&String> = baseline.scores.keys().chain(recent.scores.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let values =
                |samples: &DriftSamples| samples.scores.get(name).cloned().unwrap_or_default();
            let (baseline, recent) = (values(baseline), values(recent));
            let metric = format!("score:{name}");
            if is_pass_fail(&baseline) && is_pass_fail(&recent) {
                pass_fail(metric, &baseline, &recent)
            } else {
                numeric(&metric, &baseline, &recent)
            }
        })
        .collect()
}

fn is_pass_fail(values: &[f64]) -> bool {
    values.iter().all(|value| *value == 0.0 || *value == 1.0)
}

fn pass_fail(metric: String, baseline: &[f64], recent: &[f64]) -> MetricDrift {
    let counts = |values: &[f64]| {
        let passed = values.iter().filter(|value| **value == 1.0).count() as u64;
        let mut counts = BTreeMap::new();
        if !values.is_empty() {
            counts.insert("pass".to_owned(), passed);
            counts.insert("fail".to_owned(), values.len() as u64 - passed);
        }
        let rate = (!values.is_empty()).then(|| passed as f64 / values.len() as f64);
        (counts, rate)
    };
    let (baseline_counts, baseline_rate) = counts(baseline);
    let (recent_counts, recent_rate) = counts(recent);
    let mut drift = MetricDrift::new(
        metric,
        "categorical",
        compare_categorical(&baseline_counts, &recent_counts),
    );
    drift.baseline_rate = baseline_rate;
    drift.recent_rate = recent_rate;
    drift.baseline_mean = baseline_rate;
    drift.recent_mean = recent_rate;
    drift
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASELINE_SEED: u64 = 7;
    const RECENT_SEED: u64 = 11;

    /// Draws from a normal distribution with the Box–Muller transform.
    fn normal(rng: &mut fastrand::Rng, mean: f64, sd: f64) -> f64 {
        let u1 = 1.0 - rng.f64();
        let u2 = rng.f64();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Samples of `spans` calls: output tokens from N(`output_mean`, 40), input tokens from
    /// N(500, 100), input language `fr` with probability `french`, and a PII flag on every
    /// tenth call.
    fn generate(seed: u64, spans: u64, output_mean: f64, french: f64) -> DriftSamples {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut samples = DriftSamples {
            service: Some("chat".into()),
            model: Some("gpt-4o".into()),
            spans_in_window: spans,
            spans_sampled: spans,
            ..DriftSamples::default()
        };
        for index in 0..spans {
            let tokens = |value: f64| value.round().max(1.0) as u64;
            samples
                .input_tokens
                .push(tokens(normal(&mut rng, 500.0, 100.0)));
            samples
                .output_tokens
                .push(tokens(normal(&mut rng, output_mean, 40.0)));
            let language = if rng.f64() < french { "fr" } else { "en" };
            *samples.input_languages.entry(language.into()).or_default() += 1;
            if index % 10 == 0 {
                *samples.flagged.entry(Analyzer::Pii).or_default() += 1;
            }
        }
        samples
    }

    fn named(mut samples: DriftSamples, service: &str) -> DriftSamples {
        samples.service = Some(service.into());
        samples
    }

    fn metric<'a>(group: &'a GroupDrift, name: &str) -> &'a MetricDrift {
        group
            .metrics
            .iter()
            .find(|metric| metric.metric == name)
            .unwrap()
    }

    fn levels(group: &GroupDrift) -> Vec<(&str, DriftLevel)> {
        group
            .metrics
            .iter()
            .map(|metric| (metric.metric.as_str(), metric.level))
            .collect()
    }

    fn report() -> Vec<GroupDrift> {
        let baseline = vec![
            named(generate(BASELINE_SEED, 500, 200.0, 0.1), "shifted"),
            named(generate(BASELINE_SEED + 1, 500, 200.0, 0.1), "control"),
            named(generate(BASELINE_SEED + 2, 10, 200.0, 0.1), "small"),
        ];
        let recent = vec![
            // One standard deviation more output tokens, and mostly French input.
            named(generate(RECENT_SEED, 500, 240.0, 0.8), "shifted"),
            named(generate(RECENT_SEED + 1, 500, 200.0, 0.1), "control"),
            named(generate(RECENT_SEED + 2, 10, 240.0, 0.8), "small"),
        ];
        compare_windows(baseline, recent, 20_000)
    }

    #[test]
    fn shifted_group_moves_and_comes_first() {
        let groups = report();
        let order: Vec<Option<&str>> = groups.iter().map(|g| g.service.as_deref()).collect();
        assert_eq!(order, [Some("shifted"), Some("control"), Some("small")]);

        let shifted = &groups[0];
        assert_eq!(
            levels(shifted),
            [
                ("input_tokens", DriftLevel::Stable),
                ("output_tokens", DriftLevel::Significant),
                ("input_language", DriftLevel::Significant),
                ("flag_rate:pii", DriftLevel::Stable),
            ]
        );
        assert_eq!(shifted.moved, ["output_tokens", "input_language"]);
        assert_eq!(shifted.max_psi, metric(shifted, "input_language").psi);
        assert!(!shifted.sampled);

        let output = metric(shifted, "output_tokens");
        assert_eq!(output.kind, "numeric");
        assert_eq!((output.baseline_n, output.recent_n), (500, 500));
        assert!(output.ks_p_value.unwrap() < 1e-6);
        let mean_shift = output.recent_mean.unwrap() - output.baseline_mean.unwrap();
        assert!((mean_shift - 40.0).abs() < 8.0, "{mean_shift}");
    }

    #[test]
    fn control_group_is_stable() {
        let groups = report();
        let control = &groups[1];
        assert_eq!(
            levels(control),
            [
                ("input_tokens", DriftLevel::Stable),
                ("output_tokens", DriftLevel::Stable),
                ("input_language", DriftLevel::Stable),
                ("flag_rate:pii", DriftLevel::Stable),
            ]
        );
        assert!(control.moved.is_empty());
        let pii = metric(control, "flag_rate:pii");
        assert_eq!(pii.kind, "categorical");
        assert_eq!(pii.baseline_rate, Some(0.1));
        assert_eq!(pii.recent_rate, Some(0.1));
        assert_eq!(pii.psi, Some(0.0));
        assert_eq!(pii.ks_d, None);
    }

    #[test]
    fn small_group_is_insufficient() {
        let groups = report();
        let small = &groups[2];
        for (name, level) in levels(small) {
            assert_eq!(level, DriftLevel::InsufficientData, "{name}");
        }
        assert!(small.moved.is_empty());
        assert_eq!(small.max_psi, None);
        assert_eq!(metric(small, "output_tokens").recent_n, 10);
    }

    #[test]
    fn group_in_one_window_gets_empty_side() {
        let recent = vec![generate(RECENT_SEED, 40, 200.0, 0.0)];
        let groups = compare_windows(Vec::new(), recent, 20_000);

        assert_eq!(groups.len(), 1);
        let tokens = metric(&groups[0], "input_tokens");
        assert_eq!(tokens.baseline_n, 0);
        assert_eq!(tokens.recent_n, 40);
        assert_eq!(tokens.psi, None);
        assert_eq!(tokens.level, DriftLevel::InsufficientData);
        let pii = metric(&groups[0], "flag_rate:pii");
        assert_eq!(pii.baseline_rate, None);
        assert_eq!(pii.recent_rate, Some(0.1));
    }

    #[test]
    fn pass_fail_scores_drift_from_a_constant_baseline() {
        let mut baseline = DriftSamples::default();
        let mut recent = DriftSamples::default();
        baseline.scores.insert("valid_json".into(), vec![1.0; 200]);
        let mut mostly_failing = vec![0.0; 120];
        mostly_failing.extend(vec![1.0; 80]);
        recent.scores.insert("valid_json".into(), mostly_failing);

        let drift = scores(&baseline, &recent).remove(0);

        assert_eq!(drift.metric, "score:valid_json");
        assert_eq!(drift.kind, "categorical");
        assert_eq!(drift.level, DriftLevel::Significant);
        assert_eq!(drift.baseline_rate, Some(1.0));
        assert_eq!(drift.recent_rate, Some(0.4));
    }

    #[test]
    fn scores_and_cap_are_reported() {
        // The same seed on both sides gives equal token and language samples.
        let mut baseline = generate(BASELINE_SEED, 50, 200.0, 0.0);
        baseline.spans_in_window = 80;
        let alternating = (0..40).map(|index| f64::from(index % 2)).collect();
        baseline.scores.insert("thumbs".into(), alternating);
        let mut recent = generate(BASELINE_SEED, 50, 200.0, 0.0);
        let mostly_false = (0..40).map(|index| f64::from(index % 10 == 0)).collect();
        recent.scores.insert("thumbs".into(), mostly_false);

        let groups = compare_windows(vec![baseline], vec![recent], 50);

        let group = &groups[0];
        assert!(group.sampled);
        assert_eq!(group.baseline_spans, 80);
        assert_eq!(group.recent_spans, 50);
        let thumbs = metric(group, "score:thumbs");
        assert_eq!(thumbs.baseline_mean, Some(0.5));
        assert_eq!(thumbs.recent_mean, Some(0.1));
        assert_eq!(thumbs.level, DriftLevel::Significant);
        assert_eq!(group.moved, ["score:thumbs"]);
    }
}

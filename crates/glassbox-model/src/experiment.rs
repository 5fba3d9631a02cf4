//! Experiments: one run of a model configuration over every item of a dataset, with the
//! output, scores, latency and cost of each item.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::TraceId;

/// The state of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Items are still being run.
    Running,
    /// Every item ran (some may have failed).
    Completed,
    /// The run stopped early.
    Failed,
}

impl ExperimentStatus {
    /// Every status.
    pub const ALL: [ExperimentStatus; 3] = [
        ExperimentStatus::Running,
        ExperimentStatus::Completed,
        ExperimentStatus::Failed,
    ];

    /// Returns the lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Running => "running",
            ExperimentStatus::Completed => "completed",
            ExperimentStatus::Failed => "failed",
        }
    }

    /// Parses the lowercase name; returns `None` for anything else.
    pub fn parse(text: &str) -> Option<ExperimentStatus> {
        ExperimentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// An experiment with totals over its stored results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// 32 lowercase hex characters, chosen by the store.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// The dataset's id.
    pub dataset_id: String,
    /// The dataset's name when the experiment was created.
    pub dataset_name: String,
    /// The run's configuration: model, scorers, mode and their settings, as the runner
    /// defines them.
    pub config: Value,
    /// The state.
    pub status: ExperimentStatus,
    /// The reason the run failed, for status `failed`.
    pub error: Option<String>,
    /// Start time, nanoseconds since the Unix epoch.
    pub started_unix_nano: u64,
    /// End time, once the run finished or failed.
    pub finished_unix_nano: Option<u64>,
    /// Totals over the stored results.
    pub totals: ExperimentTotals,
}

/// The outcome of one dataset item in an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentResult {
    /// The experiment's id.
    pub experiment_id: String,
    /// The dataset item's id.
    pub item_id: String,
    /// The model's output, when the call succeeded.
    pub output: Option<Value>,
    /// The reason the item failed, when it did.
    pub error: Option<String>,
    /// Scores by scorer name.
    pub scores: BTreeMap<String, f64>,
    /// Time the model took, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Cost of the call in US dollars.
    pub cost_usd: Option<f64>,
    /// Input tokens of the call.
    pub input_tokens: Option<u64>,
    /// Output tokens of the call.
    pub output_tokens: Option<u64>,
    /// The trace the call was recorded in, when it was.
    pub trace_id: Option<TraceId>,
}

/// Totals over the results of an experiment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExperimentTotals {
    /// Results stored.
    pub items: u64,
    /// Results with an error.
    pub errors: u64,
    /// Mean of each score over the results that have it.
    pub score_means: BTreeMap<String, f64>,
    /// Sum of known costs in US dollars; `None` when no result had a cost.
    pub cost_usd: Option<f64>,
    /// Sum of input tokens; `None` when no result had a count.
    pub input_tokens: Option<u64>,
    /// Sum of output tokens; `None` when no result had a count.
    pub output_tokens: Option<u64>,
    /// Mean latency in milliseconds.
    pub latency_mean_ms: Option<f64>,
    /// Median latency in milliseconds, interpolated between the two nearest results.
    pub latency_p50_ms: Option<f64>,
    /// 95th percentile latency in milliseconds, interpolated between the two nearest results.
    pub latency_p95_ms: Option<f64>,
}

impl ExperimentTotals {
    /// Computes the totals of a set of results exactly.
    pub fn of(results: &[ExperimentResult]) -> ExperimentTotals {
        let mut score_sums: BTreeMap<String, (f64, u64)> = BTreeMap::new();
        for result in results {
            for (name, value) in &result.scores {
                let entry = score_sums.entry(name.clone()).or_default();
                entry.0 += value;
                entry.1 += 1;
            }
        }
        let mut latencies: Vec<f64> = results.iter().filter_map(|r| r.latency_ms).collect();
        latencies.sort_by(f64::total_cmp);

        ExperimentTotals {
            items: results.len() as u64,
            errors: results.iter().filter(|r| r.error.is_some()).count() as u64,
            score_means: score_sums
                .into_iter()
                .map(|(name, (sum, count))| (name, sum / count as f64))
                .collect(),
            cost_usd: sum_known(results.iter().map(|r| r.cost_usd)),
            input_tokens: sum_counts(results.iter().map(|r| r.input_tokens)),
            output_tokens: sum_counts(results.iter().map(|r| r.output_tokens)),
            latency_mean_ms: (!latencies.is_empty())
                .then(|| latencies.iter().sum::<f64>() / latencies.len() as f64),
            latency_p50_ms: quantile(&latencies, 0.5),
            latency_p95_ms: quantile(&latencies, 0.95),
        }
    }
}

fn sum_known(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values
        .flatten()
        .fold(None, |sum, value| Some(sum.unwrap_or(0.0) + value))
}

fn sum_counts(values: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    values.flatten().fold(None, |sum, value| {
        Some(sum.unwrap_or(0u64).saturating_add(value))
    })
}

/// Returns the `q` quantile (0 to 1) of sorted values, interpolating linearly between the
/// two nearest ranks; `None` for no values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = q.clamp(0.0, 1.0) * last as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let fraction = rank - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        item: &str,
        latency: Option<f64>,
        cost: Option<f64>,
        score: Option<f64>,
    ) -> ExperimentResult {
        ExperimentResult {
            experiment_id: "e".into(),
            item_id: item.into(),
            output: None,
            error: None,
            scores: score
                .map(|value| BTreeMap::from([("exact".to_owned(), value)]))
                .unwrap_or_default(),
            latency_ms: latency,
            cost_usd: cost,
            input_tokens: Some(10),
            output_tokens: None,
            trace_id: None,
        }
    }

    #[test]
    fn quantiles_interpolate() {
        let values = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(quantile(&values, 0.5), Some(25.0));
        assert_eq!(quantile(&values, 0.0), Some(10.0));
        assert_eq!(quantile(&values, 1.0), Some(40.0));
        assert_eq!(quantile(&values, 0.95), Some(38.5));
        assert_eq!(quantile(&[7.0], 0.95), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn totals_are_exact() {
        let mut failed = result("c", None, None, None);
        failed.error = Some("timed out".into());
        let results = [
            result("a", Some(100.0), Some(0.25), Some(1.0)),
            result("b", Some(300.0), Some(0.5), Some(0.0)),
            failed,
        ];
        let totals = ExperimentTotals::of(&results);
        assert_eq!(totals.items, 3);
        assert_eq!(totals.errors, 1);
        assert_eq!(totals.score_means.get("exact"), Some(&0.5));
        assert_eq!(totals.cost_usd, Some(0.75));
        assert_eq!(totals.input_tokens, Some(30));
        assert_eq!(totals.output_tokens, None);
        assert_eq!(totals.latency_mean_ms, Some(200.0));
        assert_eq!(totals.latency_p50_ms, Some(200.0));
        assert_eq!(totals.latency_p95_ms, Some(290.0));
    }

    #[test]
    fn statuses_round_trip() {
        for status in ExperimentStatus::ALL {
            assert_eq!(ExperimentStatus::parse(status.as_str()), Some(status));
        }
    }
}

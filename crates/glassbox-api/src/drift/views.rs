//! The JSON shape of a drift report's groups and metrics, filled from the comparison of
//! [`glassbox_quality::drift`].

use glassbox_eval::DriftLevel;
use glassbox_quality::drift;
use serde::Serialize;
use utoipa::ToSchema;

/// The drift of one metric of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricDrift {
    /// `input_tokens`, `output_tokens`, `input_language`, `flag_rate:<analyzer>` or
    /// `score:<name>`.
    pub metric: String,
    /// `numeric` (PSI over the baseline's deciles, and Kolmogorov–Smirnov) or
    /// `categorical` (PSI over categories, and chi-square).
    pub kind: &'static str,
    /// Population stability index; null when either window has no values.
    pub psi: Option<f64>,
    /// Kolmogorov–Smirnov D of a numeric metric.
    pub ks_d: Option<f64>,
    /// Asymptotic Kolmogorov–Smirnov p-value of a numeric metric.
    pub ks_p_value: Option<f64>,
    /// Chi-square p-value of a categorical metric; null when only one category occurs.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_rate: Option<f64>,
    /// Share of flagged spans in the recent window, for a flag rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_rate: Option<f64>,
    /// `stable` (PSI below 0.1), `moderate` (0.1 to 0.25), `significant` (above 0.25) or
    /// `insufficient_data` (fewer than 30 values in a window).
    #[schema(value_type = String)]
    pub level: DriftLevel,
}

impl From<drift::MetricDrift> for MetricDrift {
    fn from(metric: drift::MetricDrift) -> MetricDrift {
        MetricDrift {
            metric: metric.metric,
            kind: metric.kind,
            psi: metric.psi,
            ks_d: metric.ks_d,
            ks_p_value: metric.ks_p_value,
            chi2_p_value: metric.chi2_p_value,
            baseline_n: metric.baseline_n,
            recent_n: metric.recent_n,
            baseline_mean: metric.baseline_mean,
            recent_mean: metric.recent_mean,
            baseline_rate: metric.baseline_rate,
            recent_rate: metric.recent_rate,
            level: metric.level,
        }
    }
}

/// The drift of one (service, model) group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDrift {
    /// `service.name`; null for model calls without one.
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
    /// The largest PSI of the metrics with enough data; null when none has.
    pub max_psi: Option<f64>,
    /// Token counts, input language, one flag rate per analyzer that flagged a call in
    /// either window, then one entry per score name, in that order.
    pub metrics: Vec<MetricDrift>,
    /// Names of the metrics whose level is `moderate` or `significant` and whose test
    /// p-value (Kolmogorov–Smirnov or chi-square) is below 0.01.
    pub moved: Vec<String>,
}

impl From<drift::GroupDrift> for GroupDrift {
    fn from(group: drift::GroupDrift) -> GroupDrift {
        GroupDrift {
            service: group.service,
            model: group.model,
            baseline_spans: group.baseline_spans,
            recent_spans: group.recent_spans,
            sampled: group.sampled,
            max_psi: group.max_psi,
            metrics: group.metrics.into_iter().map(MetricDrift::from).collect(),
            moved: group.moved,
        }
    }
}

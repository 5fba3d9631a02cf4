//! Drift between a baseline window and a recent window of a metric.
//!
//! Numeric metrics (latency, token counts, scores) are compared with the population
//! stability index over the baseline's deciles and with the two-sample Kolmogorov–Smirnov
//! test. Categorical metrics (language mix, model mix, finish reasons) are compared with
//! PSI over categories and Pearson's chi-square test.
//!
//! The level follows the usual credit-scoring convention for PSI: below 0.1 is
//! [`DriftLevel::Stable`], 0.1 to 0.25 is [`DriftLevel::Moderate`], and above 0.25 is
//! [`DriftLevel::Significant`]. The p-values are reported alongside but do not set the
//! level, because with thousands of values it flags shifts too small to matter. With fewer
//! than [`DriftConfig::min_samples`] values on either side the level is
//! [`DriftLevel::InsufficientData`], and the statistics are still reported when both sides
//! have values.

mod chi2;
mod ks;
mod psi;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use chi2::{ChiSquareTest, chi_square_two_sample};
pub use ks::{KsTest, ks_two_sample};
pub use psi::{psi_categorical, psi_numeric};

/// PSI below this is stable.
pub const MODERATE_PSI: f64 = 0.1;
/// PSI above this is significant.
pub const SIGNIFICANT_PSI: f64 = 0.25;

/// Settings of a drift comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftConfig {
    /// Number of quantile bins for numeric PSI. Default 10.
    pub bins: usize,
    /// Minimum number of values on each side for a level other than `insufficient_data`.
    /// Default 30.
    pub min_samples: usize,
    /// Share used in place of 0 for an empty bin or a missing category. Default 0.0001.
    pub epsilon: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            bins: 10,
            min_samples: 30,
            epsilon: 1e-4,
        }
    }
}

/// How far a distribution has moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftLevel {
    /// PSI below 0.1.
    Stable,
    /// PSI from 0.1 to 0.25.
    Moderate,
    /// PSI above 0.25.
    Significant,
    /// Too few values on one side to judge.
    InsufficientData,
}

impl DriftLevel {
    /// Classifies a PSI value with the thresholds given in the module docs.
    pub fn from_psi(psi: f64) -> Self {
        if psi < MODERATE_PSI {
            Self::Stable
        } else if psi <= SIGNIFICANT_PSI {
            Self::Moderate
        } else {
            Self::Significant
        }
    }
}

/// The drift of one metric between a baseline and a recent sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftStat {
    /// Population stability index, or `None` when either side is empty.
    pub psi: Option<f64>,
    /// Kolmogorov–Smirnov D of numeric metrics, or `None` when either side is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_d: Option<f64>,
    /// Asymptotic KS p-value of numeric metrics, or `None` when either side is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_p_value: Option<f64>,
    /// Chi-square p-value of categorical metrics, or `None` when either side is empty or
    /// only one category occurs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chi2_p_value: Option<f64>,
    /// Number of finite values or total count on the baseline side.
    pub baseline_n: usize,
    /// Number of finite values or total count on the recent side.
    pub recent_n: usize,
    /// Mean of the baseline, for numeric metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_mean: Option<f64>,
    /// Mean of the recent sample, for numeric metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_mean: Option<f64>,
    /// Classification of `psi`, or `insufficient_data`.
    pub level: DriftLevel,
}

impl DriftConfig {
    /// Compares two numeric samples. NaN and infinite values are left out and not counted.
    pub fn compare_numeric(&self, baseline: &[f64], recent: &[f64]) -> DriftStat {
        let baseline = finite_values(baseline);
        let recent = finite_values(recent);

        let psi = psi_numeric(&baseline, &recent, self.bins, self.epsilon);
        let ks = ks_two_sample(&baseline, &recent);
        DriftStat {
            psi,
            ks_d: ks.map(|test| test.d),
            ks_p_value: ks.map(|test| test.p_value),
            chi2_p_value: None,
            baseline_n: baseline.len(),
            recent_n: recent.len(),
            baseline_mean: mean(&baseline),
            recent_mean: mean(&recent),
            level: self.level(psi, baseline.len(), recent.len()),
        }
    }

    /// Compares two categorical distributions given as counts per category.
    pub fn compare_categorical(
        &self,
        baseline: &BTreeMap<String, u64>,
        recent: &BTreeMap<String, u64>,
    ) -> DriftStat {
        let baseline_n = total_count(baseline);
        let recent_n = total_count(recent);

        let psi = psi_categorical(baseline, recent, self.epsilon);
        DriftStat {
            psi,
            ks_d: None,
            ks_p_value: None,
            chi2_p_value: chi_square_two_sample(baseline, recent).map(|test| test.p_value),
            baseline_n,
            recent_n,
            baseline_mean: None,
            recent_mean: None,
            level: self.level(psi, baseline_n, recent_n),
        }
    }

    fn level(&self, psi: Option<f64>, baseline_n: usize, recent_n: usize) -> DriftLevel {
        match psi {
            Some(psi) if baseline_n >= self.min_samples && recent_n >= self.min_samples => {
                DriftLevel::from_psi(psi)
            }
            _ => DriftLevel::InsufficientData,
        }
    }
}

/// Compares two numeric samples with the default [`DriftConfig`].
pub fn compare_numeric(baseline: &[f64], recent: &[f64]) -> DriftStat {
    DriftConfig::default().compare_numeric(baseline, recent)
}

/// Compares two categorical distributions with the default [`DriftConfig`].
pub fn compare_categorical(
    baseline: &BTreeMap<String, u64>,
    recent: &BTreeMap<String, u64>,
) -> DriftStat {
    DriftConfig::default().compare_categorical(baseline, recent)
}

fn finite_values(values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .copied()
        .filter(|value| value.is_finite())
        .collect()
}

fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

fn total_count(counts: &BTreeMap<String, u64>) -> usize {
    let total: u64 = counts.values().sum();
    usize::try_from(total).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_thresholds() {
        let cases = [
            (0.0, DriftLevel::Stable),
            (0.099, DriftLevel::Stable),
            (0.1, DriftLevel::Moderate),
            (0.25, DriftLevel::Moderate),
            (0.2501, DriftLevel::Significant),
            (3.0, DriftLevel::Significant),
        ];
        for (psi, want) in cases {
            assert_eq!(DriftLevel::from_psi(psi), want, "{psi}");
        }
    }

    #[test]
    fn level_serializes_snake_case() {
        let json = serde_json::to_string(&DriftLevel::InsufficientData).unwrap();
        assert_eq!(json, "\"insufficient_data\"");
    }

    #[test]
    fn empty_samples_give_no_numbers() {
        let stat = compare_numeric(&[], &[]);
        assert_eq!(stat.psi, None);
        assert_eq!(stat.ks_d, None);
        assert_eq!(stat.baseline_mean, None);
        assert_eq!(stat.level, DriftLevel::InsufficientData);

        let json = serde_json::to_value(&stat).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"psi": null, "baseline_n": 0, "recent_n": 0, "level": "insufficient_data"})
        );
    }

    #[test]
    fn non_finite_values_left_out() {
        let baseline = [1.0, f64::NAN, 2.0, f64::INFINITY, 3.0];
        let stat = compare_numeric(&baseline, &[1.0, 2.0, 3.0]);
        assert_eq!(stat.baseline_n, 3);
        assert_eq!(stat.baseline_mean, Some(2.0));
        assert_eq!(stat.psi, Some(0.0));
    }

    #[test]
    fn small_samples_are_insufficient() {
        let baseline: Vec<f64> = (0..29).map(f64::from).collect();
        let recent: Vec<f64> = (100..200).map(f64::from).collect();
        let stat = compare_numeric(&baseline, &recent);
        assert_eq!(stat.level, DriftLevel::InsufficientData);
        assert!(stat.psi.unwrap() > SIGNIFICANT_PSI);

        let config = DriftConfig {
            min_samples: 20,
            ..DriftConfig::default()
        };
        assert_eq!(
            config.compare_numeric(&baseline, &recent).level,
            DriftLevel::Significant
        );
    }
}

//! Population stability index over quantile bins or categories.
//!
//! PSI is `Σ (r_i - b_i) · ln(r_i / b_i)` over bins, where `b_i` and `r_i` are the baseline's
//! and the recent sample's shares of bin `i`. A share of 0 is replaced by an epsilon, so the
//! logarithm stays finite.

use std::collections::{BTreeMap, BTreeSet};

/// Computes PSI of numeric samples over bins cut at the baseline's quantiles.
///
/// The cut points are the baseline's `1/bins, 2/bins, ...` quantiles, with duplicates
/// removed, so constant or heavily tied data gets fewer bins instead of empty ones. A value
/// equal to a cut point falls into the lower bin. Returns `None` when either sample is
/// empty or `bins` is 0. Values must be finite.
pub fn psi_numeric(baseline: &[f64], recent: &[f64], bins: usize, epsilon: f64) -> Option<f64> {
    if baseline.is_empty() || recent.is_empty() || bins == 0 {
        return None;
    }

    let mut sorted = baseline.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cuts = quantile_cuts(&sorted, bins);

    let baseline_shares = bin_shares(baseline, &cuts);
    let recent_shares = bin_shares(recent, &cuts);
    Some(psi(&baseline_shares, &recent_shares, epsilon))
}

/// Computes PSI of two categorical distributions given as counts per category.
///
/// A category present on one side only gets a share of `epsilon` on the other. Returns
/// `None` when either side has no counts.
pub fn psi_categorical(
    baseline: &BTreeMap<String, u64>,
    recent: &BTreeMap<String, u64>,
    epsilon: f64,
) -> Option<f64> {
    let baseline_total: u64 = baseline.values().sum();
    let recent_total: u64 = recent.values().sum();
    if baseline_total == 0 || recent_total == 0 {
        return None;
    }

    let categories: BTreeSet<&String> = baseline.keys().chain(recent.keys()).collect();
    let share = |counts: &BTreeMap<String, u64>, total: u64, category: &String| {
        counts.get(category).copied().unwrap_or(0) as f64 / total as f64
    };
    let baseline_shares: Vec<f64> = categories
        .iter()
        .map(|category| share(baseline, baseline_total, category))
        .collect();
    let recent_shares: Vec<f64> = categories
        .iter()
        .map(|category| share(recent, recent_total, category))
        .collect();
    Some(psi(&baseline_shares, &recent_shares, epsilon))
}

fn psi(baseline_shares: &[f64], recent_shares: &[f64], epsilon: f64) -> f64 {
    baseline_shares
        .iter()
        .zip(recent_shares)
        .map(|(baseline, recent)| {
            let baseline = baseline.max(epsilon);
            let recent = recent.max(epsilon);
            (recent - baseline) * (recent / baseline).ln()
        })
        .sum()
}

/// Returns the distinct quantile cut points of a sorted, non-empty sample.
fn quantile_cuts(sorted: &[f64], bins: usize) -> Vec<f64> {
    let mut cuts: Vec<f64> = (1..bins)
        .map(|bin| quantile(sorted, bin as f64 / bins as f64))
        .collect();
    cuts.dedup();
    cuts
}

/// Linear interpolation between closest ranks, the default of NumPy and R (type 7).
fn quantile(sorted: &[f64], probability: f64) -> f64 {
    let position = probability * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let fraction = position - lower as f64;
    sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

fn bin_shares(values: &[f64], cuts: &[f64]) -> Vec<f64> {
    let mut counts = vec![0_usize; cuts.len() + 1];
    for value in values {
        counts[cuts.partition_point(|cut| cut < value)] += 1;
    }
    counts
        .into_iter()
        .map(|count| count as f64 / values.len() as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_type_7() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&sorted, 0.5), 2.5);
        assert_eq!(quantile(&sorted, 0.25), 1.75);
        assert_eq!(quantile(&sorted, 1.0), 4.0);
    }

    #[test]
    fn cuts_drop_duplicates() {
        assert_eq!(quantile_cuts(&[5.0; 20], 10), [5.0]);
        assert_eq!(quantile_cuts(&[1.0, 1.0, 1.0, 2.0], 2), [1.0]);
    }

    #[test]
    fn bin_edges_go_to_lower_bin() {
        assert_eq!(
            bin_shares(&[1.0, 2.0, 3.0, 4.0], &[2.0, 3.0]),
            [0.5, 0.25, 0.25]
        );
    }

    #[test]
    fn psi_hand_computed() {
        // Shares 0.5/0.5 against 0.25/0.75.
        let want = (0.25 - 0.5) * (0.25_f64 / 0.5).ln() + (0.75 - 0.5) * (0.75_f64 / 0.5).ln();
        assert!((psi(&[0.5, 0.5], &[0.25, 0.75], 1e-4) - want).abs() < 1e-15);
        assert!((want - 0.274_653_072_167_027_1).abs() < 1e-15);
    }

    #[test]
    fn identical_samples_have_zero_psi() {
        let sample: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(psi_numeric(&sample, &sample, 10, 1e-4), Some(0.0));
    }

    #[test]
    fn constant_data() {
        let baseline = [3.0; 40];
        assert_eq!(psi_numeric(&baseline, &[3.0; 40], 10, 1e-4), Some(0.0));

        // Every recent value lies above the single cut, where the baseline has no values.
        let shifted = psi_numeric(&baseline, &[4.0; 40], 10, 1e-4).unwrap();
        let want = 2.0 * (1.0 - 1e-4) * (1.0_f64 / 1e-4).ln();
        assert!((shifted - want).abs() < 1e-12, "{shifted}");
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(psi_numeric(&[], &[1.0], 10, 1e-4), None);
        assert_eq!(psi_numeric(&[1.0], &[], 10, 1e-4), None);
        assert_eq!(psi_numeric(&[1.0], &[1.0], 0, 1e-4), None);
        assert_eq!(
            psi_categorical(&BTreeMap::new(), &BTreeMap::new(), 1e-4),
            None
        );
    }

    #[test]
    fn categorical_missing_category() {
        let baseline = BTreeMap::from([("en".to_owned(), 50), ("fr".to_owned(), 50)]);
        let recent = BTreeMap::from([("en".to_owned(), 50), ("de".to_owned(), 50)]);
        let got = psi_categorical(&baseline, &recent, 1e-4).unwrap();

        // en is unchanged, fr drops from 0.5 to epsilon and de rises from epsilon to 0.5.
        let want = 2.0 * (0.5 - 1e-4) * (0.5_f64 / 1e-4).ln();
        assert!((got - want).abs() < 1e-12, "{got}");
    }
}
